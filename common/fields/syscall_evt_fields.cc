// evt.* fields of the syscall source (libsinsp: sinsp_filtercheck_event.cpp and
// sinsp_filtercheck_gen_event.cpp), plus the shared extractor helpers.

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <ctime>

#include "common/fields/syscall_fields.h"

namespace vigil::fields {

namespace syscall_detail {

std::string_view join_nul_list(std::string_view list, char sep, Arena& arena) {
  if (!list.empty() && list.back() == '\0') {
    list.remove_suffix(1);
  }
  if (list.find('\0') == std::string_view::npos) {
    return list;
  }
  char* p = arena.allocate(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    p[i] = list[i] == '\0' ? sep : list[i];
  }
  return {p, list.size()};
}

std::string_view join_cmdline(std::string_view head, std::string_view args, Arena& arena) {
  if (!args.empty() && args.back() == '\0') {
    args.remove_suffix(1);
  }
  if (args.empty()) {
    return head;
  }
  const size_t n = head.size() + 1 + args.size();
  char* out = arena.allocate(n);
  if (!head.empty()) {
    std::memcpy(out, head.data(), head.size());
  }
  out[head.size()] = ' ';
  char* a = out + head.size() + 1;
  for (size_t i = 0; i < args.size(); ++i) {
    a[i] = args[i] == '\0' ? ' ' : args[i];
  }
  return {out, n};
}

std::string_view concat(Arena& arena, std::string_view a, std::string_view b, std::string_view c,
                        std::string_view d) {
  const size_t n = a.size() + b.size() + c.size() + d.size();
  if (n == 0) {
    return {};
  }
  char* p = arena.allocate(n);
  size_t pos = 0;
  for (std::string_view s : {a, b, c, d}) {
    if (!s.empty()) {
      std::memcpy(p + pos, s.data(), s.size());
      pos += s.size();
    }
  }
  return {p, n};
}

std::string_view decimal(Arena& arena, int64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  (void)ec;  // 24 bytes always hold an int64
  return arena.copy(std::string_view(buf, static_cast<size_t>(end - buf)));
}

}  // namespace syscall_detail

std::string_view arg_text(const SyscallArg& a, Arena& arena) {
  static constexpr char kDigits[] = "0123456789";
  int base = 10;
  switch (a.format) {
    case ArgFormat::kText:
      return a.str;
    case ArgFormat::kDecimal: {
      if (a.num >= 0 && a.num < 10) {
        return {kDigits + a.num, 1};
      }
      return syscall_detail::decimal(arena, a.num);
    }
    case ArgFormat::kUnsigned:
      break;
    case ArgFormat::kHex:
      base = 16;
      break;
    case ArgFormat::kOctal:
      base = 8;
      break;
    case ArgFormat::kFdPath: {
      char* p = arena.allocate(a.str.size() + 3);
      p[0] = '<';
      p[1] = a.fd_type;
      p[2] = '>';
      if (!a.str.empty()) {
        std::memcpy(p + 3, a.str.data(), a.str.size());
      }
      return {p, a.str.size() + 3};
    }
  }
  const auto u = static_cast<uint64_t>(a.num);
  if (u < 8) {  // one digit in every base used here
    return {kDigits + u, 1};
  }
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), u, base);
  (void)ec;  // 24 bytes hold any 64-bit value in these bases
  return arena.copy(std::string_view(buf, static_cast<size_t>(end - buf)));
}

namespace {

using syscall_detail::event_of;

constexpr uint64_t kNsPerSec = 1000000000ull;

// Time fields are rendered in UTC so that output does not depend on the node's timezone.
enum class TimeFormat { kTime, kTimeS, kIso8601, kDatetime, kDatetimeS };

std::string_view format_time(uint64_t ts, TimeFormat f, Arena& arena) {
  const time_t secs = static_cast<time_t>(ts / kNsPerSec);
  const unsigned long nanos = static_cast<unsigned long>(ts % kNsPerSec);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[48];
  int n = 0;
  switch (f) {
    case TimeFormat::kTime:
      n = snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%09lu", tm.tm_hour, tm.tm_min, tm.tm_sec,
                   nanos);
      break;
    case TimeFormat::kTimeS:
      n = snprintf(buf, sizeof(buf), "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
      break;
    case TimeFormat::kIso8601:
      n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09luZ", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
      break;
    case TimeFormat::kDatetime:
      n = snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%09lu", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
      break;
    case TimeFormat::kDatetimeS:
      n = snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
      break;
  }
  if (n <= 0) {
    return {};
  }
  return arena.copy(
      std::string_view(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1)));
}

