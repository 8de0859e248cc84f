#include "agent/container_id.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace vigil::agent {

std::string_view container_runtime_name(ContainerRuntime r) {
  switch (r) {
    case ContainerRuntime::kDocker:
      return "docker";
    case ContainerRuntime::kContainerd:
      return "containerd";
    case ContainerRuntime::kCrio:
      return "cri-o";
    case ContainerRuntime::kPodman:
      return "podman";
    case ContainerRuntime::kNone:
      break;
  }
  return {};
}

// =============================================================================================
// Path parsing
// =============================================================================================

namespace {

constexpr size_t kIdLen = 64;
constexpr size_t kShortIdLen = 12;

bool is_full_id(std::string_view s) {
  if (s.size() != kIdLen) {
    return false;
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

// "<prefix><id>[.scope]" with one of the runtimes' prefixes.
ContainerRuntime match_prefixed(std::string_view c, std::string_view& id) {
  if (c.ends_with(".scope")) {
    c.remove_suffix(6);
  }
  struct Prefix {
    std::string_view prefix;
    ContainerRuntime runtime;
  };
  static constexpr Prefix kPrefixes[] = {
      {"docker-", ContainerRuntime::kDocker},
      {"cri-containerd-", ContainerRuntime::kContainerd},
      {"nerdctl-", ContainerRuntime::kContainerd},
      {"crio-", ContainerRuntime::kCrio},
      {"libpod-", ContainerRuntime::kPodman},
  };
  for (const Prefix& p : kPrefixes) {
    // crio-conmon-<id> and libpod-conmon-<id> hold the runtime monitor: not a container.
    if (c.starts_with(p.prefix) && is_full_id(c.substr(p.prefix.size()))) {
      id = c.substr(p.prefix.size());
      return p.runtime;
    }
  }
  // containerd's systemd cgroup naming under a cgroupfs parent: "<slice>:cri-containerd:<id>".
  static constexpr Prefix kInfixes[] = {
      {":cri-containerd:", ContainerRuntime::kContainerd},
      {":crio:", ContainerRuntime::kCrio},
      {":docker:", ContainerRuntime::kDocker},
  };
  for (const Prefix& p : kInfixes) {
    const size_t at = c.find(p.prefix);
    if (at != std::string_view::npos && is_full_id(c.substr(at + p.prefix.size()))) {
      id = c.substr(at + p.prefix.size());
      return p.runtime;
    }
  }
  return ContainerRuntime::kNone;
}

// The pod uid in a kubepods path: "pod<uid>" (cgroupfs) or "kubepods-<qos>-pod<uid>.slice".
std::string_view find_pod_uid(std::string_view path) {
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) {
      end = path.size();
    }
    std::string_view c = path.substr(pos, end - pos);
    pos = end + 1;
    if (c.ends_with(".slice")) {
      c.remove_suffix(6);
      const size_t at = c.rfind("-pod");
      if (at != std::string_view::npos && c.size() > at + 4) {
        return c.substr(at + 4);
      }
    } else if (c.starts_with("pod") && c.size() > 3) {
      return c.substr(3);
    }
  }
  return {};
}

}  // namespace

ContainerIdentity parse_container_id(std::string_view path) {
  ContainerIdentity out;
  // Components from the deepest up.
  size_t end = path.size();
  while (end > 0) {
    while (end > 0 && path[end - 1] == '/') {
      --end;
    }
    if (end == 0) {
      break;
    }
    const size_t slash = path.rfind('/', end - 1);
    const size_t begin = slash == std::string_view::npos ? 0 : slash + 1;
    const std::string_view c = path.substr(begin, end - begin);
    const std::string_view parents = path.substr(0, begin);
    std::string_view id;
    ContainerRuntime runtime = match_prefixed(c, id);
    if (runtime == ContainerRuntime::kNone && is_full_id(c)) {
      // A bare id: docker's cgroupfs driver (/docker/<id>) or the kubelet's (/kubepods/.../<id>).
      std::string_view parent = parents;
      while (!parent.empty() && parent.back() == '/') {
        parent.remove_suffix(1);
      }
      parent =
          parent.substr(parent.rfind('/') == std::string_view::npos ? 0 : parent.rfind('/') + 1);
      if (parent == "docker") {
        runtime = ContainerRuntime::kDocker;
        id = c;
      } else if (parents.find("kubepods") != std::string_view::npos) {
        runtime = ContainerRuntime::kContainerd;
        id = c;
      }
    }
    if (runtime != ContainerRuntime::kNone) {
      out.runtime = runtime;
      out.full_id = id;
      out.short_id = id.substr(0, kShortIdLen);
      if (parents.find("kubepods") != std::string_view::npos) {
        out.pod_uid = find_pod_uid(parents);
      }
      return out;
    }
    end = begin;
  }
  return out;
}

