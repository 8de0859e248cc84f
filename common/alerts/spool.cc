#include "common/alerts/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/base/bounded_json.h"
#include "common/base/write_all.h"

namespace vigil::alerts {
namespace {

constexpr size_t kHeaderBytes = 8;
constexpr uint32_t kMaxRecordBytes = 1u << 20;  // an alert is a few KiB; larger is corruption
constexpr size_t kMaxOutputFields = 1024;
constexpr size_t kMaxTags = 1024;

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string segment_name(uint64_t id) { return fmt::format("seg-{:016d}.log", id); }

bool read_file(const std::string& path, std::string& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out.clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

// Creates `path` and any missing parents (0700).
Result<bool> make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return true;
  if (errno == ENOENT) {
    const size_t slash = path.find_last_of('/', path.size() > 1 ? path.size() - 2 : 0);
    if (slash != std::string::npos && slash > 0) {
      if (auto parent = make_dir(path.substr(0, slash)); !parent) return parent;
      if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return true;
    }
  }
  return make_error(
      fmt::format("Creating spool directory {} failed: {}", path, std::strerror(errno)));
}

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    if (auto registered = spdlog::get("alerts")) return registered;
    return spdlog::default_logger()->clone("alerts");
  }();
  return *instance;
}

}  // namespace

