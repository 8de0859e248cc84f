#include "agent/user_names.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace vigil::agent {
namespace {

constexpr size_t kMaxFileBytes = 8u << 20;
// A root whose files could not be read (the process was gone) is retried this soon.
constexpr std::chrono::seconds kRetryFailed{5};

bool read_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  out.clear();
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0 || out.size() + static_cast<size_t>(n) > kMaxFileBytes) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

// Splits "a:b:c" into at most N fields; returns how many were found.
template <size_t N>
size_t split_colon(std::string_view line, std::string_view (&fields)[N]) {
  size_t n = 0;
  while (n < N) {
    const size_t colon = line.find(':');
    fields[n++] = line.substr(0, colon);
    if (colon == std::string_view::npos) {
      break;
    }
    line.remove_prefix(colon + 1);
  }
  return n;
}

bool parse_id(std::string_view s, uint32_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }
    fn(line);
  }
}

}  // namespace

void UserNames::parse_passwd(std::string_view text, Table& out) {
  for_each_line(text, [&out](std::string_view line) {
    std::string_view f[7];
    uint32_t uid = 0;
    if (split_colon(line, f) < 7 || f[0].empty() || !parse_id(f[2], uid)) {
      return;
    }
    // The first entry for an id wins, as getpwuid() does.
    if (out.count(uid) == 0) {
      auto e = std::make_shared<NameEntry>();
      e->name = f[0];
      e->homedir = f[5];
      e->shell = f[6];
      out.emplace(uid, std::move(e));
    }
  });
}

void UserNames::parse_group(std::string_view text, Table& out) {
  for_each_line(text, [&out](std::string_view line) {
    std::string_view f[4];
    uint32_t gid = 0;
    if (split_colon(line, f) < 3 || f[0].empty() || !parse_id(f[2], gid)) {
      return;
    }
    if (out.count(gid) == 0) {
      auto e = std::make_shared<NameEntry>();
      e->name = f[0];
      out.emplace(gid, std::move(e));
    }
  });
}

UserNames::UserNames(UserNamesOptions options) : options_(std::move(options)) {
  if (options_.host_root.empty() || options_.host_root.back() != '/') {
    options_.host_root += '/';
  }
}

UserNames::Root& UserNames::root_for(std::string_view root) {
  auto it = roots_.find(root);
  if (it != roots_.end()) {
    return it->second;
  }
  if (roots_.size() >= options_.max_roots) {
    // Drop the root loaded longest ago (processes keep the entries they hold).
    auto oldest = roots_.begin();
    for (auto r = roots_.begin(); r != roots_.end(); ++r) {
      if (r->second.users_loaded < oldest->second.users_loaded) {
        oldest = r;
      }
    }
    roots_.erase(oldest);
  }
  return roots_[std::string(root)];
}

std::string UserNames::file_path(std::string_view root, int64_t pid, std::string_view file) const {
  if (root.empty()) {
    return options_.host_root + std::string(file);
  }
  return options_.proc_root + "/" + std::to_string(pid) + "/root/" + std::string(file);
}

std::shared_ptr<const NameEntry> UserNames::user(std::string_view root, int64_t pid, uint32_t uid) {
  ++stats_.lookups;
  Root& r = root_for(root);
  const auto now = std::chrono::steady_clock::now();
  const auto max_age = r.users_ok ? std::chrono::steady_clock::duration(options_.ttl)
                                  : std::chrono::steady_clock::duration(kRetryFailed);
  if (r.users_loaded == std::chrono::steady_clock::time_point{} ||
      now - r.users_loaded >= max_age) {
    std::string text;
    ++stats_.file_reads;
    r.users_loaded = now;
    if ((!root.empty() && pid <= 0) || !read_file(file_path(root, pid, "etc/passwd"), text)) {
      r.users_ok = false;
    } else {
      r.users.clear();
      parse_passwd(text, r.users);
      r.users_ok = true;
    }
  }
  auto it = r.users.find(uid);
  return it != r.users.end() ? it->second : nullptr;
}

std::shared_ptr<const NameEntry> UserNames::group(std::string_view root, int64_t pid,
                                                  uint32_t gid) {
  ++stats_.lookups;
  Root& r = root_for(root);
  const auto now = std::chrono::steady_clock::now();
  const auto max_age = r.groups_ok ? std::chrono::steady_clock::duration(options_.ttl)
                                   : std::chrono::steady_clock::duration(kRetryFailed);
  if (r.groups_loaded == std::chrono::steady_clock::time_point{} ||
      now - r.groups_loaded >= max_age) {
    std::string text;
    ++stats_.file_reads;
    r.groups_loaded = now;
    if ((!root.empty() && pid <= 0) || !read_file(file_path(root, pid, "etc/group"), text)) {
      r.groups_ok = false;
    } else {
      r.groups.clear();
      parse_group(text, r.groups);
      r.groups_ok = true;
    }
  }
  auto it = r.groups.find(gid);
  return it != r.groups.end() ? it->second : nullptr;
}

}  // namespace vigil::agent