template <TimeFormat F>
void extract_time(const void* e, const FieldArg&, ValueWriter& out) {
  out.str(format_time(event_of(e).ts, F, out.arena()));
}

void extract_type(const void* e, const FieldArg&, ValueWriter& out) {
  out.str(syscall_type_name(event_of(e).type));
}

void extract_syscall_type(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  if ((syscall_type_flags(ev.type) & kTypeNotSyscall) == 0) {
    out.str(syscall_type_name(ev.type));
  }
}

void extract_res(const void* e, const FieldArg&, ValueWriter& out) {
  const int64_t res = event_of(e).res;
  if (res >= 0) {
    out.str("SUCCESS");
    return;
  }
  std::string_view name = errno_name(res);
  out.str(!name.empty() ? name : syscall_detail::decimal(out.arena(), res));
}

// `evt.args`: "name=value name=value", in argument order.
std::string_view format_args(const SyscallEvent& ev, Arena& arena) {
  std::array<std::string_view, SyscallEvent::kMaxArgs> text;
  const size_t nargs = std::min<size_t>(ev.nargs, SyscallEvent::kMaxArgs);
  size_t n = 0;
  for (size_t i = 0; i < nargs; ++i) {
    text[i] = arg_text(ev.args[i], arena);
    n += ev.args[i].name.size() + 1 + text[i].size() + 1;
  }
  if (n == 0) {
    return {};
  }
  char* p = arena.allocate(n);
  size_t pos = 0;
  for (size_t i = 0; i < nargs; ++i) {
    const SyscallArg& a = ev.args[i];
    if (pos != 0) {
      p[pos++] = ' ';
    }
    pos += a.name.copy(p + pos, a.name.size());
    p[pos++] = '=';
    pos += text[i].copy(p + pos, text[i].size());
  }
  return {p, pos};
}

void extract_args(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  out.str(format_args(ev, out.arena()));
}

// evt.arg[N] or evt.arg.NAME / evt.arg[NAME].
const SyscallArg* find_arg(const SyscallEvent& ev, const FieldArg& arg) {
  if (arg.index >= 0) {
    return arg.index < ev.nargs ? &ev.args[static_cast<size_t>(arg.index)] : nullptr;
  }
  return ev.arg(arg.text);
}

void extract_arg(const void* e, const FieldArg& arg, ValueWriter& out) {
  if (const SyscallArg* a = find_arg(event_of(e), arg)) {
    out.str(arg_text(*a, out.arena()));
  }
}

void extract_rawarg(const void* e, const FieldArg& arg, ValueWriter& out) {
  const SyscallArg* a = find_arg(event_of(e), arg);
  if (a != nullptr && a->has_num) {
    out.num(a->num);
  }
}

// Linux O_* values as the agent reports them (SyscallArg::num of "flags").
constexpr int64_t kAccMode = O_ACCMODE;
constexpr int64_t kWrOnly = O_WRONLY;
constexpr int64_t kRdWr = O_RDWR;
constexpr int64_t kCreat = O_CREAT;
constexpr int64_t kTmpfileBit = O_TMPFILE & ~O_DIRECTORY;
constexpr int64_t kExecBits = S_IXUSR | S_IXGRP | S_IXOTH;

// Open flags of an open-family event, or -1 when this is not one or flags are unknown.
int64_t open_flags(const SyscallEvent& ev) {
  if (!is_open_type(ev.type)) {
    return -1;
  }
  const SyscallArg* f = ev.arg("flags");
  return f != nullptr && f->has_num ? f->num : -1;
}

// Falco: true when the open requested read access (O_RDONLY or O_RDWR).
void extract_is_open_read(const void* e, const FieldArg&, ValueWriter& out) {
  const int64_t flags = open_flags(event_of(e));
  out.boolean(flags >= 0 && ((flags & kAccMode) == 0 || (flags & kAccMode) == kRdWr));
}

// Falco: true when the open requested write access (O_WRONLY or O_RDWR); O_CREAT alone with
// O_RDONLY does not count.
void extract_is_open_write(const void* e, const FieldArg&, ValueWriter& out) {
  const int64_t flags = open_flags(event_of(e));
  out.boolean(flags >= 0 && ((flags & kAccMode) == kWrOnly || (flags & kAccMode) == kRdWr));
}