uint32_t crc32(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = kCrcTable[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string spool_dir_name(std::string_view ns, std::string_view name) {
  std::string out;
  auto append = [&out](std::string_view s) {
    for (unsigned char c : s) {
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.') {
        out.push_back(static_cast<char>(c));
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
  };
  append(ns);
  out.push_back('_');
  append(name);
  return out;
}

std::string encode_alert_json(const Alert& a) {
  nlohmann::json j = nlohmann::json::object();
  j["t"] = a.time_ns;
  j["r"] = a.rule;
  j["p"] = static_cast<int>(a.priority);
  j["s"] = a.source;
  j["h"] = a.hostname;
  j["m"] = a.message;
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : a.output_fields) {
    nlohmann::json value;
    switch (f.value.index()) {
      case 1:
        value = std::get<std::string>(f.value);
        break;
      case 2:
        value = std::get<int64_t>(f.value);
        break;
      case 3:
        value = std::get<bool>(f.value);
        break;
      case 4:
        value = std::get<std::vector<std::string>>(f.value);
        break;
      default:
        break;  // null: absent
    }
    fields.push_back(nlohmann::json::array({f.name, std::move(value)}));
  }
  j["f"] = std::move(fields);
  j["g"] = a.tags;
  j["n"] = a.rule_namespace;
  j["e"] = a.event_namespace;
  j["o"] = a.event_pod;
  j["d"] = static_cast<int>(a.mode);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Alert> decode_alert_json(std::string_view text) {
  if (text.size() > kMaxRecordBytes) return make_error("alert record too large");
  const auto j = parse_bounded_json(text);
  if (!j.is_object()) return make_error("alert record is not a JSON object");
  Alert a;
  auto str = [&j](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto t = j.find("t");
  auto p = j.find("p");
  auto d = j.find("d");
  if (t == j.end() || !t->is_number_integer() || p == j.end() || !p->is_number_integer() ||
      d == j.end() || !d->is_number_integer()) {
    return make_error("alert record lacks t, p or d");
  }
  a.time_ns = t->get<int64_t>();
  const int prio = p->get<int>();
  const int mode = d->get<int>();
  if (prio < 0 || prio > static_cast<int>(rules::Priority::kDebug) || mode < 0 || mode > 1) {
    return make_error("alert record has an invalid priority or mode");
  }
  a.priority = static_cast<rules::Priority>(prio);
  a.mode = static_cast<rules::RuleMode>(mode);
  if (!str("r", a.rule) || !str("s", a.source) || !str("h", a.hostname) || !str("m", a.message) ||
      !str("n", a.rule_namespace)) {
    return make_error("alert record lacks a string field");
  }
  // Added after the first spool format: optional.
  auto optional_str = [&j](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  if (!optional_str("e", a.event_namespace) || !optional_str("o", a.event_pod)) {
    return make_error("alert record has a bad event namespace or pod");
  }
  auto g = j.find("g");
  if (g == j.end() || !g->is_array() || g->size() > kMaxTags) return make_error("bad tags");
  for (const auto& tag : *g) {
    if (!tag.is_string()) return make_error("bad tag");
    a.tags.push_back(tag.get<std::string>());
  }
  auto f = j.find("f");
  if (f == j.end() || !f->is_array() || f->size() > kMaxOutputFields) {
    return make_error("bad output fields");
  }
  for (const auto& pair : *f) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string()) {
      return make_error("bad output field");
    }
    rules::OutputField field;
    field.name = pair[0].get<std::string>();
    const auto& v = pair[1];
    if (v.is_null()) {
      field.value = std::monostate{};
    } else if (v.is_string()) {
      field.value = v.get<std::string>();
    } else if (v.is_boolean()) {
      field.value = v.get<bool>();
    } else if (v.is_number_integer()) {
      field.value = v.get<int64_t>();
    } else if (v.is_array()) {
      std::vector<std::string> items;
      for (const auto& item : v) {
        if (!item.is_string()) return make_error("bad output field list");
        items.push_back(item.get<std::string>());
      }
      field.value = std::move(items);
    } else {
      return make_error("bad output field value");
    }
    a.output_fields.push_back(std::move(field));
  }
  return a;
}

struct Spool::Impl {
  struct Entry {
    uint64_t seq;
    uint64_t segment;
    uint64_t end;  // offset just past the record
  };

  std::string dir;
  SpoolOptions options;
  SpoolStats stats;
  std::map<uint64_t, uint64_t> segments;  // id -> size
  uint64_t current = 0;                   // the segment appended to
  int fd = -1;
  int committed_fd = -1;
  std::deque<Entry> entries;  // unacknowledged records, oldest first
  uint64_t next_seq = 1;
  uint64_t committed_segment = 0;
  uint64_t committed_offset = 0;
  std::vector<SpooledAlert> recovered;

  ~Impl() {
    if (fd >= 0) ::close(fd);
    if (committed_fd >= 0) ::close(committed_fd);
  }

  std::string path(uint64_t id) const { return dir + "/" + segment_name(id); }

  void read_committed() {
    std::string text;
    if (!read_file(dir + "/committed", text)) return;
    unsigned long long seg = 0, off = 0;
    if (std::sscanf(text.c_str(), "%llu %llu", &seg, &off) == 2) {
      committed_segment = seg;
      committed_offset = off;
    } else {
      logger().warn(
          "Ignored unreadable committed offset in spool {}: unacknowledged alerts "
          "may be delivered again",
          dir);
    }
  }

  // Overwritten in place (fixed width, no fsync, no rename): acknowledging is on the delivery
  // path of every batch. A torn or lost write only means alerts delivered again after a crash.
  void write_committed() {
    if (committed_fd < 0) {
      committed_fd = ::open((dir + "/committed").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      if (committed_fd < 0) return;
    }
    const std::string line = fmt::format("{:020d} {:020d}\n", committed_segment, committed_offset);
    if (::pwrite(committed_fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
      logger().warn("Writing the committed offset of spool {} failed: {}", dir,
                    std::strerror(errno));
    }
  }

  void list_segments() {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    while (dirent* e = ::readdir(d)) {
      unsigned long long id = 0;
      char tail[8] = {0};
      if (std::sscanf(e->d_name, "seg-%16llu.%3s", &id, tail) == 2 &&
          std::strcmp(tail, "log") == 0) {
        struct stat st {};
        if (::stat(path(id).c_str(), &st) == 0) segments[id] = static_cast<uint64_t>(st.st_size);
      }
    }
    ::closedir(d);
  }

  // Reads one segment from `start`, keeping good records and cutting a corrupt tail.
  void scan(uint64_t id, uint64_t start) {
    std::string data;
    if (!read_file(path(id), data)) return;
    size_t off = std::min<size_t>(start, data.size());
    while (off < data.size()) {
      const size_t left = data.size() - off;
      const uint32_t len = left >= kHeaderBytes ? get_u32(data.data() + off) : 0;
      if (left < kHeaderBytes || len > kMaxRecordBytes || left - kHeaderBytes < len ||
          crc32(std::string_view(data).substr(off + kHeaderBytes, len)) !=
              get_u32(data.data() + off + 4)) {
        ++stats.corrupt_records;
        stats.corrupt_bytes += left;
        logger().warn("Truncated corrupt spool tail of {} bytes at offset {} of {}", left, off,
                      path(id));
        if (::truncate(path(id).c_str(), static_cast<off_t>(off)) != 0) {
          logger().warn("Truncating {} failed: {}", path(id), std::strerror(errno));
        }
        segments[id] = off;
        return;
      }
      const size_t end = off + kHeaderBytes + len;
      auto alert = decode_alert_json(std::string_view(data).substr(off + kHeaderBytes, len));
      if (alert) {
        const uint64_t seq = next_seq++;
        entries.push_back({seq, id, end});
        recovered.push_back({seq, std::move(*alert)});
      } else {
        ++stats.corrupt_records;  // framing is intact: skip just this record
        logger().warn("Skipped unreadable spool record at offset {} of {}: {}", off, path(id),
                      alert.error());
      }
      off = end;
    }
  }

  bool open_segment(uint64_t id) {
    if (fd >= 0) ::close(fd);
    fd = ::open(path(id).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    current = id;
    segments.emplace(id, 0);
    return true;
  }

  void delete_segment(uint64_t id) {
    ::unlink(path(id).c_str());
    segments.erase(id);
  }

  uint64_t total_bytes() const {
    uint64_t n = 0;
    for (const auto& [id, size] : segments) n += size;
    return n;
  }

  void enforce_cap() {
    while (total_bytes() > options.max_bytes && segments.size() > 1) {
      const uint64_t oldest = segments.begin()->first;
      if (oldest == current) break;
      uint64_t lost = 0;
      while (!entries.empty() && entries.front().segment == oldest) {
        entries.pop_front();
        ++lost;
      }
      stats.dropped_oldest += lost;
      logger().warn("Deleted spool segment {} past the {} byte cap ({} unacknowledged alerts)",
                    path(oldest), options.max_bytes, lost);
      delete_segment(oldest);
      committed_segment = segments.begin()->first;
      committed_offset = 0;
      write_committed();
    }
  }
};

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Spool::~Spool() = default;

const std::string& Spool::dir() const { return impl_->dir; }
const SpoolStats& Spool::stats() const {
  impl_->stats.bytes = impl_->total_bytes();
  return impl_->stats;
}

Result<std::unique_ptr<Spool>> Spool::open(const std::string& root, std::string_view ns,
                                           std::string_view name, const SpoolOptions& options) {
  if (auto r = make_dir(root); !r) return make_error(r.error());
  auto impl = std::make_unique<Impl>();
  impl->dir = root + "/" + spool_dir_name(ns, name);
  impl->options = options;
  impl->options.segment_bytes = std::max<size_t>(impl->options.segment_bytes, 4096);
  impl->options.max_bytes = std::max(impl->options.max_bytes, impl->options.segment_bytes);
  if (auto r = make_dir(impl->dir); !r) return make_error(r.error());
  impl->read_committed();
  impl->list_segments();
  for (auto it = impl->segments.begin(); it != impl->segments.end();) {
    const uint64_t id = it->first;
    ++it;
    if (id < impl->committed_segment) {
      impl->delete_segment(id);
    } else {
      impl->scan(id, id == impl->committed_segment ? impl->committed_offset : 0);
    }
  }
  impl->stats.recovered = impl->recovered.size();
  const uint64_t next = impl->segments.empty() ? 1 : impl->segments.rbegin()->first + 1;
  if (!impl->open_segment(next)) {
    return make_error(
        fmt::format("Opening spool segment {} failed: {}", impl->path(next), std::strerror(errno)));
  }
  if (!impl->recovered.empty() || impl->stats.corrupt_records > 0) {
    logger().info("Recovered {} queued alerts from spool {} ({} corrupt records cut)",
                  impl->recovered.size(), impl->dir, impl->stats.corrupt_records);
  }
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

std::vector<SpooledAlert> Spool::take_recovered() { return std::move(impl_->recovered); }

Result<uint64_t> Spool::append(std::span<const Alert> alerts) {
  Impl& s = *impl_;
  if (s.fd < 0) return make_error("spool is closed");
  if (s.segments[s.current] >= s.options.segment_bytes && !s.open_segment(s.current + 1)) {
    ++s.stats.write_errors;
    return make_error(fmt::format("Opening spool segment failed: {}", std::strerror(errno)));
  }
  std::string buf;
  std::vector<uint64_t> ends;
  ends.reserve(alerts.size());
  const uint64_t base = s.segments[s.current];
  for (const Alert& a : alerts) {
    const std::string payload = encode_alert_json(a);
    put_u32(buf, static_cast<uint32_t>(payload.size()));
    put_u32(buf, crc32(payload));
    buf += payload;
    ends.push_back(base + buf.size());
  }
  if (!write_all(s.fd, buf) || ::fdatasync(s.fd) != 0) {
    const std::string err = std::strerror(errno);
    if (::ftruncate(s.fd, static_cast<off_t>(base)) != 0) {
      // The next open cuts the torn record by its CRC.
    }
    ++s.stats.write_errors;
    return make_error(fmt::format("Writing spool {} failed: {}", s.dir, err));
  }
  s.segments[s.current] = base + buf.size();
  const uint64_t first = s.next_seq;
  for (uint64_t end : ends) s.entries.push_back({s.next_seq++, s.current, end});
  s.stats.appended += alerts.size();
  s.enforce_cap();
  return first;
}

void Spool::acknowledge(uint64_t seq) {
  Impl& s = *impl_;
  bool moved = false;
  while (!s.entries.empty() && s.entries.front().seq <= seq) {
    s.committed_segment = s.entries.front().segment;
    s.committed_offset = s.entries.front().end;
    s.entries.pop_front();
    ++s.stats.acknowledged;
    moved = true;
  }
  if (!moved) return;
  if (s.entries.empty()) {
    // Everything is settled: start over in the current segment's end.
    s.committed_segment = s.current;
    s.committed_offset = s.segments[s.current];
  }
  s.write_committed();
  while (!s.segments.empty() && s.segments.begin()->first < s.committed_segment) {
    s.delete_segment(s.segments.begin()->first);
  }
}

void Spool::remove() {
  Impl& s = *impl_;
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  while (!s.segments.empty()) s.delete_segment(s.segments.begin()->first);
  if (s.committed_fd >= 0) ::close(s.committed_fd);
  s.committed_fd = -1;
  ::unlink((s.dir + "/committed").c_str());
  ::rmdir(s.dir.c_str());
  s.entries.clear();
}

}  // namespace vigil::alerts
