#pragma once

// user.name / user.homedir / user.shell / user.loginname / group.name: uids and gids resolved
// against the passwd and group files the process sees. A container has its own /etc/passwd, so
// names are looked up under the container's root (/proc/<pid>/root/etc/passwd) and cached per
// (root, id); the host's come from <host_root>/etc/passwd. A root's files are read once, whole,
// on its first miss and again after `ttl`, so in steady state every lookup is a cache hit.
//
// Lookups return shared, immutable entries: a process keeps the one it resolved (its
// ProcessInfo's string views point into it) even after the cache reloads or drops that root.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vigil::agent {

struct NameEntry {
  std::string name;
  std::string homedir;  // users only
  std::string shell;    // users only
};

struct UserNamesOptions {
  std::string host_root = "/";  // the node's filesystem (a host mount inside a DaemonSet pod)
  std::string proc_root = "/proc";
  std::chrono::seconds ttl{60};  // files are re-read after this long
  size_t max_roots = 1024;       // cached roots (host + containers); the oldest is dropped
};

struct UserNamesStats {
  uint64_t lookups = 0;
  uint64_t file_reads = 0;  // passwd/group files read (misses that went to the filesystem)
};

class UserNames {
 public:
  explicit UserNames(UserNamesOptions options = {});

  // `root` is "" for the host, otherwise the container's id; `pid` is a process living under that
  // root (its /proc/<pid>/root is read on a miss). Null when the id has no entry.
  std::shared_ptr<const NameEntry> user(std::string_view root, int64_t pid, uint32_t uid);
  std::shared_ptr<const NameEntry> group(std::string_view root, int64_t pid, uint32_t gid);

  const UserNamesStats& stats() const { return stats_; }

  // "name:x:uid:gid:gecos:home:shell" lines (passwd) and "name:x:gid:members" (group) into
  // id -> entry. Malformed lines are skipped.
  using Table = std::unordered_map<uint32_t, std::shared_ptr<const NameEntry>>;
  static void parse_passwd(std::string_view text, Table& out);
  static void parse_group(std::string_view text, Table& out);

 private:
  struct Root {
    std::chrono::steady_clock::time_point users_loaded{};
    std::chrono::steady_clock::time_point groups_loaded{};
    bool users_ok = false;
    bool groups_ok = false;
    Table users;
    Table groups;
  };
  Root& root_for(std::string_view root);
  std::string file_path(std::string_view root, int64_t pid, std::string_view file) const;

  // Looked up by string_view without building a std::string (a container id is 64 bytes).
  struct RootHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  UserNamesOptions options_;
  std::unordered_map<std::string, Root, RootHash, std::equal_to<>> roots_;
  UserNamesStats stats_;
};

}  // namespace vigil::agent