// Falco: a file created (O_CREAT or O_TMPFILE, or creat()) with any execute bit in `mode`.
void extract_is_open_exec(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  const SyscallArg* mode = ev.arg("mode");
  bool exec = false;
  if (mode != nullptr && mode->has_num && ev.type != SyscallType::kOpenByHandleAt) {
    const int64_t flags = open_flags(ev);
    const bool creates =
        ev.type == SyscallType::kCreat || (flags >= 0 && (flags & (kCreat | kTmpfileBit)) != 0);
    exec = creates && (mode->num & kExecBits) != 0;
  }
  out.boolean(exec);
}

// Falco: the open created the file (the kernel reports it), or O_TMPFILE succeeded.
void extract_is_open_create(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  const int64_t flags = open_flags(ev);
  bool created = flags >= 0 && (ev.flags & kEvtOpenCreated) != 0;
  if (flags >= 0 && (flags & kTmpfileBit) != 0 && ev.res >= 0) {
    created = true;
  }
  out.boolean(created);
}

void extract_is_io(const void* e, const FieldArg&, ValueWriter& out) {
  out.boolean((syscall_type_flags(event_of(e).type) & (kTypeReadsFd | kTypeWritesFd)) != 0);
}

void extract_is_io_read(const void* e, const FieldArg&, ValueWriter& out) {
  out.boolean((syscall_type_flags(event_of(e).type) & kTypeReadsFd) != 0);
}

void extract_is_io_write(const void* e, const FieldArg&, ValueWriter& out) {
  out.boolean((syscall_type_flags(event_of(e).type) & kTypeWritesFd) != 0);
}

void extract_io_dir(const void* e, const FieldArg&, ValueWriter& out) {
  const uint32_t flags = syscall_type_flags(event_of(e).type);
  if ((flags & kTypeWritesFd) != 0) {
    out.str("write");
  } else if ((flags & kTypeReadsFd) != 0) {
    out.str("read");
  }
}

void extract_hostname(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  if (!ev.hostname.empty()) {
    out.str(ev.hostname);
  }
}

void extract_num(const void* e, const FieldArg&, ValueWriter& out) {
  out.num(static_cast<int64_t>(event_of(e).num));
}
void extract_rawtime(const void* e, const FieldArg&, ValueWriter& out) {
  out.num(static_cast<int64_t>(event_of(e).ts));
}
void extract_rawtime_s(const void* e, const FieldArg&, ValueWriter& out) {
  out.num(static_cast<int64_t>(event_of(e).ts / kNsPerSec));
}
void extract_rawtime_ns(const void* e, const FieldArg&, ValueWriter& out) {
  out.num(static_cast<int64_t>(event_of(e).ts % kNsPerSec));
}
void extract_dir(const void*, const FieldArg&, ValueWriter& out) { out.str("<"); }
void extract_cpu(const void* e, const FieldArg&, ValueWriter& out) { out.num(event_of(e).cpu); }
void extract_rawres(const void* e, const FieldArg&, ValueWriter& out) { out.num(event_of(e).res); }
void extract_failed(const void* e, const FieldArg&, ValueWriter& out) {
  out.boolean(event_of(e).res < 0);
}
void extract_count(const void*, const FieldArg&, ValueWriter& out) { out.num(1); }
void extract_source(const void*, const FieldArg&, ValueWriter& out) { out.str("syscall"); }

constexpr uint32_t kArgForms = kArgRequired | kArgAllowed | kDotArg;