// =============================================================================================
// ContainerRecord
// =============================================================================================

ContainerRecord::ContainerRecord(const ContainerIdentity& id)
    : full_id_(id.full_id), short_id_(id.short_id), pod_uid_(id.pod_uid), runtime_(id.runtime) {
  // The systemd driver writes the pod uid with '_' for '-'.
  for (char& c : pod_uid_) {
    if (c == '_') {
      c = '-';
    }
  }
  info_.id = short_id_;
  info_.full_id = full_id_;
  info_.type = container_runtime_name(runtime_);
  if (!pod_uid_.empty()) {
    k8s_.pod_uid = pod_uid_;
    in_pod_ = true;
  }
}

std::string_view ContainerRecord::keep(std::string_view s) {
  if (s.empty()) {
    return {};
  }
  return strings_.emplace_back(s);
}

void ContainerRecord::apply_metadata(const fields::ContainerInfo& c, const fields::K8sInfo& k) {
  strings_.clear();
  labels_.clear();
  fields::ContainerInfo info = c;
  info.id = short_id_;
  info.full_id = full_id_;
  info.type = c.type.empty() ? container_runtime_name(runtime_) : keep(c.type);
  info.name = keep(c.name);
  info.image = keep(c.image);
  info.image_id = keep(c.image_id);
  info.image_repository = keep(c.image_repository);
  info.image_tag = keep(c.image_tag);
  info.image_digest = keep(c.image_digest);
  info_ = info;

  fields::K8sInfo pod;
  pod.pod_name = keep(k.pod_name);
  pod.pod_uid = k.pod_uid.empty() ? std::string_view(pod_uid_) : keep(k.pod_uid);
  pod.sandbox_id = keep(k.sandbox_id);
  pod.ns_name = keep(k.ns_name);
  pod.pod_ip = k.pod_ip;
  labels_.reserve(k.labels.size());
  for (const fields::K8sLabel& l : k.labels) {
    labels_.push_back({keep(l.key), keep(l.value)});
  }
  pod.labels = labels_;
  k8s_ = pod;
  in_pod_ = !k8s_.pod_uid.empty() || !k8s_.pod_name.empty();
  has_metadata_ = true;
}

// =============================================================================================
// CgroupResolver
// =============================================================================================

namespace {

// Reads a small file whole; false when it cannot be opened.
bool read_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  out.clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) {
      break;
    }
  }
  ::close(fd);
  return true;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string CgroupResolver::find_cgroup2_mount(std::string_view mountinfo) {
  // "36 25 0:31 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw,nsdelegate"
  while (!mountinfo.empty()) {
    const size_t nl = mountinfo.find('\n');
    std::string_view line = mountinfo.substr(0, nl);
    mountinfo = nl == std::string_view::npos ? std::string_view() : mountinfo.substr(nl + 1);
    const size_t sep = line.find(" - ");
    if (sep == std::string_view::npos || !line.substr(sep + 3).starts_with("cgroup2 ")) {
      continue;
    }
    // Field 5 (1-based) is the mount point.
    std::string_view rest = line;
    for (int field = 0; field < 4; ++field) {
      const size_t sp = rest.find(' ');
      if (sp == std::string_view::npos) {
        rest = {};
        break;
      }
      rest.remove_prefix(sp + 1);
    }
    const std::string_view mount = rest.substr(0, rest.find(' '));
    if (!mount.empty()) {
      return unescape_mount(mount);
    }
  }
  return {};
}

bool CgroupResolver::has_cgroup1_mounts(std::string_view mountinfo) {
  // "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu"
  return mountinfo.find(" - cgroup ") != std::string_view::npos;
}

CgroupResolver::CgroupResolver(CgroupResolverOptions options) : options_(std::move(options)) {
  mount_ = options_.mount_point;
  if (mount_.empty() || !options_.v1_fallback.has_value()) {
    std::string mountinfo;
    if (read_file("/proc/self/mountinfo", mountinfo)) {
      if (mount_.empty()) {
        mount_ = find_cgroup2_mount(mountinfo);
      }
      v1_fallback_ = has_cgroup1_mounts(mountinfo);
    }
  }
  if (options_.v1_fallback.has_value()) {
    v1_fallback_ = *options_.v1_fallback;
  }
  while (mount_.size() > 1 && mount_.back() == '/') {
    mount_.pop_back();
  }
}

