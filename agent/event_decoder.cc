#include "agent/event_decoder.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

#include "agent/event_types.h"

namespace vigil::agent {

using fields::FdInfo;
using fields::FdType;
using fields::IpAddr;
using fields::SocketRole;
using fields::SyscallArg;
using fields::SyscallType;

// =============================================================================================
// Paths
// =============================================================================================

namespace {

// True when `p` is absolute and has no "//", "." or ".." component and no trailing "/". One
// pass over the bytes: paths are short, and memchr's call overhead dominated.
bool is_normal_absolute(std::string_view p) {
  const size_t n = p.size();
  if (n == 0 || p[0] != '/') {
    return false;
  }
  if (n == 1) {
    return true;
  }
  if (p[n - 1] == '/') {
    return false;
  }
  const char* s = p.data();
  for (size_t i = 0; i + 1 < n; ++i) {
    if (s[i] != '/') {
      continue;
    }
    const char c = s[i + 1];
    if (c == '/') {
      return false;
    }
    if (c == '.') {
      // "/." or "/.." followed by the end or a slash
      if (i + 2 == n || s[i + 2] == '/') {
        return false;
      }
      if (s[i + 2] == '.' && (i + 3 == n || s[i + 3] == '/')) {
        return false;
      }
    }
  }
  return true;
}

// Appends the components of `path` to out[0, n), resolving "." and "..".
void append_components(std::string_view path, char* out, size_t& n) {
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') {
      ++i;
    }
    size_t j = i;
    while (j < path.size() && path[j] != '/') {
      ++j;
    }
    const std::string_view comp = path.substr(i, j - i);
    i = j;
    if (comp.empty() || comp == ".") {
      continue;
    }
    if (comp == "..") {
      while (n > 0 && out[n - 1] != '/') {
        --n;
      }
      if (n > 0) {
        --n;
      }
      continue;
    }
    out[n++] = '/';
    std::memcpy(out + n, comp.data(), comp.size());
    n += comp.size();
  }
}

}  // namespace

std::string_view resolve_path(std::string_view base, std::string_view path, fields::Arena& arena) {
  if (path.empty()) {
    return {};
  }
  const bool absolute = path.front() == '/';
  if (absolute && is_normal_absolute(path)) {
    return path;
  }
  if (!absolute && base.empty()) {
    return path;
  }
  const std::string_view head = absolute ? std::string_view() : base;
  char* out = arena.allocate(head.size() + path.size() + 2);
  size_t n = 0;
  append_components(head, out, n);
  append_components(path, out, n);
  if (n == 0) {
    out[n++] = '/';
  }
  return {out, n};
}

// =============================================================================================
// Formatting tables (libsinsp's flag names)
// =============================================================================================

namespace {

constexpr int64_t kAtFdcwd = -100;
constexpr uint64_t kNsPerMs = 1'000'000;

struct FlagName {
  uint64_t bits;
  std::string_view name;
};

constexpr FlagName kCloneFlags[] = {
    {0x00000400, "CLONE_FILES"},        {0x00000200, "CLONE_FS"},
    {0x80000000, "CLONE_IO"},           {0x08000000, "CLONE_NEWIPC"},
    {0x40000000, "CLONE_NEWNET"},       {0x00020000, "CLONE_NEWNS"},
    {0x20000000, "CLONE_NEWPID"},       {0x04000000, "CLONE_NEWUTS"},
    {0x00008000, "CLONE_PARENT"},       {0x00100000, "CLONE_PARENT_SETTID"},
    {0x00002000, "CLONE_PTRACE"},       {0x00000800, "CLONE_SIGHAND"},
    {0x00040000, "CLONE_SYSVSEM"},      {0x00010000, "CLONE_THREAD"},
    {0x00800000, "CLONE_UNTRACED"},     {0x00000100, "CLONE_VM"},
    {0x10000000, "CLONE_NEWUSER"},      {0x00200000, "CLONE_CHILD_CLEARTID"},
    {0x01000000, "CLONE_CHILD_SETTID"}, {0x00080000, "CLONE_SETTLS"},
    {0x00004000, "CLONE_VFORK"},        {0x02000000, "CLONE_NEWCGROUP"},
    {0x00000080, "CLONE_NEWTIME"},
};
constexpr uint64_t kCloneSignalMask = 0xff;  // clone(2)'s low byte is the exit signal

constexpr FlagName kMemfdFlags[] = {
    {0x1, "MFD_CLOEXEC"},     {0x2, "MFD_ALLOW_SEALING"}, {0x4, "MFD_HUGETLB"},
    {0x8, "MFD_NOEXEC_SEAL"}, {0x10, "MFD_EXEC"},
};
constexpr FlagName kUnlinkatFlags[] = {{0x200, "AT_REMOVEDIR"}};
constexpr FlagName kLinkatFlags[] = {{0x400, "AT_SYMLINK_FOLLOW"}, {0x1000, "AT_EMPTY_PATH"}};
constexpr FlagName kFchownatFlags[] = {{0x100, "AT_SYMLINK_NOFOLLOW"}, {0x1000, "AT_EMPTY_PATH"}};
constexpr FlagName kRenameat2Flags[] = {
    {0x1, "RENAME_NOREPLACE"}, {0x2, "RENAME_EXCHANGE"}, {0x4, "RENAME_WHITEOUT"}};
constexpr FlagName kUmountFlags[] = {
    {0x1, "FORCE"}, {0x2, "DETACH"}, {0x4, "EXPIRE"}, {0x8, "NOFOLLOW"}};
constexpr FlagName kChmodMode[] = {
    {0001, "S_IXOTH"}, {0002, "S_IWOTH"},  {0004, "S_IROTH"},  {0010, "S_IXGRP"},
    {0020, "S_IWGRP"}, {0040, "S_IRGRP"},  {0100, "S_IXUSR"},  {0200, "S_IWUSR"},
    {0400, "S_IRUSR"}, {01000, "S_ISVTX"}, {02000, "S_ISGID"}, {04000, "S_ISUID"},
};
// execve's flags parameter (PPM_EXE_*), in libsinsp's bit order.
constexpr uint64_t kExeWritable = 1, kExeUpper = 2, kExeMemfd = 4, kExeLower = 8;
constexpr FlagName kExecveFlags[] = {
    {kExeWritable, "EXE_WRITABLE"},
    {kExeUpper, "EXE_UPPER_LAYER"},
    {kExeMemfd, "EXE_FROM_MEMFD"},
    {kExeLower, "EXE_LOWER_LAYER"},
};

constexpr std::string_view kSignals[] = {
    "",          "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",   "SIGTRAP", "SIGABRT", "SIGBUS",
    "SIGFPE",    "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",  "SIGPIPE", "SIGALRM", "SIGTERM",
    "SIGSTKFLT", "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",
    "SIGXCPU",   "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",  "SIGSYS",
};

constexpr std::string_view kBpfCommands[] = {
    "BPF_MAP_CREATE",        "BPF_MAP_LOOKUP_ELEM",
    "BPF_MAP_UPDATE_ELEM",   "BPF_MAP_DELETE_ELEM",
    "BPF_MAP_GET_NEXT_KEY",  "BPF_PROG_LOAD",
    "BPF_OBJ_PIN",           "BPF_OBJ_GET",
    "BPF_PROG_ATTACH",       "BPF_PROG_DETACH",
    "BPF_PROG_TEST_RUN",     "BPF_PROG_GET_NEXT_ID",
    "BPF_MAP_GET_NEXT_ID",   "BPF_PROG_GET_FD_BY_ID",
    "BPF_MAP_GET_FD_BY_ID",  "BPF_OBJ_GET_INFO_BY_FD",
    "BPF_PROG_QUERY",        "BPF_RAW_TRACEPOINT_OPEN",
    "BPF_BTF_LOAD",          "BPF_BTF_GET_FD_BY_ID",
    "BPF_TASK_FD_QUERY",     "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
    "BPF_MAP_FREEZE",        "BPF_BTF_GET_NEXT_ID",
    "BPF_MAP_LOOKUP_BATCH",  "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
    "BPF_MAP_UPDATE_BATCH",  "BPF_MAP_DELETE_BATCH",
    "BPF_LINK_CREATE",       "BPF_LINK_UPDATE",
    "BPF_LINK_GET_FD_BY_ID", "BPF_LINK_GET_NEXT_ID",
    "BPF_ENABLE_STATS",      "BPF_ITER_CREATE",
    "BPF_LINK_DETACH",       "BPF_PROG_BIND_MAP",
};

struct NamedValue {
  int64_t value;
  std::string_view name;
};
constexpr NamedValue kPrctlOptions[] = {
    {1, "PR_SET_PDEATHSIG"},
    {2, "PR_GET_PDEATHSIG"},
    {3, "PR_GET_DUMPABLE"},
    {4, "PR_SET_DUMPABLE"},
    {7, "PR_GET_KEEPCAPS"},
    {8, "PR_SET_KEEPCAPS"},
    {15, "PR_SET_NAME"},
    {16, "PR_GET_NAME"},
    {21, "PR_GET_SECCOMP"},
    {22, "PR_SET_SECCOMP"},
    {23, "PR_CAPBSET_READ"},
    {24, "PR_CAPBSET_DROP"},
    {36, "PR_SET_CHILD_SUBREAPER"},
    {37, "PR_GET_CHILD_SUBREAPER"},
    {38, "PR_SET_NO_NEW_PRIVS"},
    {39, "PR_GET_NO_NEW_PRIVS"},
    {47, "PR_CAP_AMBIENT"},
};

std::string_view find_name(std::span<const NamedValue> table, int64_t value) {
  for (const NamedValue& e : table) {
    if (e.value == value) {
      return e.name;
    }
  }
  return {};
}

// Names of the set bits, joined by '|', in the table's order; "" when none is set.
std::string_view format_flags(std::span<const FlagName> table, uint64_t value,
                              fields::Arena& arena) {
  size_t len = 0;
  for (const FlagName& f : table) {
    if ((value & f.bits) == f.bits && f.bits != 0) {
      len += f.name.size() + 1;
    }
  }
  if (len == 0) {
    return {};
  }
  char* p = arena.allocate(len);
  size_t n = 0;
  for (const FlagName& f : table) {
    if ((value & f.bits) == f.bits && f.bits != 0) {
      if (n != 0) {
        p[n++] = '|';
      }
      std::memcpy(p + n, f.name.data(), f.name.size());
      n += f.name.size();
    }
  }
  return {p, n};
}

std::string_view join_args(std::string_view nul_list, fields::Arena& arena) {
  if (nul_list.find('\0') == std::string_view::npos) {
    return nul_list;
  }
  char* p = arena.allocate(nul_list.size());
  for (size_t i = 0; i < nul_list.size(); ++i) {
    p[i] = nul_list[i] == '\0' ? ' ' : nul_list[i];
  }
  return {p, nul_list.size()};
}

// --- sockets ---

bool all_zero(const uint8_t* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (b[i] != 0) {
      return false;
    }
  }
  return true;
}

