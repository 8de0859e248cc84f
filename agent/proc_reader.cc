#include "agent/proc_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace vigil::agent {
namespace {

constexpr size_t kMaxSmallFile = 64u << 10;
constexpr size_t kMaxCmdline = 64u << 10;

template <typename T>
bool parse_num(std::string_view s, T& out, int base = 10) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end != s.data();
}

// The last whitespace-separated number of "NSpid:\t4242\t7".
bool last_number(std::string_view s, int64_t& out) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  const size_t sp = s.find_last_of(" \t");
  return parse_num(sp == std::string_view::npos ? s : s.substr(sp + 1), out);
}

// The nth (0-based) whitespace-separated field.
std::string_view nth_field(std::string_view s, int n) {
  size_t pos = 0;
  for (int i = 0;; ++i) {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) {
      ++pos;
    }
    const size_t end = std::min(s.find_first_of(" \t", pos), s.size());
    if (i == n) {
      return s.substr(pos, end - pos);
    }
    if (end >= s.size()) {
      return {};
    }
    pos = end;
  }
}

}  // namespace

ProcReader::ProcReader(std::string proc_root) : root_(std::move(proc_root)) {
  const long hz = ::sysconf(_SC_CLK_TCK);
  if (hz > 0) {
    ns_per_tick_ = 1'000'000'000ull / static_cast<uint64_t>(hz);
  }
}

std::string ProcReader::path(int64_t pid, std::string_view file) const {
  std::string p = root_;
  p += '/';
  p += std::to_string(pid);
  p += '/';
  p += file;
  return p;
}

bool ProcReader::read_file(const std::string& file, std::string& out, size_t max_bytes) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  out.clear();
  char buf[4096];
  bool ok = true;
  while (out.size() < max_bytes) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof(buf), max_bytes - out.size()));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      ok = false;  // ESRCH: the process exited between open and read
      break;
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ok;
}

bool ProcReader::read_link(const std::string& file, std::string& out) {
  char buf[4096];
  const ssize_t n = ::readlink(file.c_str(), buf, sizeof(buf));
  if (n <= 0) {
    out.clear();
    return false;
  }
  out.assign(buf, static_cast<size_t>(n));
  return true;
}

bool ProcReader::parse_stat(std::string_view text, uint64_t ns_per_tick, ProcSnapshot& out) {
  // "pid (comm) S ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  //  stime cutime cstime priority nice num_threads itrealvalue starttime ..."
  // comm may hold spaces and parentheses: it ends at the last ')'.
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return false;
  }
  out.comm.assign(text.substr(open + 1, close - open - 1));
  const std::string_view rest = text.substr(close + 1);
  // rest: " S ppid pgrp session tty_nr ..." -> field 0 is the state.
  int64_t ppid = -1, pgrp = -1, session = -1, tty = 0;
  uint64_t start = 0;
  if (!parse_num(nth_field(rest, 1), ppid) || !parse_num(nth_field(rest, 2), pgrp) ||
      !parse_num(nth_field(rest, 3), session) || !parse_num(nth_field(rest, 4), tty) ||
      !parse_num(nth_field(rest, 19), start)) {
    return false;
  }
  out.ppid = ppid;
  out.vpgid = pgrp;
  out.sid = session;
  out.tty = static_cast<uint32_t>(tty);
  out.start_boot_ns = start * ns_per_tick;
  return true;
}

void ProcReader::parse_status(std::string_view text, ProcSnapshot& out) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view key = line.substr(0, colon);
    const std::string_view value = line.substr(colon + 1);
    if (key == "Uid") {
      parse_num(nth_field(value, 1), out.uid);  // real, effective, saved, fs
    } else if (key == "Gid") {
      parse_num(nth_field(value, 1), out.gid);
    } else if (key == "CapInh") {
      parse_num(nth_field(value, 0), out.cap_inheritable, 16);
    } else if (key == "CapPrm") {
      parse_num(nth_field(value, 0), out.cap_permitted, 16);
    } else if (key == "CapEff") {
      parse_num(nth_field(value, 0), out.cap_effective, 16);
    } else if (key == "NStgid") {
      last_number(value, out.vpid);
    } else if (key == "NSsid") {
      last_number(value, out.sid);
    } else if (key == "NSpgid") {
      last_number(value, out.vpgid);
    }
  }
}

void ProcReader::split_cmdline(std::string_view cmdline, std::string& exe, std::string& args) {
  while (!cmdline.empty() && cmdline.back() == '\0') {
    cmdline.remove_suffix(1);
  }
  const size_t nul = cmdline.find('\0');
  exe.assign(cmdline.substr(0, nul));
  if (nul == std::string_view::npos) {
    args.clear();
  } else {
    args.assign(cmdline.substr(nul + 1));
  }
}

bool ProcReader::read_start(int64_t pid, uint64_t& start_boot_ns, int64_t* ppid) {
  ProcSnapshot s;
  if (!read_file(path(pid, "stat"), buf_, kMaxSmallFile) || !parse_stat(buf_, ns_per_tick_, s)) {
    return false;
  }
  start_boot_ns = s.start_boot_ns;
  if (ppid != nullptr) {
    *ppid = s.ppid;
  }
  return true;
}

bool ProcReader::read(int64_t pid, ProcSnapshot& out, bool with_env) {
  out = ProcSnapshot{};
  out.pid = pid;
  if (!read_file(path(pid, "stat"), buf_, kMaxSmallFile) || !parse_stat(buf_, ns_per_tick_, out)) {
    return false;
  }
  out.vpid = pid;
  if (read_file(path(pid, "status"), buf_, kMaxSmallFile)) {
    parse_status(buf_, out);
  }
  if (read_file(path(pid, "cmdline"), buf_, kMaxCmdline)) {
    split_cmdline(buf_, out.exe, out.args);
  }
  if (out.exe.empty()) {
    out.exe = out.comm;  // kernel threads have no command line
  }
  read_link(path(pid, "exe"), out.exepath);
  read_link(path(pid, "cwd"), out.cwd);
  if (read_file(path(pid, "loginuid"), buf_, 64)) {
    uint32_t login = 0;
    if (parse_num(std::string_view(buf_), login)) {
      out.loginuid = login == UINT32_MAX ? -1 : static_cast<int64_t>(login);
    }
  }
  if (with_env && read_file(path(pid, "environ"), buf_, kMaxCmdline)) {
    std::string_view env = buf_;
    while (!env.empty() && env.back() == '\0') {
      env.remove_suffix(1);
    }
    out.env.assign(env);
  }
  return true;
}

std::vector<int64_t> ProcReader::list_pids() const {
  std::vector<int64_t> pids;
  DIR* dir = ::opendir(root_.c_str());
  if (dir == nullptr) {
    return pids;
  }
  while (const dirent* de = ::readdir(dir)) {
    int64_t pid = 0;
    const std::string_view name = de->d_name;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec == std::errc() && end == name.data() + name.size() && pid > 0) {
      pids.push_back(pid);
    }
  }
  ::closedir(dir);
  std::sort(pids.begin(), pids.end());
  return pids;
}

}  // namespace vigil::agent
