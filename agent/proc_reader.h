#pragma once

// Reads a process's state from /proc/<pid>/ (stat, status, cmdline, exe, cwd, loginuid, environ),
// for the process table's start-up seeding and for processes first seen without a fork record.
// Only used off the per-event path, or once per unknown process.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::agent {

// One process as /proc shows it. Ids are -1 when unknown.
struct ProcSnapshot {
  int64_t pid = -1;
  int64_t ppid = -1;
  int64_t vpid = -1;   // NStgid, innermost namespace
  int64_t sid = -1;    // NSsid, innermost namespace (stat's field is the reader's namespace)
  int64_t vpgid = -1;  // NSpgid, innermost namespace
  uint64_t start_boot_ns = 0;  // stat starttime: clock ticks since boot, as ns (tick precision)
  std::string comm;
  std::string exe;      // argv[0]; comm for kernel threads (empty cmdline)
  std::string args;     // argv[1..], NUL-separated, no trailing NUL
  std::string exepath;  // readlink exe
  std::string cwd;      // readlink cwd
  std::string env;      // environ, NUL-separated, no trailing NUL (only when asked for)
  uint32_t tty = 0;     // stat tty_nr (the userspace dev_t encoding, as Falco reports it)
  uint32_t uid = 0;     // effective
  uint32_t gid = 0;     // effective
  int64_t loginuid = -1;
  uint64_t cap_effective = 0;
  uint64_t cap_permitted = 0;
  uint64_t cap_inheritable = 0;
};

class ProcReader {
 public:
  explicit ProcReader(std::string proc_root = "/proc");

  // Everything above; false when the process is gone (or its stat is unreadable).
  bool read(int64_t pid, ProcSnapshot& out, bool with_env = false);
  // Just the start time and parent (one read of stat); false when the process is gone.
  bool read_start(int64_t pid, uint64_t& start_boot_ns, int64_t* ppid = nullptr);
  // Thread-group ids in /proc, ascending.
  std::vector<int64_t> list_pids() const;

  const std::string& root() const { return root_; }
  uint64_t ns_per_tick() const { return ns_per_tick_; }

  // Parsers, exposed for tests. parse_stat fills ppid, sid (reader's namespace), vpgid (ditto),
  // tty, start_boot_ns and comm.
  static bool parse_stat(std::string_view text, uint64_t ns_per_tick, ProcSnapshot& out);
  static void parse_status(std::string_view text, ProcSnapshot& out);
  // "a\0b\0c\0" -> exe "a", args "b\0c".
  static void split_cmdline(std::string_view cmdline, std::string& exe, std::string& args);

 private:
  bool read_file(const std::string& path, std::string& out, size_t max_bytes);
  bool read_link(const std::string& path, std::string& out);
  std::string path(int64_t pid, std::string_view file) const;

  std::string root_;
  uint64_t ns_per_tick_ = 10'000'000;
  std::string buf_;  // reused read buffer
};

}  // namespace vigil::agent