bool v4_mapped(const uint8_t* b) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b, kPrefix, sizeof(kPrefix)) == 0;
}

IpAddr ip4(const uint8_t* b) {
  IpAddr a;
  a.family = 4;
  std::memcpy(a.bytes, b, 4);
  return a;
}

IpAddr ip6(const uint8_t* b) {
  IpAddr a;
  a.family = 6;
  std::memcpy(a.bytes, b, 16);
  return a;
}

bool ip_is_zero(const IpAddr& a) { return all_zero(a.bytes, a.family == 4 ? 4 : 16); }

// The process's sockaddr argument (connect, bind, sendto).
struct SockAddr {
  uint16_t family = 0;
  IpAddr ip;
  uint16_t port = 0;
  std::string_view unix_path;  // without the leading NUL of an abstract name
  bool abstract = false;
};

bool parse_sockaddr(std::string_view blob, SockAddr& out) {
  if (blob.size() < 2) {
    return false;
  }
  const auto* b = reinterpret_cast<const uint8_t*>(blob.data());
  std::memcpy(&out.family, b, 2);
  switch (out.family) {
    case AF_INET:
      if (blob.size() < 8) {
        return false;
      }
      out.port = static_cast<uint16_t>((b[2] << 8) | b[3]);
      out.ip = ip4(b + 4);
      return true;
    case AF_INET6:
      if (blob.size() < 24) {
        return false;
      }
      out.port = static_cast<uint16_t>((b[2] << 8) | b[3]);
      out.ip = v4_mapped(b + 8) ? ip4(b + 20) : ip6(b + 8);
      return true;
    case AF_UNIX: {
      std::string_view path = blob.substr(2);
      if (!path.empty() && path.front() == '\0') {
        out.abstract = true;
        path.remove_prefix(1);
      }
      const size_t nul = path.find('\0');
      out.unix_path = path.substr(0, nul);
      return true;
    }
    default:
      return true;
  }
}

// "10.0.0.1:80" or "[fd00::1]:80" (fd.name's notation). `cap` is at least 60.
size_t format_endpoint(const IpAddr& ip, uint16_t port, char* buf, size_t cap) {
  size_t n = 0;
  if (ip.family == 4) {
    // inet_ntop is several times slower than this, and connect/accept format two or three.
    for (int i = 0; i < 4; ++i) {
      const unsigned b = ip.bytes[i];
      if (b >= 100) {
        buf[n++] = static_cast<char>('0' + b / 100);
      }
      if (b >= 10) {
        buf[n++] = static_cast<char>('0' + (b / 10) % 10);
      }
      buf[n++] = static_cast<char>('0' + b % 10);
      buf[n++] = i < 3 ? '.' : ':';
    }
  } else {
    buf[n++] = '[';
    if (inet_ntop(AF_INET6, ip.bytes, buf + n, static_cast<socklen_t>(cap - n)) == nullptr) {
      return 0;
    }
    n += std::strlen(buf + n);
    buf[n++] = ']';
    buf[n++] = ':';
  }
  auto [end, ec] = std::to_chars(buf + n, buf + cap, port);
  (void)ec;  // callers' buffers hold an address and 5 digits
  return static_cast<size_t>(end - buf);
}