// Sorted roughly as Falco lists them.
const FieldInfo kEvtFields[] = {
    {"evt.num", FieldType::kNumber, kNone, "Event number, counting from 1 since the agent started.",
     extract_num},
    {"evt.time", FieldType::kString, kNone, "Event time of day as HH:MM:SS.nnnnnnnnn (UTC).",
     extract_time<TimeFormat::kTime>},
    {"evt.time.s", FieldType::kString, kNone, "Event time of day as HH:MM:SS (UTC).",
     extract_time<TimeFormat::kTimeS>},
    {"evt.time.iso8601", FieldType::kString, kNone,
     "Event time as ISO 8601 with nanoseconds, e.g. 2024-05-01T10:00:00.000000001Z.",
     extract_time<TimeFormat::kIso8601>},
    {"evt.datetime", FieldType::kString, kNone,
     "Event date and time as YYYY-MM-DD HH:MM:SS.nnnnnnnnn (UTC).",
     extract_time<TimeFormat::kDatetime>},
    {"evt.datetime.s", FieldType::kString, kNone,
     "Event date and time as YYYY-MM-DD HH:MM:SS (UTC).", extract_time<TimeFormat::kDatetimeS>},
    {"evt.rawtime", FieldType::kNumber, kNone, "Event time in nanoseconds since the epoch.",
     extract_rawtime},
    {"evt.rawtime.s", FieldType::kNumber, kNone, "Whole seconds of evt.rawtime.",
     extract_rawtime_s},
    {"evt.rawtime.ns", FieldType::kNumber, kNone, "Nanosecond part of evt.rawtime.",
     extract_rawtime_ns},
    {"evt.dir", FieldType::kString, kNone,
     "Event direction; always '<' (exit) since Vigil only sees syscall exits.", extract_dir},
    {"evt.type", FieldType::kString, kNone, "Name of the syscall, e.g. 'openat'.", extract_type},
    {"syscall.type", FieldType::kString, kNone,
     "Name of the syscall; unset for events that are not syscalls (procexit).",
     extract_syscall_type},
    {"evt.cpu", FieldType::kNumber, kNone, "CPU that ran the syscall.", extract_cpu},
    {"evt.args", FieldType::kString, kNone, "All arguments as one string: 'name=value name=value'.",
     extract_args},
    {"evt.info", FieldType::kString, kNone, "Same as evt.args.", extract_args},
    {"evt.arg", FieldType::kString, kArgForms,
     "One argument as text, by name (evt.arg.flags, evt.arg[flags]) or position (evt.arg[0]); "
     "flags are formatted, e.g. 'O_WRONLY|O_CREAT'.",
     extract_arg},
    {"evt.rawarg", FieldType::kNumber, kArgForms,
     "One numeric argument as its raw value, by name (evt.rawarg.flags) or position.",
     extract_rawarg},
    {"evt.res", FieldType::kString, kNone,
     "Return value as text: 'SUCCESS', or the errno name (e.g. 'ENOENT') on failure.", extract_res},
    {"evt.rawres", FieldType::kNumber, kNone,
     "Return value as a number, e.g. 3 for a new fd or -2 for ENOENT.", extract_rawres},
    {"evt.failed", FieldType::kBool, kNone, "True when the syscall returned an error.",
     extract_failed},
    {"evt.is_io", FieldType::kBool, kNone,
     "True for syscalls that read or write an fd (read, write, sendto, recvmsg, ...).",
     extract_is_io},
    {"evt.is_io_read", FieldType::kBool, kNone, "True for syscalls that read from an fd.",
     extract_is_io_read},
    {"evt.is_io_write", FieldType::kBool, kNone, "True for syscalls that write to an fd.",
     extract_is_io_write},
    {"evt.io_dir", FieldType::kString, kNone,
     "'read' or 'write' for I/O syscalls; unset otherwise.", extract_io_dir},
    {"evt.is_open_read", FieldType::kBool, kNone,
     "True for open/openat/openat2/open_by_handle_at with read access (O_RDONLY or O_RDWR).",
     extract_is_open_read},
    {"evt.is_open_write", FieldType::kBool, kNone,
     "True for open/openat/openat2/open_by_handle_at with write access (O_WRONLY or O_RDWR).",
     extract_is_open_write},
    {"evt.is_open_exec", FieldType::kBool, kNone,
     "True when an open with O_CREAT/O_TMPFILE, or creat, creates a file with execute "
     "permission.",
     extract_is_open_exec},
    {"evt.is_open_create", FieldType::kBool, kNone, "True when an open created the file it opened.",
     extract_is_open_create},
    {"evt.count", FieldType::kNumber, kNone, "Always 1; useful for counting in outputs.",
     extract_count},
    {"evt.hostname", FieldType::kString, kNone, "Hostname of the node the event happened on.",
     extract_hostname},
    {"evt.source", FieldType::kString, kNone, "Name of the event source: 'syscall'.",
     extract_source},
};

}  // namespace

std::span<const FieldInfo> syscall_evt_fields() { return kEvtFields; }

}  // namespace vigil::fields