size_t CgroupResolver::rescan() {
  paths_.clear();
  scanned_ = true;
  last_scan_ = std::chrono::steady_clock::now();
  ++stats_.scans;
  if (mount_.empty()) {
    return 0;
  }
  // Iterative walk; each directory's inode number is its cgroup id.
  struct Pending {
    std::string rel;  // "" for the root, else "/a/b"
    int depth;
  };
  std::vector<Pending> stack;
  stack.push_back({"", 0});
  constexpr int kMaxDepth = 64;
  while (!stack.empty() && paths_.size() < options_.max_cgroups) {
    Pending cur = std::move(stack.back());
    stack.pop_back();
    const std::string abs = mount_ + cur.rel;
    const int dfd = ::open(abs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
      continue;  // removed meanwhile
    }
    struct stat st {};
    if (::fstat(dfd, &st) == 0) {
      paths_[st.st_ino] = cur.rel.empty() ? "/" : cur.rel;
    }
    DIR* dir = ::fdopendir(dfd);
    if (dir == nullptr) {
      ::close(dfd);
      continue;
    }
    while (const dirent* de = ::readdir(dir)) {
      if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) {
        continue;
      }
      const std::string_view name = de->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      if (de->d_type == DT_UNKNOWN) {
        struct stat cst {};
        if (::fstatat(::dirfd(dir), de->d_name, &cst, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(cst.st_mode)) {
          continue;
        }
      }
      if (cur.depth + 1 <= kMaxDepth) {
        stack.push_back({cur.rel + "/" + std::string(name), cur.depth + 1});
      }
    }
    ::closedir(dir);
  }
  return paths_.size();
}

bool CgroupResolver::scan_lookup(uint64_t cgroup_id, std::string& out) {
  auto it = paths_.find(cgroup_id);
  if (it != paths_.end()) {
    out = it->second;
    return true;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!scanned_ || now - last_scan_ >= options_.rescan_interval) {
    rescan();
    it = paths_.find(cgroup_id);
    if (it != paths_.end()) {
      out = it->second;
      return true;
    }
  }
  return false;
}

bool CgroupResolver::proc_lookup(int64_t pid, std::string& out) {
  if (pid <= 0) {
    return false;
  }
  std::string text;
  if (!read_file(options_.proc_root + "/" + std::to_string(pid) + "/cgroup", text)) {
    return false;
  }
  // "0::/system.slice/docker-<id>.scope"
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.starts_with("0::")) {
      out = line.substr(3);
      return !out.empty();
    }
  }
  return false;
}

bool CgroupResolver::path_of(uint64_t cgroup_id, int64_t pid, std::string& out) {
  if (scan_lookup(cgroup_id, out)) {
    return true;
  }
  if (proc_lookup(pid, out)) {
    ++stats_.proc_fallbacks;
    return true;
  }
  return false;
}

std::shared_ptr<ContainerRecord> CgroupResolver::container_for(uint64_t cgroup_id, int64_t pid) {
  if (auto it = by_id_.find(cgroup_id); it != by_id_.end()) {
    return it->second;
  }
  ++stats_.lookups;
  std::string path;
  if (!path_of(cgroup_id, pid, path)) {
    // Not cached: a process in a cgroup created after the last scan is looked up again.
    ++stats_.unresolved;
    return nullptr;
  }
  std::shared_ptr<ContainerRecord> record = record_for(parse_container_id(path));
  if (by_id_.size() >= options_.max_cgroups) {
    by_id_.clear();  // processes keep their records; ids are looked up again
  }
  by_id_.emplace(cgroup_id, record);
  return record;
}

std::shared_ptr<ContainerRecord> CgroupResolver::record_for(const ContainerIdentity& id) {
  if (!id.found()) {
    return nullptr;
  }
  auto& slot = by_container_[std::string(id.full_id)];
  if (slot == nullptr) {
    slot = std::make_shared<ContainerRecord>(id);
  }
  return slot;
}

std::shared_ptr<ContainerRecord> CgroupResolver::container_from_proc(int64_t pid) {
  if (pid <= 0) {
    return nullptr;
  }
  std::string text;
  if (!read_file(options_.proc_root + "/" + std::to_string(pid) + "/cgroup", text)) {
    return nullptr;
  }
  ++stats_.v1_lookups;
  // "12:pids:/docker/<id>": the path is after the second colon.
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const size_t c1 = line.find(':');
    const size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      continue;
    }
    if (auto record = record_for(parse_container_id(line.substr(c2 + 1)))) {
      return record;
    }
  }
  return nullptr;
}

void CgroupResolver::gc() {
  rescan();
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    it = paths_.count(it->first) == 0 ? by_id_.erase(it) : std::next(it);
  }
  for (auto it = by_container_.begin(); it != by_container_.end();) {
    // Only this map and by_id_ entries for live cgroups hold it: no process refers to it.
    bool referenced = it->second.use_count() > 1;
    it = referenced ? std::next(it) : by_container_.erase(it);
  }
}

}  // namespace vigil::agent