fields::L4Proto l4proto_of(unsigned type, unsigned protocol) {
  if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6) {
    return fields::L4Proto::kIcmp;
  }
  switch (type & 0xf) {
    case SOCK_STREAM:
      return fields::L4Proto::kTcp;
    case SOCK_DGRAM:
      return fields::L4Proto::kUdp;
    case SOCK_RAW:
      return fields::L4Proto::kRaw;
    default:
      return fields::L4Proto::kUnknown;
  }
}

FdType fd_type_of_family(int64_t family) {
  switch (family) {
    case AF_INET:
      return FdType::kIpv4;
    case AF_INET6:
      return FdType::kIpv6;
    case AF_UNIX:
      return FdType::kUnix;
    case AF_NETLINK:
      return FdType::kNetlink;
    default:
      return FdType::kUnknown;
  }
}

// anon_inode fds by their name ("anon_inode:[eventfd]").
FdType anon_type(std::string_view name) {
  struct Entry {
    std::string_view needle;
    FdType type;
  };
  static constexpr Entry kAnon[] = {
      {"[eventfd]", FdType::kEvent},
      {"[eventpoll]", FdType::kEventpoll},
      {"inotify", FdType::kInotify},
      {"[signalfd]", FdType::kSignalfd},
      {"[timerfd]", FdType::kTimerfd},
      {"bpf", FdType::kBpf},
      {"[userfaultfd]", FdType::kUserfaultfd},
      {"[io_uring]", FdType::kIoUring},
      {"[pidfd]", FdType::kPidfd},
      {"memfd:", FdType::kMemfd},
  };
  for (const Entry& e : kAnon) {
    if (name.find(e.needle) != std::string_view::npos) {
      return e.type;
    }
  }
  return FdType::kUnknown;
}

enum RoleHint { kHintGuess, kHintClient, kHintServer, kHintListening };

int32_t as_fd(uint64_t raw) { return static_cast<int32_t>(static_cast<uint32_t>(raw)); }

}  // namespace

// =============================================================================================
// EventDecoder
// =============================================================================================

EventDecoder::EventDecoder(ProcessTable& processes, CgroupResolver& cgroups, DecoderOptions options)
    : processes_(processes), cgroups_(cgroups), options_(std::move(options)) {
  boot_to_epoch_ns_ = read_boot_to_epoch_ns();
  processes_.set_boot_to_epoch_ns(boot_to_epoch_ns_);
  event_.hostname = options_.hostname;
  for (uint16_t t = 0; t < VG_T_COUNT; ++t) {
    const auto st = to_syscall_type(t);
    types_[t] = st ? static_cast<int16_t>(*st) : int16_t{-1};
  }
}

void EventDecoder::refresh_clock(uint64_t boot_ns) {
  boot_to_epoch_ns_ = read_boot_to_epoch_ns();
  processes_.set_boot_to_epoch_ns(boot_to_epoch_ns_);
  clock_read_at_ = boot_ns;
}

// Flattened, like decode_args(): per record, only the calls into the process table, the cgroup
// resolver and Record::parse remain.
[[gnu::flatten]] const fields::SyscallEvent* EventDecoder::decode(const void* data, size_t size) {
  processes_.finish_event();
  ++stats_.records;
  const RecordError err = record_.parse(data, size);
  if (err != RecordError::kOk) {
    ++stats_.malformed;
    ++stats_.malformed_by_reason[static_cast<size_t>(err)];
    return nullptr;
  }
  const vg_event& hdr = record_.header();
  if (hdr.ts > clock_read_at_ + static_cast<uint64_t>(options_.clock_refresh.count()) * kNsPerMs) {
    refresh_clock(hdr.ts);
  }
  if (hdr.type == VG_T_FORK) {
    processes_.on_fork(hdr);
    ++stats_.state_only;
    return nullptr;
  }
  const int16_t type = types_[hdr.type];
  if (type < 0) {
    ++stats_.malformed;
    ++stats_.malformed_by_reason[static_cast<size_t>(RecordError::kBadType)];
    return nullptr;
  }

  arena_.reset();
  for (size_t i = 0; i < id_names_used_; ++i) {
    id_names_[i].reset();
  }
  id_names_used_ = 0;
  event_.type = static_cast<SyscallType>(type);
  event_.ts = static_cast<uint64_t>(static_cast<int64_t>(hdr.ts) + boot_to_epoch_ns_);
  event_.num = next_num_++;
  event_.cpu = hdr.cpu;
  event_.res = hdr.res;
  event_.flags = (hdr.flags & VG_F_OPEN_CREATED) != 0 ? fields::kEvtOpenCreated : fields::kEvtNone;
  event_.nargs = 0;
  event_.fd = nullptr;
  event_.container = nullptr;
  event_.k8s = nullptr;

  Process* p = processes_.process_for(hdr);
  proc_ = p;
  if (p != nullptr) {
    switch (hdr.type) {  // the only types that change state before evaluation
      case VG_T_EXECVE:
      case VG_T_EXECVEAT:
      case VG_T_CHDIR:
      case VG_T_FCHDIR:
      case VG_T_PROCEXIT:
        update_state(*p);
        break;
      default:
        break;
    }
    if (p->cgroup_id() != hdr.cgroup_id) {
      processes_.set_container(*p, hdr.cgroup_id, cgroups_.container_for(hdr.cgroup_id, hdr.tgid));
    }
    if (p->container() == nullptr && cgroups_.v1_fallback() && hdr.res == 0 &&
        (hdr.type == VG_T_EXECVE || hdr.type == VG_T_EXECVEAT)) {
      // A hybrid host whose runtime left the container in a host cgroup of the unified
      // hierarchy: a container's processes start with an exec, look at the v1 lines then.
      if (auto c = cgroups_.container_from_proc(hdr.tgid)) {
        processes_.set_container(*p, hdr.cgroup_id, std::move(c));
      }
    }
    if (ContainerRecord* c = p->container()) {
      if (options_.metadata != nullptr && !c->has_metadata() &&
          static_cast<int64_t>(hdr.ts) - c->last_lookup_ns >=
              static_cast<int64_t>(options_.metadata_retry.count()) *
                  static_cast<int64_t>(kNsPerMs)) {
        c->last_lookup_ns = static_cast<int64_t>(hdr.ts);
        fields::ContainerInfo info;
        fields::K8sInfo k8s;
        if (options_.metadata->lookup(c->full_id(), info, k8s)) {
          c->apply_metadata(info, k8s);
        }
      }
      event_.container = &c->info();
      event_.k8s = c->k8s();
    }
    processes_.resolve_names(*p);
    event_.proc = &p->info();
  } else {
    ++stats_.untracked;
    scratch_proc_ = fields::ProcessInfo{};
    scratch_proc_.pid = hdr.tgid;
    scratch_proc_.ppid = hdr.ppid;
    scratch_proc_.name = record_.comm();
    apply_header_identity(scratch_proc_, hdr);
    event_.proc = &scratch_proc_;
  }
  decode_args();
  ++stats_.events;
  return &event_;
}

// State changes are applied before the event is built: the event shows the process as the
// syscall left it, as libsinsp's parsers do. Exits are applied after evaluation.
void EventDecoder::update_state(Process& p) {
  const vg_event& hdr = record_.header();
  switch (hdr.type) {
    case VG_T_EXECVE:
    case VG_T_EXECVEAT:
      if (hdr.res == 0) {
        processes_.on_exec(p, hdr, record_.blob(VG_B_ARGV), record_.blob(VG_B_EXEPATH),
                           record_.blob(VG_B_CWD), record_.blob(VG_B_ENV));
      }
      break;
    case VG_T_CHDIR:
      if (hdr.res == 0) {
        if (std::string_view cwd = record_.blob(VG_B_CWD); !cwd.empty()) {
          processes_.set_cwd(p, cwd);
        } else if (std::string_view path = record_.blob(VG_B_PATH); !path.empty()) {
          processes_.set_cwd(p, resolve_path(p.info().cwd, path, arena_));
        }
      }
      break;
    case VG_T_FCHDIR:
      if (hdr.res == 0) {
        std::string_view cwd = record_.blob(VG_B_CWD);
        if (cwd.empty()) {
          cwd = record_.blob(VG_B_FDPATH);
        }
        if (!cwd.empty()) {
          processes_.set_cwd(p, cwd);
        }
      }
      break;
    case VG_T_PROCEXIT:
      processes_.schedule_exit(p);
      break;
    default:
      break;
  }
}

// --- argument helpers ---

// Arguments are written in place: building a SyscallArg on the stack and copying it in costs
// store-forwarding stalls that showed up as a third of an openat's decoding time.
SyscallArg& EventDecoder::push_arg(std::string_view name) {
  SyscallArg& a =
      event_.nargs < fields::SyscallEvent::kMaxArgs ? event_.args[event_.nargs++] : overflow_arg_;
  a.name = name;
  a.str = {};
  a.num = 0;
  a.has_num = false;
  a.format = fields::ArgFormat::kText;
  return a;
}

void EventDecoder::arg_str(std::string_view name, std::string_view str) {
  push_arg(name).str = str;
}

// Numbers are stored, not formatted: fields::arg_text() renders them when a rule or an output
// reads the argument as text (most never are).
void EventDecoder::arg_number(std::string_view name, int64_t value, fields::ArgFormat format) {
  SyscallArg& a = push_arg(name);
  a.num = value;
  a.has_num = true;
  a.format = format;
}

void EventDecoder::arg_named(std::string_view name, std::string_view text, int64_t value) {
  if (text.empty()) {
    arg_number(name, value, fields::ArgFormat::kDecimal);
    return;
  }
  SyscallArg& a = push_arg(name);
  a.num = value;
  a.has_num = true;
  a.str = text;
}

void EventDecoder::arg_num(std::string_view name, int64_t value) {
  arg_number(name, value, fields::ArgFormat::kDecimal);
}

void EventDecoder::arg_unsigned(std::string_view name, uint64_t value) {
  arg_number(name, static_cast<int64_t>(value), fields::ArgFormat::kUnsigned);
}

void EventDecoder::arg_hex(std::string_view name, uint64_t value) {
  arg_number(name, static_cast<int64_t>(value), fields::ArgFormat::kHex);
}

void EventDecoder::arg_oct(std::string_view name, uint64_t value) {
  arg_number(name, static_cast<int64_t>(value), fields::ArgFormat::kOctal);
}

// PT_FD as libsinsp resolves it: "<f>/etc/passwd" for the event's fd when its name is known,
// "AT_FDCWD" for dirfds, else the number.
void EventDecoder::arg_fd(std::string_view name, int64_t fd) {
  if (fd == kAtFdcwd) {
    arg_named(name, "AT_FDCWD", fd);
    return;
  }
  if (fd >= 0 && event_.fd != nullptr && event_.fd->num == fd && !event_.fd->name.empty()) {
    SyscallArg& a = push_arg(name);
    a.num = fd;
    a.has_num = true;
    a.str = event_.fd->name;
    a.fd_type = fields::fd_type_char(event_.fd->type);
    a.format = fields::ArgFormat::kFdPath;
    return;
  }
  arg_num(name, fd);
}

// PT_UID / PT_GID as libsinsp resolves them: the user or group name under the process's root
// (`evt.arg.uid = nobody`), the number when there is none.
void EventDecoder::arg_id(std::string_view name, int64_t id, bool group) {
  std::string_view text;
  if (proc_ != nullptr && id >= 0 && id_names_used_ < id_names_.size()) {
    auto entry = group ? processes_.group_entry(*proc_, static_cast<uint32_t>(id))
                       : processes_.user_entry(*proc_, static_cast<uint32_t>(id));
    if (entry != nullptr) {
      text = entry->name;
      id_names_[id_names_used_++] = std::move(entry);
    }
  }
  arg_named(name, text, id);
}

std::string_view EventDecoder::open_flags_text(uint32_t flags) {
  FlagsSlot& slot =
      flags_cache_[(flags ^ (flags >> 8) ^ (flags >> 16)) & (flags_cache_.size() - 1)];
  if (!slot.used || slot.flags != flags) {
    slot.text = fields::format_open_flags(flags);
    slot.flags = flags;
    slot.used = true;
  }
  return slot.text;
}

std::string_view EventDecoder::path_arg(std::string_view name, std::string_view raw,
                                        std::string_view base) {
  const std::string_view resolved = resolve_path(base, raw, arena_);
  arg_str(name, resolved);
  return resolved;
}

// The directory a *at() path is relative to: the cwd for AT_FDCWD, else the next DIRFD_PATH blob
// (the kernel sends one per dirfd that is not AT_FDCWD, in argument order).
std::string_view EventDecoder::dirfd_base(int64_t dirfd, unsigned& dirfd_blob) {
  if (dirfd == kAtFdcwd) {
    return event_.proc->cwd;
  }
  return record_.blob(VG_B_DIRFD_PATH, dirfd_blob++);
}

// --- fds ---

FdInfo& EventDecoder::use_fd(int64_t num) {
  if (fd_socket_dirty_) {
    fd_ = FdInfo{};
    fd_socket_dirty_ = false;
  } else {
    // Only the file members were written since the last full reset.
    fd_.type = FdType::kUnknown;
    fd_.name = {};
    fd_.nameraw = {};
    fd_.dev = 0;
    fd_.ino = 0;
  }
  fd_.num = num;
  event_.fd = &fd_;
  return fd_;
}

// Type, name, dev and ino from FDINFO/FDPATH/SOCKTUPLE, for fds that are not opened paths.
void EventDecoder::fill_fd_from_blobs(FdInfo& fd) {
  vg_fdinfo info{};
  const bool have_info = record_.fdinfo(info);
  vg_socktuple tuple{};
  const bool have_tuple = record_.socktuple(tuple);
  fd.name = record_.blob(VG_B_FDPATH);
  if (have_info) {
    fd.dev = info.dev;
    fd.ino = info.ino;
    switch (info.kind) {
      case VG_FD_FILE:
      case VG_FD_OTHER:
        fd.type = FdType::kFile;
        break;
      case VG_FD_DIR:
        fd.type = FdType::kDirectory;
        break;
      case VG_FD_PIPE:
        fd.type = FdType::kPipe;
        break;
      case VG_FD_MEMFD:
        fd.type = FdType::kMemfd;
        break;
      case VG_FD_ANON:
        fd.type = anon_type(fd.name);
        break;
      default:
        break;
    }
  }
  if (have_tuple || (have_info && info.kind == VG_FD_SOCK)) {
    fill_socket(fd, have_tuple, tuple, kHintGuess);
  }
}

void EventDecoder::fill_socket(FdInfo& fd, bool have_tuple, const vg_socktuple& t, int role_hint) {
  fd_socket_dirty_ = true;
  SockAddr sa;
  const bool have_sa = parse_sockaddr(record_.blob(VG_B_SOCKADDR), sa);
  const unsigned family = have_tuple ? t.family : (have_sa ? sa.family : 0u);
  if (family == AF_UNIX) {
    fd.type = FdType::kUnix;
    if (have_sa && !sa.unix_path.empty()) {
      fd.name = sa.unix_path;
    }
    return;
  }
  if (family != AF_INET && family != AF_INET6) {
    if (family != 0) {
      fd.type = fd_type_of_family(family);
    }
    return;
  }
  // An IP socket is named by its tuple (formatted by the fd.name extractor on demand), not by
  // the kernel's "socket:[inode]".
  fd.name = {};
  IpAddr local, peer;
  uint16_t lport = 0, pport = 0;
  if (have_tuple) {
    if (family == AF_INET) {
      local = ip4(t.saddr);
      peer = ip4(t.daddr);
    } else if ((v4_mapped(t.saddr) || all_zero(t.saddr, 16)) &&
               (v4_mapped(t.daddr) || all_zero(t.daddr, 16)) &&
               !(all_zero(t.saddr, 16) && all_zero(t.daddr, 16))) {
      local = ip4(t.saddr + 12);
      peer = ip4(t.daddr + 12);
    } else {
      local = ip6(t.saddr);
      peer = ip6(t.daddr);
    }
    lport = t.sport;
    pport = t.dport;
    fd.l4proto = l4proto_of(t.type, t.protocol);
  }
  const bool local_known = have_tuple && (lport != 0 || !ip_is_zero(local));
  bool peer_known = have_tuple && (pport != 0 || !ip_is_zero(peer));
  const bool sa_inet = have_sa && (sa.family == AF_INET || sa.family == AF_INET6);
  if (!peer_known && sa_inet && role_hint != kHintListening) {
    // A failed or non-blocking connect, or an unconnected sendto: the peer the process asked for.
    peer = sa.ip;
    pport = sa.port;
    peer_known = true;
  }
  const IpAddr& any = local_known ? local : peer;
  fd.type =
      (any.family == 6 || (any.family == 0 && family == AF_INET6)) ? FdType::kIpv6 : FdType::kIpv4;
  int role = role_hint;
  if (role == kHintGuess) {
    if (peer_known) {
      // Without the fd's history: the end with the lower port is usually the server.
      role = local_known && lport < pport ? kHintServer : kHintClient;
    } else if (local_known) {
      role = kHintListening;
    }
  }
  // One end of the connection into the fd: (ip, port) when that end is known.
  auto set_end = [](IpAddr& ip, uint16_t& port, bool known, const IpAddr& a, uint16_t p) {
    if (known) {
      ip = a;
      port = p;
    }
  };
  switch (role) {
    case kHintClient:  // local end = client
      fd.role = SocketRole::kClient;
      set_end(fd.cip, fd.cport, local_known, local, lport);
      set_end(fd.sip, fd.sport, peer_known, peer, pport);
      break;
    case kHintServer:  // local end = server
      fd.role = SocketRole::kServer;
      set_end(fd.sip, fd.sport, local_known, local, lport);
      set_end(fd.cip, fd.cport, peer_known, peer, pport);
      break;
    case kHintListening:
      fd.role = SocketRole::kListening;
      if (local_known) {
        fd.sip = local;
        fd.sport = lport;
      } else if (sa_inet) {
        fd.sip = sa.ip;
        fd.sport = sa.port;
      }
      break;
    default:
      break;
  }
}

void EventDecoder::fill_open_fd(std::string_view raw_path, std::string_view resolved) {
  const int64_t res = record_.header().res;
  FdInfo& fd = use_fd(res >= 0 ? res : -1);
  fd.type = FdType::kFile;
  fd.name = resolved;
  fd.nameraw = raw_path;
  vg_fdinfo info{};
  if (res >= 0 && record_.fdinfo(info)) {
    fd.dev = info.dev;
    fd.ino = info.ino;
    if (info.kind == VG_FD_DIR) {
      fd.type = FdType::kDirectory;
    } else if (info.kind == VG_FD_MEMFD) {
      fd.type = FdType::kMemfd;
    }
  }
}

// =============================================================================================
// Arguments, per record type (libsinsp's exit-event parameters)
// =============================================================================================

// Flattened: the argument helpers are small and called from every case.
[[gnu::flatten]] void EventDecoder::decode_args() {
  const vg_event& h = record_.header();
  const __u64* a = h.args;
  const std::string_view cwd = event_.proc->cwd;
  unsigned dirfd_blob = 0;
  vg_fdinfo info{};

  switch (h.type) {
    // ----- opens -----
    case VG_T_OPEN:
    case VG_T_OPENAT:
    case VG_T_OPENAT2:
    case VG_T_CREAT: {
      const bool at = h.type == VG_T_OPENAT || h.type == VG_T_OPENAT2;
      const int64_t dirfd = at ? as_fd(a[0]) : kAtFdcwd;
      const std::string_view raw = record_.blob(VG_B_PATH);
      const std::string_view base = at ? dirfd_base(dirfd, dirfd_blob) : cwd;
      const std::string_view name = resolve_path(base, raw, arena_);
      fill_open_fd(raw, name);
      uint32_t flags = 0;
      uint32_t mode = 0;
      switch (h.type) {
        case VG_T_OPEN:
          flags = static_cast<uint32_t>(a[1]);
          mode = static_cast<uint32_t>(a[2]);
          break;
        case VG_T_OPENAT:
          flags = static_cast<uint32_t>(a[2]);
          mode = static_cast<uint32_t>(a[3]);
          break;
        case VG_T_OPENAT2:
          // open_how sits behind a pointer: the flags the file was opened with, plus what the
          // kernel drops from f_flags and the record tells.
          if (record_.fdinfo(info)) {
            flags = info.f_flags;
          }
          if ((h.flags & VG_F_OPEN_CREATED) != 0) {
            flags |= O_CREAT;
          }
          break;
        default:  // creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode)
          flags = O_CREAT | O_WRONLY | O_TRUNC;
          mode = static_cast<uint32_t>(a[1]);
          break;
      }
      // The drivers report a mode only when the open can create a file.
      if ((flags & (O_CREAT | O_TMPFILE)) == 0) {
        mode = 0;
      }
      arg_fd("fd", h.res);
      if (at) {
        arg_fd("dirfd", dirfd);
      }
      arg_str("name", name);
      if (h.type != VG_T_CREAT) {
        arg_named("flags", open_flags_text(flags), flags);
      }
      arg_oct("mode", mode);
      if (h.type != VG_T_OPENAT2) {
        arg_hex("dev", kernel_to_user_dev(fd_.dev));
        arg_unsigned("ino", fd_.ino);
      }
      break;
    }
    case VG_T_OPEN_BY_HANDLE_AT: {
      const std::string_view path = record_.blob(VG_B_FDPATH);
      fill_open_fd(path, path);
      arg_fd("fd", h.res);
      arg_fd("mountfd", as_fd(a[0]));
      const auto flags = static_cast<uint32_t>(a[2]);
      arg_named("flags", open_flags_text(flags), flags);
      arg_str("path", path);
      break;
    }

    // ----- fd bookkeeping -----
    case VG_T_CLOSE:
      fill_fd_from_blobs(use_fd(as_fd(a[0])));
      arg_fd("fd", as_fd(a[0]));
      break;
    case VG_T_DUP:
    case VG_T_DUP2:
    case VG_T_DUP3:
      fill_fd_from_blobs(use_fd(h.res >= 0 ? h.res : -1));
      arg_fd("oldfd", as_fd(a[0]));
      if (h.type != VG_T_DUP) {
        arg_fd("newfd", as_fd(a[1]));
      }
      if (h.type == VG_T_DUP3) {
        const auto flags = static_cast<uint32_t>(a[2]);
        arg_named("flags", open_flags_text(flags), flags);
      }
      break;

    // ----- namespace operations on paths -----
    case VG_T_LINK:
      path_arg("oldpath", record_.blob(VG_B_PATH), cwd);
      path_arg("newpath", record_.blob(VG_B_PATH2), cwd);
      break;
    case VG_T_LINKAT: {
      const int64_t olddir = as_fd(a[0]);
      const int64_t newdir = as_fd(a[2]);
      const std::string_view oldbase = dirfd_base(olddir, dirfd_blob);
      const std::string_view newbase = dirfd_base(newdir, dirfd_blob);
      arg_fd("olddir", olddir);
      path_arg("oldpath", record_.blob(VG_B_PATH), oldbase);
      arg_fd("newdir", newdir);
      path_arg("newpath", record_.blob(VG_B_PATH2), newbase);
      arg_named("flags", format_flags(kLinkatFlags, a[4], arena_), static_cast<int64_t>(a[4]));
      break;
    }
    case VG_T_SYMLINK:
      arg_str("target", record_.blob(VG_B_PATH));
      path_arg("linkpath", record_.blob(VG_B_PATH2), cwd);
      break;
    case VG_T_SYMLINKAT: {
      const int64_t dirfd = as_fd(a[1]);
      const std::string_view base = dirfd_base(dirfd, dirfd_blob);
      arg_str("target", record_.blob(VG_B_PATH));
      arg_fd("linkdirfd", dirfd);
      path_arg("linkpath", record_.blob(VG_B_PATH2), base);
      break;
    }
    case VG_T_UNLINK:
      path_arg("path", record_.blob(VG_B_PATH), cwd);
      break;
    case VG_T_UNLINKAT: {
      const int64_t dirfd = as_fd(a[0]);
      const std::string_view base = dirfd_base(dirfd, dirfd_blob);
      arg_fd("dirfd", dirfd);
      path_arg("name", record_.blob(VG_B_PATH), base);
      arg_named("flags", format_flags(kUnlinkatFlags, a[2], arena_), static_cast<int64_t>(a[2]));
      break;
    }
    case VG_T_RENAME:
      path_arg("oldpath", record_.blob(VG_B_PATH), cwd);
      path_arg("newpath", record_.blob(VG_B_PATH2), cwd);
      break;
    case VG_T_RENAMEAT:
    case VG_T_RENAMEAT2: {
      const int64_t olddir = as_fd(a[0]);
      const int64_t newdir = as_fd(a[2]);
      const std::string_view oldbase = dirfd_base(olddir, dirfd_blob);
      const std::string_view newbase = dirfd_base(newdir, dirfd_blob);
      arg_fd("olddirfd", olddir);
      path_arg("oldpath", record_.blob(VG_B_PATH), oldbase);
      arg_fd("newdirfd", newdir);
      path_arg("newpath", record_.blob(VG_B_PATH2), newbase);
      if (h.type == VG_T_RENAMEAT2) {
        arg_named("flags", format_flags(kRenameat2Flags, a[4], arena_), static_cast<int64_t>(a[4]));
      }
      break;
    }
    case VG_T_MKDIR:
      path_arg("path", record_.blob(VG_B_PATH), cwd);
      arg_hex("mode", static_cast<uint32_t>(a[1]));
      break;
    case VG_T_MKDIRAT: {
      const int64_t dirfd = as_fd(a[0]);
      const std::string_view base = dirfd_base(dirfd, dirfd_blob);
      arg_fd("dirfd", dirfd);
      path_arg("path", record_.blob(VG_B_PATH), base);
      arg_hex("mode", static_cast<uint32_t>(a[2]));
      break;
    }
    case VG_T_RMDIR:
      path_arg("path", record_.blob(VG_B_PATH), cwd);
      break;
    case VG_T_CHMOD:
      path_arg("filename", record_.blob(VG_B_PATH), cwd);
      arg_named("mode", format_flags(kChmodMode, a[1] & 07777, arena_),
                static_cast<int64_t>(a[1] & 07777));
      break;
    case VG_T_FCHMOD:
      fill_fd_from_blobs(use_fd(as_fd(a[0])));
      arg_fd("fd", as_fd(a[0]));
      arg_named("mode", format_flags(kChmodMode, a[1] & 07777, arena_),
                static_cast<int64_t>(a[1] & 07777));
      break;
    case VG_T_FCHMODAT: {
      const int64_t dirfd = as_fd(a[0]);
      const std::string_view base = dirfd_base(dirfd, dirfd_blob);
      arg_fd("dirfd", dirfd);
      path_arg("filename", record_.blob(VG_B_PATH), base);
      arg_named("mode", format_flags(kChmodMode, a[2] & 07777, arena_),
                static_cast<int64_t>(a[2] & 07777));
      break;
    }
    case VG_T_CHOWN:
      path_arg("path", record_.blob(VG_B_PATH), cwd);
      arg_num("uid", static_cast<int32_t>(a[1]));
      arg_num("gid", static_cast<int32_t>(a[2]));
      break;
    case VG_T_FCHOWN:
      fill_fd_from_blobs(use_fd(as_fd(a[0])));
      arg_fd("fd", as_fd(a[0]));
      arg_num("uid", static_cast<int32_t>(a[1]));
      arg_num("gid", static_cast<int32_t>(a[2]));
      break;
    case VG_T_FCHOWNAT: {
      const int64_t dirfd = as_fd(a[0]);
      const std::string_view base = dirfd_base(dirfd, dirfd_blob);
      arg_fd("dirfd", dirfd);
      path_arg("pathname", record_.blob(VG_B_PATH), base);
      arg_num("uid", static_cast<int32_t>(a[2]));
      arg_num("gid", static_cast<int32_t>(a[3]));
      arg_named("flags", format_flags(kFchownatFlags, a[4], arena_), static_cast<int64_t>(a[4]));
      break;
    }

    // ----- network -----
    case VG_T_SOCKET: {
      FdInfo& fd = use_fd(h.res >= 0 ? h.res : -1);
      fd_socket_dirty_ = true;  // l4proto
      vg_socktuple t{};
      if (record_.socktuple(t)) {
        fill_socket(fd, true, t, kHintGuess);
      } else {
        fd.type = fd_type_of_family(static_cast<int64_t>(a[0]));
        if (fd.type == FdType::kIpv4 || fd.type == FdType::kIpv6) {
          fd.l4proto = l4proto_of(static_cast<unsigned>(a[1]), static_cast<unsigned>(a[2]));
        }
      }
      arg_fd("fd", h.res);
      arg_named("domain", fields::socket_family_name(static_cast<int64_t>(a[0])),
                static_cast<int64_t>(a[0]));
      arg_unsigned("type", static_cast<uint32_t>(a[1]));
      arg_unsigned("proto", static_cast<uint32_t>(a[2]));
      break;
    }
    case VG_T_CONNECT:
    case VG_T_ACCEPT:
    case VG_T_ACCEPT4:
    case VG_T_BIND:
    case VG_T_LISTEN:
    case VG_T_SENDTO:
    case VG_T_SENDMSG:
    case VG_T_RECVFROM:
    case VG_T_RECVMSG: {
      const bool accept = h.type == VG_T_ACCEPT || h.type == VG_T_ACCEPT4;
      const int64_t fdnum = accept ? (h.res >= 0 ? h.res : -1) : as_fd(a[0]);
      FdInfo& fd = use_fd(fdnum);
      fd_socket_dirty_ = true;  // connected is written below even without an address
      fd.name = record_.blob(VG_B_FDPATH);
      vg_socktuple t{};
      const bool have_tuple = record_.socktuple(t);
      int hint = kHintGuess;
      if (h.type == VG_T_CONNECT) {
        hint = kHintClient;
      } else if (accept) {
        hint = kHintServer;
      } else if (h.type == VG_T_BIND || h.type == VG_T_LISTEN) {
        hint = kHintListening;
      }
      fill_socket(fd, have_tuple, t, hint);
      if (h.type == VG_T_CONNECT) {
        fd.connected = h.res == 0;
      } else if (accept) {
        fd.connected = h.res >= 0;
      } else if (hint == kHintGuess) {
        fd.connected = fd.role == SocketRole::kClient || fd.role == SocketRole::kServer;
      }
      // PT_SOCKTUPLE / PT_SOCKADDR text.
      std::string_view tuple_text;
      std::string_view addr_text;
      if (fd.type == FdType::kIpv4 || fd.type == FdType::kIpv6) {
        char buf[128];
        size_t n = 0;
        // "cip:cport->sip:sport", or "sip:sport" without a client end (fd.name's rendering).
        if (fd.sip.family != 0) {
          if (fd.cip.family != 0) {
            n = format_endpoint(fd.cip, fd.cport, buf, 60);
            buf[n++] = '-';
            buf[n++] = '>';
          }
          n += format_endpoint(fd.sip, fd.sport, buf + n, sizeof(buf) - n);
        }
        tuple_text = n != 0 ? arena_.copy(std::string_view(buf, n)) : std::string_view();
        fd.name = tuple_text;
        SockAddr sa;
        if (parse_sockaddr(record_.blob(VG_B_SOCKADDR), sa) &&
            (sa.family == AF_INET || sa.family == AF_INET6)) {
          n = format_endpoint(sa.ip, sa.port, buf, sizeof(buf));
          addr_text = arena_.copy(std::string_view(buf, n));
        }
      } else if (fd.type == FdType::kUnix) {
        tuple_text = fd.name;
        addr_text = fd.name;
      }
      switch (h.type) {
        case VG_T_CONNECT:
          arg_str("tuple", tuple_text);
          arg_fd("fd", fdnum);
          arg_str("addr", addr_text);
          break;
        case VG_T_ACCEPT:
        case VG_T_ACCEPT4:
          arg_fd("fd", fdnum);
          arg_str("tuple", tuple_text);
          if (h.type == VG_T_ACCEPT4) {
            arg_num("flags", static_cast<int32_t>(a[3]));
          }
          break;
        case VG_T_BIND:
          arg_str("addr", addr_text.empty() ? tuple_text : addr_text);
          arg_fd("fd", fdnum);
          break;
        case VG_T_LISTEN:
          arg_fd("fd", fdnum);
          arg_num("backlog", static_cast<int32_t>(a[1]));
          break;
        case VG_T_SENDTO:
          arg_fd("fd", fdnum);
          arg_unsigned("size", static_cast<uint32_t>(a[2]));
          arg_str("tuple", tuple_text);
          break;
        case VG_T_SENDMSG:
          arg_fd("fd", fdnum);
          arg_str("tuple", tuple_text);
          break;
        case VG_T_RECVFROM:
          arg_str("tuple", tuple_text);
          arg_fd("fd", fdnum);
          arg_unsigned("size", static_cast<uint32_t>(a[2]));
          break;
        default:  // recvmsg
          arg_str("tuple", tuple_text);
          arg_fd("fd", fdnum);
          break;
      }
      break;
    }

    // ----- processes -----
    case VG_T_EXECVE:
    case VG_T_EXECVEAT: {
      const fields::ProcessInfo& p = *event_.proc;
      arg_str("exe", p.exe);
      arg_str("args", join_args(p.args, arena_));
      arg_num("tid", p.tid);
      arg_num("pid", p.pid);
      arg_num("ptid", p.ppid);
      arg_str("cwd", p.cwd);
      arg_str("comm", p.name);
      arg_unsigned("tty", p.tty);
      arg_num("pgid", p.vpgid);
      arg_num("loginuid", p.loginuid);
      uint64_t flags = 0;
      flags |= (h.flags & VG_F_EXE_WRITABLE) != 0 ? kExeWritable : 0;
      flags |= (h.flags & VG_F_EXE_UPPER) != 0 ? kExeUpper : 0;
      flags |= (h.flags & VG_F_EXE_MEMFD) != 0 ? kExeMemfd : 0;
      flags |= (h.flags & VG_F_EXE_LOWER) != 0 ? kExeLower : 0;
      arg_named("flags", format_flags(kExecveFlags, flags, arena_), static_cast<int64_t>(flags));
      arg_str("trusted_exepath", p.exepath);
      break;
    }
    case VG_T_CLONE:
    case VG_T_CLONE3:
    case VG_T_FORK_SYSCALL:
    case VG_T_VFORK: {
      const fields::ProcessInfo& p = *event_.proc;
      arg_str("exe", p.exe);
      arg_str("args", join_args(p.args, arena_));
      arg_num("tid", p.tid);
      arg_num("pid", p.pid);
      arg_num("ptid", p.ppid);
      arg_str("cwd", p.cwd);
      arg_str("comm", p.name);
      if (h.type != VG_T_CLONE3) {  // clone3's flags are behind a pointer
        uint64_t flags = 0;
        if (h.type == VG_T_CLONE) {
          flags = a[0] & ~kCloneSignalMask;
        } else if (h.type == VG_T_VFORK) {
          flags = 0x00004000 | 0x00000100;  // CLONE_VFORK | CLONE_VM
        }
        arg_named("flags", format_flags(kCloneFlags, flags, arena_), static_cast<int64_t>(flags));
      }
      arg_unsigned("uid", p.uid);
      arg_unsigned("gid", p.gid);
      arg_num("vtid", p.vtid);
      arg_num("vpid", p.vpid);
      break;
    }
    case VG_T_PROCEXIT: {
      // res is the task's exit_code: (status << 8) | signal, bit 7 set on a core dump.
      const int64_t status = h.res;
      event_.res = 0;
      arg_num("status", status);
      arg_num("ret", (status >> 8) & 0xff);
      const int64_t sig = status & 0x7f;
      arg_named("sig",
                sig > 0 && sig < static_cast<int64_t>(std::size(kSignals)) ? kSignals[sig]
                                                                           : std::string_view(),
                sig);
      arg_num("core", (status & 0x80) != 0 ? 1 : 0);
      break;
    }
    case VG_T_KILL:
    case VG_T_TKILL:
    case VG_T_TGKILL: {
      if (h.type == VG_T_TGKILL) {
        arg_num("pid", static_cast<int32_t>(a[0]));
        arg_num("tid", static_cast<int32_t>(a[1]));
      } else {
        arg_num(h.type == VG_T_KILL ? "pid" : "tid", static_cast<int32_t>(a[0]));
      }
      const int64_t sig = static_cast<int32_t>(a[h.type == VG_T_TGKILL ? 2 : 1]);
      arg_named("sig",
                sig > 0 && sig < static_cast<int64_t>(std::size(kSignals)) ? kSignals[sig]
                                                                           : std::string_view(),
                sig);
      break;
    }
    case VG_T_PTRACE: {
      arg_hex("addr", a[2]);
      arg_hex("data", a[3]);
      const auto request = static_cast<int64_t>(a[0]);
      arg_named("request", fields::ptrace_request_name(request), request);
      arg_num("pid", static_cast<int32_t>(a[1]));
      break;
    }
    case VG_T_PROCESS_VM_READV:
    case VG_T_PROCESS_VM_WRITEV:
      arg_num("pid", static_cast<int32_t>(a[0]));
      break;

    // ----- credentials -----
    case VG_T_SETUID:
      arg_id("uid", static_cast<int32_t>(a[0]), false);
      break;
    case VG_T_SETGID:
      arg_id("gid", static_cast<int32_t>(a[0]), true);
      break;
    case VG_T_SETREUID:
      arg_id("ruid", static_cast<int32_t>(a[0]), false);
      arg_id("euid", static_cast<int32_t>(a[1]), false);
      break;
    case VG_T_SETRESUID:
      arg_id("ruid", static_cast<int32_t>(a[0]), false);
      arg_id("euid", static_cast<int32_t>(a[1]), false);
      arg_id("suid", static_cast<int32_t>(a[2]), false);
      break;
    case VG_T_SETRESGID:
      arg_id("rgid", static_cast<int32_t>(a[0]), true);
      arg_id("egid", static_cast<int32_t>(a[1]), true);
      arg_id("sgid", static_cast<int32_t>(a[2]), true);
      break;
    case VG_T_CAPSET:
      arg_hex("cap_inheritable", h.cap_inheritable);
      arg_hex("cap_permitted", h.cap_permitted);
      arg_hex("cap_effective", h.cap_effective);
      break;
    case VG_T_PRCTL: {
      const auto option = static_cast<int64_t>(static_cast<int32_t>(a[0]));
      arg_named("option", find_name(kPrctlOptions, option), option);
      arg_str("arg2_str", record_.blob(VG_B_PATH));
      arg_num("arg2_int", static_cast<int64_t>(a[1]));
      break;
    }
    case VG_T_SETSID:
      break;

    // ----- namespaces, mounts, roots, cwd -----
    case VG_T_SETNS:
      fill_fd_from_blobs(use_fd(as_fd(a[0])));
      arg_fd("fd", as_fd(a[0]));
      arg_named("nstype", format_flags(kCloneFlags, a[1], arena_), static_cast<int64_t>(a[1]));
      break;
    case VG_T_UNSHARE:
      arg_named("flags", format_flags(kCloneFlags, a[0], arena_), static_cast<int64_t>(a[0]));
      break;
    case VG_T_MOUNT:
      arg_str("dev", record_.blob(VG_B_PATH));
      path_arg("dir", record_.blob(VG_B_PATH2), cwd);
      arg_hex("flags", static_cast<uint32_t>(a[3]));
      break;
    case VG_T_UMOUNT2:
      path_arg("name", record_.blob(VG_B_PATH), cwd);
      arg_named("flags", format_flags(kUmountFlags, a[1], arena_), static_cast<int64_t>(a[1]));
      break;
    case VG_T_CHROOT:
      path_arg("path", record_.blob(VG_B_PATH), cwd);
      break;
    case VG_T_PIVOT_ROOT:
      path_arg("new_root", record_.blob(VG_B_PATH), cwd);
      path_arg("put_old", record_.blob(VG_B_PATH2), cwd);
      break;
    case VG_T_CHDIR:
      arg_str("path", record_.blob(VG_B_PATH));
      break;
    case VG_T_FCHDIR:
      fill_fd_from_blobs(use_fd(as_fd(a[0])));
      arg_fd("fd", as_fd(a[0]));
      break;

    // ----- modules, bpf, memory -----
    case VG_T_INIT_MODULE:
      arg_unsigned("length", a[1]);
      arg_str("uargs", record_.blob(VG_B_PATH));
      break;
    case VG_T_FINIT_MODULE:
      fill_fd_from_blobs(use_fd(as_fd(a[0])));
      arg_fd("fd", as_fd(a[0]));
      arg_str("uargs", record_.blob(VG_B_PATH));
      arg_num("flags", static_cast<int32_t>(a[2]));
      break;
    case VG_T_DELETE_MODULE:
      arg_str("name", record_.blob(VG_B_PATH));
      arg_num("flags", static_cast<int32_t>(a[1]));
      break;
    case VG_T_BPF: {
      FdInfo& fd = use_fd(h.res >= 0 ? h.res : -1);
      fill_fd_from_blobs(fd);
      if (fd.type == FdType::kUnknown && h.res >= 0) {
        fd.type = FdType::kBpf;
      }
      arg_fd("fd", h.res);
      const auto cmd = static_cast<int64_t>(static_cast<int32_t>(a[0]));
      arg_named("cmd",
                cmd >= 0 && cmd < static_cast<int64_t>(std::size(kBpfCommands))
                    ? kBpfCommands[cmd]
                    : std::string_view(),
                cmd);
      break;
    }
    case VG_T_MEMFD_CREATE: {
      FdInfo& fd = use_fd(h.res >= 0 ? h.res : -1);
      fd.type = FdType::kMemfd;
      fd.name = record_.blob(VG_B_PATH);
      arg_fd("fd", h.res);
      arg_str("name", record_.blob(VG_B_PATH));
      arg_named("flags", format_flags(kMemfdFlags, a[1], arena_), static_cast<int64_t>(a[1]));
      break;
    }
    case VG_T_USERFAULTFD: {
      FdInfo& fd = use_fd(h.res >= 0 ? h.res : -1);
      fd.type = FdType::kUserfaultfd;
      const auto flags = static_cast<uint32_t>(a[0]);
      arg_named("flags", open_flags_text(flags), flags);
      break;
    }
    case VG_T_IO_URING_SETUP: {
      FdInfo& fd = use_fd(h.res >= 0 ? h.res : -1);
      fd.type = FdType::kIoUring;
      arg_unsigned("entries", static_cast<uint32_t>(a[0]));
      break;
    }
    default:
      break;
  }
}

}  // namespace vigil::agent
