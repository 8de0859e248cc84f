#include "common/fields/syscall_event.h"

#include <fcntl.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/base/json_depth.h"

namespace vigil::fields {

// =============================================================================================
// Event types
// =============================================================================================

namespace {

struct TypeEntry {
  SyscallType type;
  std::string_view name;
  uint32_t flags;
};

constexpr uint32_t kCreates = kTypeCreatesFd;
constexpr uint32_t kUses = kTypeUsesFd;

// In enum order; checked by types_in_enum_order() below.
constexpr std::array<TypeEntry, kSyscallTypeCount> kTypes = {{
    {SyscallType::kClone, "clone", kTypeNone},
    {SyscallType::kClone3, "clone3", kTypeNone},
    {SyscallType::kFork, "fork", kTypeNone},
    {SyscallType::kVfork, "vfork", kTypeNone},
    {SyscallType::kExecve, "execve", kTypeNone},
    {SyscallType::kExecveat, "execveat", kTypeNone},
    {SyscallType::kProcexit, "procexit", kTypeNotSyscall},
    {SyscallType::kSetuid, "setuid", kTypeNone},
    {SyscallType::kSetgid, "setgid", kTypeNone},
    {SyscallType::kSetreuid, "setreuid", kTypeNone},
    {SyscallType::kSetregid, "setregid", kTypeNone},
    {SyscallType::kSetresuid, "setresuid", kTypeNone},
    {SyscallType::kSetresgid, "setresgid", kTypeNone},
    {SyscallType::kCapset, "capset", kTypeNone},
    {SyscallType::kPrctl, "prctl", kTypeNone},
    {SyscallType::kSetsid, "setsid", kTypeNone},
    {SyscallType::kSetpgid, "setpgid", kTypeNone},
    {SyscallType::kSetns, "setns", kUses},
    {SyscallType::kUnshare, "unshare", kTypeNone},
    {SyscallType::kMount, "mount", kTypeNone},
    {SyscallType::kUmount, "umount", kTypeNone},
    {SyscallType::kUmount2, "umount2", kTypeNone},
    {SyscallType::kChroot, "chroot", kTypeNone},
    {SyscallType::kPivotRoot, "pivot_root", kTypeNone},
    {SyscallType::kChdir, "chdir", kTypeNone},
    {SyscallType::kFchdir, "fchdir", kUses},
    {SyscallType::kInitModule, "init_module", kTypeNone},
    {SyscallType::kFinitModule, "finit_module", kUses},
    {SyscallType::kDeleteModule, "delete_module", kTypeNone},
    {SyscallType::kBpf, "bpf", kCreates},
    {SyscallType::kPtrace, "ptrace", kTypeNone},
    {SyscallType::kProcessVmReadv, "process_vm_readv", kTypeNone},
    {SyscallType::kProcessVmWritev, "process_vm_writev", kTypeNone},
    {SyscallType::kMemfdCreate, "memfd_create", kCreates},
    {SyscallType::kMmap, "mmap", kUses},
    {SyscallType::kMprotect, "mprotect", kTypeNone},
    {SyscallType::kUserfaultfd, "userfaultfd", kCreates},
    {SyscallType::kIoUringSetup, "io_uring_setup", kCreates},
    {SyscallType::kSeccomp, "seccomp", kTypeNone},
    {SyscallType::kKill, "kill", kTypeNone},
    {SyscallType::kTkill, "tkill", kTypeNone},
    {SyscallType::kTgkill, "tgkill", kTypeNone},
    {SyscallType::kOpen, "open", kCreates | kTypeOpen},
    {SyscallType::kOpenat, "openat", kCreates | kTypeOpen},
    {SyscallType::kOpenat2, "openat2", kCreates | kTypeOpen},
    {SyscallType::kOpenByHandleAt, "open_by_handle_at", kCreates | kTypeOpen},
    {SyscallType::kCreat, "creat", kCreates},
    {SyscallType::kClose, "close", kUses},
    {SyscallType::kDup, "dup", kCreates | kUses},
    {SyscallType::kDup2, "dup2", kCreates | kUses},
    {SyscallType::kDup3, "dup3", kCreates | kUses},
    {SyscallType::kPipe, "pipe", kCreates},
    {SyscallType::kPipe2, "pipe2", kCreates},
    {SyscallType::kRead, "read", kUses | kTypeReadsFd},
    {SyscallType::kWrite, "write", kUses | kTypeWritesFd},
    {SyscallType::kIoctl, "ioctl", kUses},
    {SyscallType::kLink, "link", kTypeNone},
    {SyscallType::kLinkat, "linkat", kTypeNone},
    {SyscallType::kSymlink, "symlink", kTypeNone},
    {SyscallType::kSymlinkat, "symlinkat", kTypeNone},
    {SyscallType::kUnlink, "unlink", kTypeNone},
    {SyscallType::kUnlinkat, "unlinkat", kTypeNone},
    {SyscallType::kRename, "rename", kTypeNone},
    {SyscallType::kRenameat, "renameat", kTypeNone},
    {SyscallType::kRenameat2, "renameat2", kTypeNone},
    {SyscallType::kMkdir, "mkdir", kTypeNone},
    {SyscallType::kMkdirat, "mkdirat", kTypeNone},
    {SyscallType::kRmdir, "rmdir", kTypeNone},
    {SyscallType::kMknod, "mknod", kTypeNone},
    {SyscallType::kMknodat, "mknodat", kTypeNone},
    {SyscallType::kChmod, "chmod", kTypeNone},
    {SyscallType::kFchmod, "fchmod", kUses},
    {SyscallType::kFchmodat, "fchmodat", kTypeNone},
    {SyscallType::kChown, "chown", kTypeNone},
    {SyscallType::kFchown, "fchown", kUses},
    {SyscallType::kFchownat, "fchownat", kTypeNone},
    {SyscallType::kSocket, "socket", kCreates},
    {SyscallType::kSocketpair, "socketpair", kCreates},
    {SyscallType::kConnect, "connect", kUses},
    {SyscallType::kBind, "bind", kUses},
    {SyscallType::kListen, "listen", kUses},
    {SyscallType::kAccept, "accept", kCreates | kUses},
    {SyscallType::kAccept4, "accept4", kCreates | kUses},
    {SyscallType::kSetsockopt, "setsockopt", kUses},
    {SyscallType::kSendto, "sendto", kUses | kTypeWritesFd},
    {SyscallType::kSendmsg, "sendmsg", kUses | kTypeWritesFd},
    {SyscallType::kSendmmsg, "sendmmsg", kUses | kTypeWritesFd},
    {SyscallType::kRecvfrom, "recvfrom", kUses | kTypeReadsFd},
    {SyscallType::kRecvmsg, "recvmsg", kUses | kTypeReadsFd},
}};

constexpr bool types_in_enum_order() {
  for (size_t i = 0; i < kTypes.size(); ++i) {
    if (static_cast<size_t>(kTypes[i].type) != i) {
      return false;
    }
  }
  return true;
}
static_assert(types_in_enum_order(), "kTypes must list SyscallType values in enum order");
static_assert(kSyscallTypeCount <= 100, "keep the type table small: it is a BPF bitmap too");

// Type ids sorted by name, built at compile time, for binary search.
constexpr std::array<uint16_t, kSyscallTypeCount> make_sorted_ids() {
  std::array<uint16_t, kSyscallTypeCount> ids{};
  for (size_t i = 0; i < ids.size(); ++i) {
    ids[i] = static_cast<uint16_t>(i);
  }
  std::sort(ids.begin(), ids.end(),
            [](uint16_t a, uint16_t b) { return kTypes[a].name < kTypes[b].name; });
  return ids;
}
constexpr std::array<uint16_t, kSyscallTypeCount> kSortedIds = make_sorted_ids();

}  // namespace

std::string_view syscall_type_name(uint16_t id) {
  return id < kTypes.size() ? kTypes[id].name : std::string_view();
}

int syscall_type_id(std::string_view name) {
  auto it = std::lower_bound(kSortedIds.begin(), kSortedIds.end(), name,
                             [](uint16_t id, std::string_view n) { return kTypes[id].name < n; });
  if (it == kSortedIds.end() || kTypes[*it].name != name) {
    return -1;
  }
  return *it;
}

constexpr bool open_types_agree() {
  for (const TypeEntry& e : kTypes) {
    if (is_open_type(e.type) != ((e.flags & kTypeOpen) != 0)) {
      return false;
    }
  }
  return true;
}
static_assert(open_types_agree(), "is_open_type() and the kTypeOpen flags disagree");

uint32_t syscall_type_flags(SyscallType t) {
  const auto id = static_cast<size_t>(t);
  return id < kTypes.size() ? kTypes[id].flags : kTypeNone;
}

// =============================================================================================
// Fd types, protocols
// =============================================================================================

namespace {
struct FdTypeEntry {
  FdType type;
  std::string_view name;
  char typechar;
};
constexpr FdTypeEntry kFdTypes[] = {
    {FdType::kUnknown, "<NA>", 'o'},
    {FdType::kFile, "file", 'f'},
    {FdType::kDirectory, "directory", 'd'},
    {FdType::kIpv4, "ipv4", '4'},
    {FdType::kIpv6, "ipv6", '6'},
    {FdType::kUnix, "unix", 'u'},
    {FdType::kPipe, "pipe", 'p'},
    {FdType::kEvent, "event", 'e'},
    {FdType::kSignalfd, "signalfd", 's'},
    {FdType::kEventpoll, "eventpoll", 'l'},
    {FdType::kInotify, "inotify", 'i'},
    {FdType::kTimerfd, "timerfd", 't'},
    {FdType::kNetlink, "netlink", 'n'},
    {FdType::kBpf, "bpf", 'b'},
    {FdType::kUserfaultfd, "userfaultfd", 'u'},
    {FdType::kIoUring, "io_uring", 'r'},
    {FdType::kMemfd, "memfd", 'm'},
    {FdType::kPidfd, "pidfd", 'P'},
};
}  // namespace

std::string_view fd_type_name(FdType t) {
  const auto i = static_cast<size_t>(t);
  return i < std::size(kFdTypes) ? kFdTypes[i].name : "<NA>";
}

char fd_type_char(FdType t) {
  const auto i = static_cast<size_t>(t);
  return i < std::size(kFdTypes) ? kFdTypes[i].typechar : 'o';
}

bool parse_fd_type(std::string_view name, FdType& out) {
  for (const FdTypeEntry& e : kFdTypes) {
    if (e.name == name && e.type != FdType::kUnknown) {
      out = e.type;
      return true;
    }
  }
  return false;
}

std::string_view l4proto_name(L4Proto p) {
  switch (p) {
    case L4Proto::kTcp:
      return "tcp";
    case L4Proto::kUdp:
      return "udp";
    case L4Proto::kIcmp:
      return "icmp";
    case L4Proto::kRaw:
      return "raw";
    case L4Proto::kUnknown:
      break;
  }
  return "<NA>";
}

// =============================================================================================
// Formatting helpers
// =============================================================================================

namespace {

struct NamedValue {
  int64_t value;
  std::string_view name;
};

#define VIGIL_E(x) \
  { x, #x }
// This architecture's errno values (the agent runs where it was built).
constexpr NamedValue kErrnos[] = {
    VIGIL_E(EPERM),           VIGIL_E(ENOENT),       VIGIL_E(ESRCH),
    VIGIL_E(EINTR),           VIGIL_E(EIO),          VIGIL_E(ENXIO),
    VIGIL_E(E2BIG),           VIGIL_E(ENOEXEC),      VIGIL_E(EBADF),
    VIGIL_E(ECHILD),          VIGIL_E(EAGAIN),       VIGIL_E(ENOMEM),
    VIGIL_E(EACCES),          VIGIL_E(EFAULT),       VIGIL_E(ENOTBLK),
    VIGIL_E(EBUSY),           VIGIL_E(EEXIST),       VIGIL_E(EXDEV),
    VIGIL_E(ENODEV),          VIGIL_E(ENOTDIR),      VIGIL_E(EISDIR),
    VIGIL_E(EINVAL),          VIGIL_E(ENFILE),       VIGIL_E(EMFILE),
    VIGIL_E(ENOTTY),          VIGIL_E(ETXTBSY),      VIGIL_E(EFBIG),
    VIGIL_E(ENOSPC),          VIGIL_E(ESPIPE),       VIGIL_E(EROFS),
    VIGIL_E(EMLINK),          VIGIL_E(EPIPE),        VIGIL_E(EDOM),
    VIGIL_E(ERANGE),          VIGIL_E(EDEADLK),      VIGIL_E(ENAMETOOLONG),
    VIGIL_E(ENOLCK),          VIGIL_E(ENOSYS),       VIGIL_E(ENOTEMPTY),
    VIGIL_E(ELOOP),           VIGIL_E(ENOMSG),       VIGIL_E(EIDRM),
    VIGIL_E(ENOSTR),          VIGIL_E(ENODATA),      VIGIL_E(ETIME),
    VIGIL_E(ENOSR),           VIGIL_E(ENONET),       VIGIL_E(EREMOTE),
    VIGIL_E(ENOLINK),         VIGIL_E(EPROTO),       VIGIL_E(EMULTIHOP),
    VIGIL_E(EBADMSG),         VIGIL_E(EOVERFLOW),    VIGIL_E(EBADFD),
    VIGIL_E(EILSEQ),          VIGIL_E(ERESTART),     VIGIL_E(EUSERS),
    VIGIL_E(ENOTSOCK),        VIGIL_E(EDESTADDRREQ), VIGIL_E(EMSGSIZE),
    VIGIL_E(EPROTOTYPE),      VIGIL_E(ENOPROTOOPT),  VIGIL_E(EPROTONOSUPPORT),
    VIGIL_E(ESOCKTNOSUPPORT), VIGIL_E(EOPNOTSUPP),   VIGIL_E(EPFNOSUPPORT),
    VIGIL_E(EAFNOSUPPORT),    VIGIL_E(EADDRINUSE),   VIGIL_E(EADDRNOTAVAIL),
    VIGIL_E(ENETDOWN),        VIGIL_E(ENETUNREACH),  VIGIL_E(ENETRESET),
    VIGIL_E(ECONNABORTED),    VIGIL_E(ECONNRESET),   VIGIL_E(ENOBUFS),
    VIGIL_E(EISCONN),         VIGIL_E(ENOTCONN),     VIGIL_E(ESHUTDOWN),
    VIGIL_E(ETOOMANYREFS),    VIGIL_E(ETIMEDOUT),    VIGIL_E(ECONNREFUSED),
    VIGIL_E(EHOSTDOWN),       VIGIL_E(EHOSTUNREACH), VIGIL_E(EALREADY),
    VIGIL_E(EINPROGRESS),     VIGIL_E(ESTALE),       VIGIL_E(EDQUOT),
    VIGIL_E(ENOMEDIUM),       VIGIL_E(EMEDIUMTYPE),  VIGIL_E(ECANCELED),
    VIGIL_E(ENOKEY),          VIGIL_E(EKEYEXPIRED),  VIGIL_E(EKEYREVOKED),
    VIGIL_E(EKEYREJECTED),    VIGIL_E(EOWNERDEAD),   VIGIL_E(ENOTRECOVERABLE),
    VIGIL_E(ERFKILL),         VIGIL_E(EHWPOISON),
};
#undef VIGIL_E

// Kernel's O_LARGEFILE (glibc defines it as 0 on 64-bit targets, the kernel does not).
#if defined(__aarch64__) || defined(__arm__)
constexpr uint32_t kKernelLargefile = 0400000;
#else
constexpr uint32_t kKernelLargefile = 0100000;
#endif

struct FlagName {
  uint32_t bits;
  std::string_view name;
};
// Falco's order (driver/flags_table.c), then the flags Falco prints at the end. Multi-bit flags
// come before the flags they contain (O_TMPFILE includes O_DIRECTORY, O_SYNC includes O_DSYNC).
constexpr FlagName kOpenFlagsBefore[] = {
    {O_TMPFILE, "O_TMPFILE"},     {kKernelLargefile, "O_LARGEFILE"},
    {O_DIRECTORY, "O_DIRECTORY"}, {O_DIRECT, "O_DIRECT"},
    {O_TRUNC, "O_TRUNC"},         {O_SYNC, "O_SYNC"},
    {O_NONBLOCK, "O_NONBLOCK"},   {O_EXCL, "O_EXCL"},
    {O_DSYNC, "O_DSYNC"},         {O_APPEND, "O_APPEND"},
    {O_CREAT, "O_CREAT"},
};
constexpr FlagName kOpenFlagsAfter[] = {
    {O_CLOEXEC, "O_CLOEXEC"}, {O_NOFOLLOW, "O_NOFOLLOW"}, {O_NOATIME, "O_NOATIME"},
    {O_NOCTTY, "O_NOCTTY"},   {O_PATH, "O_PATH"},         {O_ASYNC, "O_ASYNC"},
};

constexpr std::string_view kCapNames[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

constexpr NamedValue kPtraceRequests[] = {
    {0, "PTRACE_TRACEME"},
    {1, "PTRACE_PEEKTEXT"},
    {2, "PTRACE_PEEKDATA"},
    {3, "PTRACE_PEEKUSR"},
    {4, "PTRACE_POKETEXT"},
    {5, "PTRACE_POKEDATA"},
    {6, "PTRACE_POKEUSR"},
    {7, "PTRACE_CONT"},
    {8, "PTRACE_KILL"},
    {9, "PTRACE_SINGLESTEP"},
    {12, "PTRACE_GETREGS"},
    {13, "PTRACE_SETREGS"},
    {14, "PTRACE_GETFPREGS"},
    {15, "PTRACE_SETFPREGS"},
    {16, "PTRACE_ATTACH"},
    {17, "PTRACE_DETACH"},
    {18, "PTRACE_GETFPXREGS"},
    {19, "PTRACE_SETFPXREGS"},
    {24, "PTRACE_SYSCALL"},
    {25, "PTRACE_GET_THREAD_AREA"},
    {26, "PTRACE_SET_THREAD_AREA"},
    {30, "PTRACE_ARCH_PRCTL"},
    {31, "PTRACE_SYSEMU"},
    {32, "PTRACE_SYSEMU_SINGLESTEP"},
    {33, "PTRACE_SINGLEBLOCK"},
    {0x4200, "PTRACE_SETOPTIONS"},
    {0x4201, "PTRACE_GETEVENTMSG"},
    {0x4202, "PTRACE_GETSIGINFO"},
    {0x4203, "PTRACE_SETSIGINFO"},
    {0x4204, "PTRACE_GETREGSET"},
    {0x4205, "PTRACE_SETREGSET"},
    {0x4206, "PTRACE_SEIZE"},
    {0x4207, "PTRACE_INTERRUPT"},
    {0x4208, "PTRACE_LISTEN"},
    {0x4209, "PTRACE_PEEKSIGINFO"},
    {0x420a, "PTRACE_GETSIGMASK"},
    {0x420b, "PTRACE_SETSIGMASK"},
    {0x420c, "PTRACE_SECCOMP_GET_FILTER"},
    {0x420d, "PTRACE_SECCOMP_GET_METADATA"},
    {0x420e, "PTRACE_GET_SYSCALL_INFO"},
};

constexpr NamedValue kSocketFamilies[] = {
    {0, "AF_UNSPEC"},      {1, "AF_UNIX"},      {2, "AF_INET"},      {3, "AF_AX25"},
    {4, "AF_IPX"},         {5, "AF_APPLETALK"}, {6, "AF_NETROM"},    {7, "AF_BRIDGE"},
    {8, "AF_ATMPVC"},      {9, "AF_X25"},       {10, "AF_INET6"},    {11, "AF_ROSE"},
    {12, "AF_DECnet"},     {13, "AF_NETBEUI"},  {14, "AF_SECURITY"}, {15, "AF_KEY"},
    {16, "AF_NETLINK"},    {17, "AF_PACKET"},   {18, "AF_ASH"},      {19, "AF_ECONET"},
    {20, "AF_ATMSVC"},     {21, "AF_RDS"},      {22, "AF_SNA"},      {23, "AF_IRDA"},
    {24, "AF_PPPOX"},      {25, "AF_WANPIPE"},  {26, "AF_LLC"},      {27, "AF_IB"},
    {28, "AF_MPLS"},       {29, "AF_CAN"},      {30, "AF_TIPC"},     {31, "AF_BLUETOOTH"},
    {32, "AF_IUCV"},       {33, "AF_RXRPC"},    {34, "AF_ISDN"},     {35, "AF_PHONET"},
    {36, "AF_IEEE802154"}, {37, "AF_CAIF"},     {38, "AF_ALG"},      {39, "AF_NFC"},
    {40, "AF_VSOCK"},      {41, "AF_KCM"},      {42, "AF_QIPCRTR"},  {43, "AF_SMC"},
    {44, "AF_XDP"},        {45, "AF_MCTP"},
};

std::string_view find_name(std::span<const NamedValue> table, int64_t value) {
  for (const NamedValue& e : table) {
    if (e.value == value) {
      return e.name;
    }
  }
  return {};
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'a' && a[i] <= 'z' ? static_cast<char>(a[i] - 32) : a[i];
    char y = b[i] >= 'a' && b[i] <= 'z' ? static_cast<char>(b[i] - 32) : b[i];
    if (x != y) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string_view errno_name(int64_t err) { return find_name(kErrnos, err < 0 ? -err : err); }

int errno_from_name(std::string_view name) {
  for (const NamedValue& e : kErrnos) {
    if (e.name == name) {
      return static_cast<int>(e.value);
    }
  }
  return 0;
}

std::string format_open_flags(uint32_t flags) {
  std::string out;
  auto add = [&out](std::string_view name) {
    if (!out.empty()) {
      out += '|';
    }
    out += name;
  };
  uint32_t rest = flags & ~static_cast<uint32_t>(O_ACCMODE);
  for (const FlagName& f : kOpenFlagsBefore) {
    if ((rest & f.bits) == f.bits) {
      add(f.name);
      rest &= ~f.bits;
    }
  }
  switch (flags & O_ACCMODE) {
    case O_WRONLY:
      add("O_WRONLY");
      break;
    case O_RDWR:
      add("O_RDWR");
      break;
    default:
      add("O_RDONLY");
      break;
  }
  for (const FlagName& f : kOpenFlagsAfter) {
    if ((rest & f.bits) == f.bits) {
      add(f.name);
      rest &= ~f.bits;
    }
  }
  return out;
}

bool parse_open_flags(std::string_view text, uint32_t& out) {
  uint32_t flags = 0;
  while (!text.empty()) {
    const size_t bar = text.find('|');
    std::string_view name = trim(text.substr(0, bar));
    text = bar == std::string_view::npos ? std::string_view() : text.substr(bar + 1);
    if (name.empty()) {
      return false;
    }
    if (name == "O_RDONLY" || name == "O_NONE" || name == "O_F_CREATED") {
      continue;
    }
    if (name == "O_WRONLY") {
      flags |= O_WRONLY;
      continue;
    }
    if (name == "O_RDWR") {
      flags |= O_RDWR;
      continue;
    }
    bool found = false;
    for (std::span<const FlagName> table : {std::span<const FlagName>(kOpenFlagsBefore),
                                            std::span<const FlagName>(kOpenFlagsAfter)}) {
      for (const FlagName& f : table) {
        if (f.name == name) {
          flags |= f.bits;
          found = true;
        }
      }
    }
    if (!found) {
      return false;
    }
  }
  out = flags;
  return true;
}

std::string_view format_capabilities(uint64_t caps, Arena& arena) {
  if (caps == 0) {
    return {};
  }
  size_t len = 0;
  for (size_t i = 0; i < std::size(kCapNames); ++i) {
    if ((caps >> i) & 1) {
      len += kCapNames[i].size() + 1;
    }
  }
  if (len == 0) {
    return {};
  }
  char* p = arena.allocate(len);
  size_t pos = 0;
  for (size_t i = 0; i < std::size(kCapNames); ++i) {
    if ((caps >> i) & 1) {
      if (pos != 0) {
        p[pos++] = ' ';
      }
      std::memcpy(p + pos, kCapNames[i].data(), kCapNames[i].size());
      pos += kCapNames[i].size();
    }
  }
  return {p, pos};
}

bool parse_capabilities(std::string_view text, uint64_t& out) {
  uint64_t caps = 0;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '\t')) {
      ++i;
    }
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != ',' && text[j] != '\t') {
      ++j;
    }
    if (j == i) {
      break;
    }
    std::string_view name = text.substr(i, j - i);
    if (name.size() > 4 && iequals(name.substr(0, 4), "CAP_")) {
      name.remove_prefix(4);
    }
    bool found = false;
    for (size_t bit = 0; bit < std::size(kCapNames); ++bit) {
      if (iequals(kCapNames[bit].substr(4), name)) {
        caps |= uint64_t{1} << bit;
        found = true;
        break;
      }
    }
    if (!found) {
      return false;
    }
    i = j;
  }
  out = caps;
  return true;
}

std::string_view ptrace_request_name(int64_t request) {
  return find_name(kPtraceRequests, request);
}

std::string_view socket_family_name(int64_t family) { return find_name(kSocketFamilies, family); }

// =============================================================================================
// SyscallEventStore
// =============================================================================================

SyscallEventStore::SyscallEventStore() = default;
SyscallEventStore::~SyscallEventStore() = default;

void SyscallEventStore::clear() {
  event_ = SyscallEvent{};
  arena_.reset();
  for (size_t i = 0; i < nprocesses_; ++i) {
    processes_[i] = ProcessInfo{};
  }
  nprocesses_ = 0;
  fd_ = FdInfo{};
  container_ = ContainerInfo{};
  k8s_ = K8sInfo{};
  labels_.clear();
  fd_refs_.clear();
}

ProcessInfo& SyscallEventStore::add_process() {
  assert(nprocesses_ < processes_.size());
  return processes_[nprocesses_++];
}

// =============================================================================================
// JSON decoding
// =============================================================================================

namespace {

using Json = nlohmann::ordered_json;

constexpr size_t kMaxJsonBytes = 1 << 20;
// Objects nest at most: event > proc > parent x kMaxAncestorDepth > user/fds > item.
constexpr int kMaxJsonDepth = kMaxAncestorDepth + 8;

// Rejects nesting beyond kMaxJsonDepth before nlohmann builds (and later recursively destroys)
// a tree from it.
bool nesting_within(std::string_view s, int max_depth) { return json_nesting_within(s, max_depth); }

const char* json_type(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    default:
      return "value";
  }
}

std::string_view basename_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

class Decoder {
 public:
  explicit Decoder(SyscallEventStore& store) : store_(store) {}

  bool decode(const Json& root);
  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& path, const std::string& message) {
    if (error_.empty()) {
      error_ = path.empty() ? message : path + ": " + message;
    }
    return false;
  }
  bool expect(const Json& v, const std::string& path, bool ok, const char* what) {
    return ok || fail(path, std::string("expected ") + what + ", got " + json_type(v));
  }

  bool get_int(const Json& v, const std::string& path, int64_t& out, int64_t min, int64_t max);
  bool get_uint64(const Json& v, const std::string& path, uint64_t& out);
  bool get_bool(const Json& v, const std::string& path, bool& out);
  bool get_tri(const Json& v, const std::string& path, uint8_t& out);
  bool get_str(const Json& v, const std::string& path, std::string_view& out);
  bool get_ip(const Json& v, const std::string& path, IpAddr& out);
  bool get_caps(const Json& v, const std::string& path, uint64_t& out);
  bool get_nul_list(const Json& v, const std::string& path, std::string_view& out);
  bool get_fd_type(const Json& v, const std::string& path, FdType& out);
  template <typename E, size_t N>
  bool get_enum(const Json& v, const std::string& path,
                const std::pair<std::string_view, E> (&table)[N], E& out, const char* choices) {
    if (!expect(v, path, v.is_string(), choices)) {
      return false;
    }
    const auto& s = v.get_ref<const std::string&>();
    for (const auto& [name, value] : table) {
      if (name == s) {
        out = value;
        return true;
      }
    }
    return fail(path, "unknown value '" + s + "' (expected " + choices + ")");
  }

  bool decode_evt(const Json& o);
  bool decode_arg(const std::string& path, const std::string& name, const Json& v);
  bool decode_process(const Json& o, const std::string& path, int depth, ProcessInfo*& out);
  bool decode_user(const Json& o, const std::string& path, ProcessInfo& p);
  bool decode_group(const Json& o, const std::string& path, ProcessInfo& p);
  bool decode_fds(const Json& v, const std::string& path, ProcessInfo& p);
  bool decode_fd(const Json& o);
  bool decode_container(const Json& o);
  bool decode_k8s(const Json& o);
  ProcessInfo& main_process();

  SyscallEventStore& store_;
  ProcessInfo* main_ = nullptr;  // the event's process, created on first use
  std::string error_;
};

bool Decoder::get_int(const Json& v, const std::string& path, int64_t& out, int64_t min,
                      int64_t max) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(max)) {
      return fail(path, "integer " + std::to_string(u) + " out of range");
    }
    out = static_cast<int64_t>(u);
    return true;
  }
  if (!expect(v, path, v.is_number_integer(), "an integer")) {
    return false;
  }
  const int64_t i = v.get<int64_t>();
  if (i < min || i > max) {
    return fail(path, "integer " + std::to_string(i) + " out of range");
  }
  out = i;
  return true;
}

bool Decoder::get_uint64(const Json& v, const std::string& path, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (!expect(v, path, v.is_number_integer(), "a non-negative integer")) {
    return false;
  }
  const int64_t i = v.get<int64_t>();
  if (i < 0) {
    return fail(path, "expected a non-negative integer, got " + std::to_string(i));
  }
  out = static_cast<uint64_t>(i);
  return true;
}

bool Decoder::get_bool(const Json& v, const std::string& path, bool& out) {
  if (!expect(v, path, v.is_boolean(), "a boolean")) {
    return false;
  }
  out = v.get<bool>();
  return true;
}

bool Decoder::get_tri(const Json& v, const std::string& path, uint8_t& out) {
  bool b = false;
  if (!get_bool(v, path, b)) {
    return false;
  }
  out = b ? kTriTrue : kTriFalse;
  return true;
}

bool Decoder::get_str(const Json& v, const std::string& path, std::string_view& out) {
  if (!expect(v, path, v.is_string(), "a string")) {
    return false;
  }
  out = store_.intern(v.get_ref<const std::string&>());
  return true;
}

bool Decoder::get_ip(const Json& v, const std::string& path, IpAddr& out) {
  if (!expect(v, path, v.is_string(), "an IP address string")) {
    return false;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (!parse_ip(s, out, false)) {
    return fail(path, "invalid IP address '" + s + "'");
  }
  return true;
}

bool Decoder::get_caps(const Json& v, const std::string& path, uint64_t& out) {
  if (v.is_number_integer()) {
    return get_uint64(v, path, out);
  }
  std::string joined;
  if (v.is_array()) {
    for (const Json& item : v) {
      if (!expect(item, path, item.is_string(), "capability names")) {
        return false;
      }
      joined += item.get_ref<const std::string&>();
      joined += ' ';
    }
  } else if (v.is_string()) {
    joined = v.get<std::string>();
  } else {
    return expect(v, path, false, "a capability bitmask, string or array");
  }
  if (!parse_capabilities(joined, out)) {
    return fail(path, "unknown capability in '" + joined + "'");
  }
  return true;
}

bool Decoder::get_fd_type(const Json& v, const std::string& path, FdType& out) {
  if (!expect(v, path, v.is_string(), "an fd type")) {
    return false;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (!parse_fd_type(s, out)) {
    return fail(
        path, "unknown fd type '" + s + "' (file, directory, ipv4, ipv6, unix, pipe, memfd, ...)");
  }
  return true;
}

// ["a", "b"] -> "a\0b"
bool Decoder::get_nul_list(const Json& v, const std::string& path, std::string_view& out) {
  if (!expect(v, path, v.is_array(), "an array of strings")) {
    return false;
  }
  std::string joined;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!expect(v[i], path + "[" + std::to_string(i) + "]", v[i].is_string(), "a string")) {
      return false;
    }
    if (i != 0) {
      joined += '\0';
    }
    joined += v[i].get_ref<const std::string&>();
  }
  out = store_.intern(joined);
  return true;
}

bool Decoder::decode(const Json& root) {
  if (!expect(root, "", root.is_object(), "a JSON object")) {
    return false;
  }
  static constexpr std::string_view kKeys[] = {"evt", "proc",      "user", "group",
                                               "fd",  "container", "k8s"};
  for (const auto& [key, value] : root.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      return fail(key, "unknown key (expected evt, proc, user, group, fd, container, k8s)");
    }
  }
  if (!root.contains("evt")) {
    return fail("evt", "missing (every event needs at least {\"evt\":{\"type\":...}})");
  }
  if (!decode_evt(root["evt"])) {
    return false;
  }
  if (root.contains("proc")) {
    ProcessInfo* p = nullptr;
    if (!decode_process(root["proc"], "proc", 0, p)) {
      return false;
    }
  }
  if (root.contains("user") && !decode_user(root["user"], "user", main_process())) {
    return false;
  }
  if (root.contains("group") && !decode_group(root["group"], "group", main_process())) {
    return false;
  }
  if (root.contains("fd") && !decode_fd(root["fd"])) {
    return false;
  }
  if (root.contains("container") && !decode_container(root["container"])) {
    return false;
  }
  if (root.contains("k8s") && !decode_k8s(root["k8s"])) {
    return false;
  }
  return true;
}

ProcessInfo& Decoder::main_process() {
  if (main_ == nullptr) {
    main_ = &store_.add_process();
    store_.mutable_event().proc = main_;
  }
  return *main_;
}

bool Decoder::decode_evt(const Json& o) {
  if (!expect(o, "evt", o.is_object(), "an object")) {
    return false;
  }
  SyscallEvent& ev = store_.mutable_event();
  ev.num = store_.next_event_number();
  if (!o.contains("type")) {
    return fail("evt.type", "missing");
  }
  {
    const Json& t = o["type"];
    if (!expect(t, "evt.type", t.is_string(), "a syscall name")) {
      return false;
    }
    const int id = syscall_type_id(t.get_ref<const std::string&>());
    if (id < 0) {
      return fail("evt.type", "unknown syscall '" + t.get<std::string>() + "'");
    }
    ev.type = static_cast<SyscallType>(id);
  }
  for (const auto& [key, v] : o.items()) {
    const std::string path = "evt." + key;
    bool ok = true;
    if (key == "type") {
      continue;
    } else if (key == "ts") {
      ok = get_uint64(v, path, ev.ts);
    } else if (key == "num") {
      ok = get_uint64(v, path, ev.num);
    } else if (key == "cpu") {
      int64_t cpu = 0;
      ok = get_int(v, path, cpu, 0, UINT16_MAX);
      ev.cpu = static_cast<uint16_t>(cpu);
    } else if (key == "res") {
      if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        const int err = errno_from_name(s);
        if (s == "SUCCESS") {
          ev.res = 0;
        } else if (err != 0) {
          ev.res = -err;
        } else {
          ok = fail(path, "expected an integer, SUCCESS or an errno name, got '" + s + "'");
        }
      } else {
        ok = get_int(v, path, ev.res, INT64_MIN, INT64_MAX);
      }
    } else if (key == "hostname") {
      ok = get_str(v, path, ev.hostname);
    } else if (key == "open_created") {
      bool b = false;
      ok = get_bool(v, path, b);
      if (b) {
        ev.flags |= kEvtOpenCreated;
      }
    } else if (key == "args") {
      if (!expect(v, path, v.is_object(), "an object of argument names to values")) {
        return false;
      }
      for (const auto& [name, value] : v.items()) {
        if (!decode_arg(path + "." + name, name, value)) {
          return false;
        }
      }
    } else {
      ok = fail(path, "unknown key");
    }
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool Decoder::decode_arg(const std::string& path, const std::string& name, const Json& v) {
  SyscallEvent& ev = store_.mutable_event();
  const bool is_open =
      (syscall_type_flags(ev.type) & kTypeOpen) != 0 || ev.type == SyscallType::kCreat;
  SyscallArg arg;
  arg.name = store_.intern(name);
  if (v.is_string()) {
    arg.str = store_.intern(v.get_ref<const std::string&>());
    uint32_t flags = 0;
    if (is_open && name == "flags" && parse_open_flags(arg.str, flags)) {
      arg.num = flags;
      arg.has_num = true;
    }
  } else if (v.is_boolean()) {
    arg.str = v.get<bool>() ? "true" : "false";
  } else if (v.is_number_integer()) {
    if (!get_int(v, path, arg.num, INT64_MIN, INT64_MAX)) {
      return false;
    }
    arg.has_num = true;
    std::string_view text;
    if (is_open && name == "flags") {
      arg.str = store_.intern(format_open_flags(static_cast<uint32_t>(arg.num)));
    } else if (ev.type == SyscallType::kPtrace && name == "request") {
      text = ptrace_request_name(arg.num);
    } else if ((ev.type == SyscallType::kSocket || ev.type == SyscallType::kSocketpair) &&
               name == "domain") {
      text = socket_family_name(arg.num);
    }
    if (!text.empty()) {
      arg.str = text;  // static storage
    } else if (arg.str.empty()) {
      arg.str = store_.intern(std::to_string(arg.num));
    }
  } else {
    return expect(v, path, false, "a string, integer or boolean");
  }
  if (!ev.add_arg(arg)) {
    return fail(path,
                "too many arguments (at most " + std::to_string(SyscallEvent::kMaxArgs) + ")");
  }
  return true;
}

bool Decoder::decode_process(const Json& o, const std::string& path, int depth, ProcessInfo*& out) {
  if (!expect(o, path, o.is_object(), "an object")) {
    return false;
  }
  if (depth > kMaxAncestorDepth) {
    return fail(path,
                "ancestor chain deeper than " + std::to_string(kMaxAncestorDepth) + " levels");
  }
  ProcessInfo& p = depth == 0 ? main_process() : store_.add_process();
  out = &p;
  bool has_tid = false, has_vpid = false, has_vtid = false, has_ppid = false;
  std::string_view cmdline;
  bool has_args = false;
  const Json* parent = nullptr;

  for (const auto& [key, v] : o.items()) {
    const std::string kpath = path + "." + key;
    bool ok = true;
    if (key == "pid") {
      ok = get_int(v, kpath, p.pid, -1, INT64_MAX);
    } else if (key == "tid") {
      ok = get_int(v, kpath, p.tid, -1, INT64_MAX);
      has_tid = true;
    } else if (key == "ppid") {
      ok = get_int(v, kpath, p.ppid, -1, INT64_MAX);
      has_ppid = true;
    } else if (key == "vpid") {
      ok = get_int(v, kpath, p.vpid, -1, INT64_MAX);
      has_vpid = true;
    } else if (key == "vtid") {
      ok = get_int(v, kpath, p.vtid, -1, INT64_MAX);
      has_vtid = true;
    } else if (key == "sid") {
      ok = get_int(v, kpath, p.sid, -1, INT64_MAX);
    } else if (key == "vpgid") {
      ok = get_int(v, kpath, p.vpgid, -1, INT64_MAX);
    } else if (key == "name") {
      ok = get_str(v, kpath, p.name);
    } else if (key == "exe") {
      ok = get_str(v, kpath, p.exe);
    } else if (key == "exepath") {
      ok = get_str(v, kpath, p.exepath);
    } else if (key == "args") {
      ok = get_nul_list(v, kpath, p.args);
      has_args = true;
    } else if (key == "cmdline") {
      ok = get_str(v, kpath, cmdline);
    } else if (key == "env") {
      if (v.is_object()) {
        std::string joined;
        for (const auto& [k, val] : v.items()) {
          if (!expect(val, kpath + "." + k, val.is_string(), "a string")) {
            return false;
          }
          if (!joined.empty()) {
            joined += '\0';
          }
          joined += k + "=" + val.get<std::string>();
        }
        p.env = store_.intern(joined);
      } else {
        ok = get_nul_list(v, kpath, p.env);
      }
    } else if (key == "cwd") {
      ok = get_str(v, kpath, p.cwd);
    } else if (key == "tty") {
      int64_t tty = 0;
      ok = get_int(v, kpath, tty, 0, UINT32_MAX);
      p.tty = static_cast<uint32_t>(tty);
    } else if (key == "loginuid") {
      ok = get_int(v, kpath, p.loginuid, -1, UINT32_MAX);
      if (ok && p.loginuid == UINT32_MAX) {
        p.loginuid = kNoLoginUid;
      }
    } else if (key == "start_ts") {
      ok = get_uint64(v, kpath, p.start_ts);
    } else if (key == "pidns_init_start_ts") {
      ok = get_uint64(v, kpath, p.pidns_init_start_ts);
    } else if (key == "exe_ino") {
      ok = get_uint64(v, kpath, p.exe_ino);
    } else if (key == "exe_ino_ctime") {
      ok = get_uint64(v, kpath, p.exe_ino_ctime);
    } else if (key == "exe_ino_mtime") {
      ok = get_uint64(v, kpath, p.exe_ino_mtime);
    } else if (key == "exe_writable") {
      ok = get_bool(v, kpath, p.exe_writable);
    } else if (key == "exe_upper_layer") {
      ok = get_bool(v, kpath, p.exe_upper_layer);
    } else if (key == "exe_lower_layer") {
      ok = get_bool(v, kpath, p.exe_lower_layer);
    } else if (key == "exe_from_memfd") {
      ok = get_bool(v, kpath, p.exe_from_memfd);
    } else if (key == "cap_effective") {
      ok = get_caps(v, kpath, p.cap_effective);
    } else if (key == "cap_permitted") {
      ok = get_caps(v, kpath, p.cap_permitted);
    } else if (key == "cap_inheritable") {
      ok = get_caps(v, kpath, p.cap_inheritable);
    } else if (key == "container_id") {
      ok = get_str(v, kpath, p.container_id);
    } else if (key == "user") {
      ok = decode_user(v, kpath, p);
    } else if (key == "group") {
      ok = decode_group(v, kpath, p);
    } else if (key == "fds") {
      ok = depth == 0 ? decode_fds(v, kpath, p)
                      : fail(kpath, "only the event's process (proc) can list fds");
    } else if (key == "parent") {
      parent = &v;
    } else {
      ok = fail(kpath, "unknown key");
    }
    if (!ok) {
      return false;
    }
  }

  // Conveniences for hand-written events: `"cmdline": "bash -i"` stands for name "bash" and
  // args ["-i"], since Falco's proc.cmdline is proc.name followed by the arguments.
  if (!cmdline.empty()) {
    const size_t space = cmdline.find(' ');
    const std::string_view first = cmdline.substr(0, space);
    if (!has_args) {
      std::string args;
      if (space != std::string_view::npos) {
        for (char c : cmdline.substr(space + 1)) {
          args += c == ' ' ? '\0' : c;
        }
      }
      p.args = store_.intern(args);
    }
    if (p.exe.empty()) {
      p.exe = first;
    }
    if (p.name.empty()) {
      p.name = basename_of(first).substr(0, 15);
    }
  }
  if (p.name.empty()) {
    p.name = basename_of(!p.exepath.empty() ? p.exepath : p.exe).substr(0, 15);
  }
  if (!has_tid) {
    p.tid = p.pid;
  }
  if (!has_vpid) {
    p.vpid = p.pid;
  }
  if (!has_vtid) {
    p.vtid = p.vpid == p.pid ? p.tid : p.vpid;
  }

  if (parent != nullptr) {
    ProcessInfo* pp = nullptr;
    if (!decode_process(*parent, path + ".parent", depth + 1, pp)) {
      return false;
    }
    p.parent = pp;
    if (!has_ppid) {
      p.ppid = pp->pid;
    }
  }
  return true;
}

bool Decoder::decode_user(const Json& o, const std::string& path, ProcessInfo& p) {
  if (!expect(o, path, o.is_object(), "an object")) {
    return false;
  }
  for (const auto& [key, v] : o.items()) {
    const std::string kpath = path + "." + key;
    bool ok = true;
    if (key == "uid") {
      int64_t uid = 0;
      ok = get_int(v, kpath, uid, 0, UINT32_MAX);
      p.uid = static_cast<uint32_t>(uid);
    } else if (key == "name") {
      ok = get_str(v, kpath, p.user_name);
    } else if (key == "homedir") {
      ok = get_str(v, kpath, p.user_homedir);
    } else if (key == "shell") {
      ok = get_str(v, kpath, p.user_shell);
    } else if (key == "loginuid") {
      ok = get_int(v, kpath, p.loginuid, -1, UINT32_MAX);
      if (ok && p.loginuid == UINT32_MAX) {
        p.loginuid = kNoLoginUid;
      }
    } else if (key == "loginname") {
      ok = get_str(v, kpath, p.loginname);
    } else {
      ok = fail(kpath, "unknown key");
    }
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool Decoder::decode_group(const Json& o, const std::string& path, ProcessInfo& p) {
  if (!expect(o, path, o.is_object(), "an object")) {
    return false;
  }
  for (const auto& [key, v] : o.items()) {
    const std::string kpath = path + "." + key;
    bool ok = true;
    if (key == "gid") {
      int64_t gid = 0;
      ok = get_int(v, kpath, gid, 0, UINT32_MAX);
      p.gid = static_cast<uint32_t>(gid);
    } else if (key == "name") {
      ok = get_str(v, kpath, p.group_name);
    } else {
      ok = fail(kpath, "unknown key");
    }
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool Decoder::decode_fds(const Json& v, const std::string& path, ProcessInfo& p) {
  if (!expect(v, path, v.is_array(), "an array of {\"num\":..,\"type\":..}")) {
    return false;
  }
  std::vector<FdRef>& refs = store_.fd_refs();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string ipath = path + "[" + std::to_string(i) + "]";
    const Json& item = v[i];
    if (!expect(item, ipath, item.is_object(), "an object")) {
      return false;
    }
    FdRef ref;
    for (const auto& [key, val] : item.items()) {
      if (key == "num") {
        if (!get_int(val, ipath + ".num", ref.num, 0, INT32_MAX)) {
          return false;
        }
      } else if (key == "type") {
        if (!get_fd_type(val, ipath + ".type", ref.type)) {
          return false;
        }
      } else {
        return fail(ipath + "." + key, "unknown key");
      }
    }
    refs.push_back(ref);
  }
  p.fds = refs;
  return true;
}

bool Decoder::decode_fd(const Json& o) {
  if (!expect(o, "fd", o.is_object(), "an object")) {
    return false;
  }
  SyscallEvent& ev = store_.mutable_event();
  FdInfo& fd = store_.fd();
  bool has_num = false, has_type = false, has_role = false;
  for (const auto& [key, v] : o.items()) {
    const std::string kpath = "fd." + key;
    bool ok = true;
    if (key == "num") {
      ok = get_int(v, kpath, fd.num, -1, INT32_MAX);
      has_num = true;
    } else if (key == "type") {
      has_type = true;
      ok = get_fd_type(v, kpath, fd.type);
    } else if (key == "name") {
      ok = get_str(v, kpath, fd.name);
    } else if (key == "nameraw") {
      ok = get_str(v, kpath, fd.nameraw);
    } else if (key == "dev") {
      int64_t dev = 0;
      ok = get_int(v, kpath, dev, 0, UINT32_MAX);
      fd.dev = static_cast<uint32_t>(dev);
    } else if (key == "ino") {
      ok = get_uint64(v, kpath, fd.ino);
    } else if (key == "role") {
      has_role = true;
      static constexpr std::pair<std::string_view, SocketRole> kRoles[] = {
          {"none", SocketRole::kNone},
          {"client", SocketRole::kClient},
          {"server", SocketRole::kServer},
          {"listening", SocketRole::kListening}};
      ok = get_enum(v, kpath, kRoles, fd.role, "client, server, listening or none");
    } else if (key == "l4proto") {
      static constexpr std::pair<std::string_view, L4Proto> kProtos[] = {{"tcp", L4Proto::kTcp},
                                                                         {"udp", L4Proto::kUdp},
                                                                         {"icmp", L4Proto::kIcmp},
                                                                         {"raw", L4Proto::kRaw}};
      ok = get_enum(v, kpath, kProtos, fd.l4proto, "tcp, udp, icmp or raw");
    } else if (key == "cip") {
      ok = get_ip(v, kpath, fd.cip);
    } else if (key == "sip") {
      ok = get_ip(v, kpath, fd.sip);
    } else if (key == "cport" || key == "sport") {
      int64_t port = 0;
      ok = get_int(v, kpath, port, 0, UINT16_MAX);
      (key == "cport" ? fd.cport : fd.sport) = static_cast<uint16_t>(port);
    } else if (key == "connected") {
      ok = get_bool(v, kpath, fd.connected);
    } else if (key == "name_changed") {
      ok = get_bool(v, kpath, fd.name_changed);
    } else if (key == "cip_name") {
      ok = get_str(v, kpath, fd.cip_name);
    } else if (key == "sip_name") {
      ok = get_str(v, kpath, fd.sip_name);
    } else {
      ok = fail(kpath, "unknown key");
    }
    if (!ok) {
      return false;
    }
  }
  // Defaults that keep hand-written events short.
  if (!has_type) {
    const IpAddr& any = fd.sip.family != 0 ? fd.sip : fd.cip;
    if (any.family == 4) {
      fd.type = FdType::kIpv4;
    } else if (any.family == 6) {
      fd.type = FdType::kIpv6;
    } else if (!fd.name.empty() && fd.name.front() == '/') {
      fd.type = FdType::kFile;
    }
  }
  if (!has_role && (fd.type == FdType::kIpv4 || fd.type == FdType::kIpv6)) {
    if (fd.cip.family != 0 && fd.sip.family != 0) {
      fd.role = SocketRole::kClient;
    } else if (fd.sip.family != 0) {
      fd.role = SocketRole::kListening;
    }
  }
  if (!has_num) {
    const bool creates = (syscall_type_flags(ev.type) & kTypeCreatesFd) != 0;
    fd.num = creates && ev.res >= 0 ? ev.res : -1;
  }
  if (fd.nameraw.empty() && fd.type == FdType::kFile) {
    fd.nameraw = fd.name;
  }
  ev.fd = &fd;
  return true;
}

// "registry:5000/ns/app:1.2@sha256:..." -> repository, tag, digest
void split_image(std::string_view image, std::string_view& repo, std::string_view& tag,
                 std::string_view& digest) {
  const size_t at = image.find('@');
  if (at != std::string_view::npos) {
    digest = image.substr(at + 1);
    image = image.substr(0, at);
  }
  const size_t colon = image.rfind(':');
  const size_t slash = image.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    tag = image.substr(colon + 1);
    image = image.substr(0, colon);
  }
  repo = image;
}

bool Decoder::decode_container(const Json& o) {
  if (!expect(o, "container", o.is_object(), "an object")) {
    return false;
  }
  ContainerInfo& c = store_.container();
  bool has_repo = false;
  for (const auto& [key, v] : o.items()) {
    const std::string kpath = "container." + key;
    bool ok = true;
    if (key == "id") {
      ok = get_str(v, kpath, c.id);
    } else if (key == "full_id") {
      ok = get_str(v, kpath, c.full_id);
    } else if (key == "name") {
      ok = get_str(v, kpath, c.name);
    } else if (key == "type") {
      ok = get_str(v, kpath, c.type);
    } else if (key == "image") {
      ok = get_str(v, kpath, c.image);
    } else if (key == "image_id") {
      ok = get_str(v, kpath, c.image_id);
    } else if (key == "image_repository") {
      ok = get_str(v, kpath, c.image_repository);
      has_repo = true;
    } else if (key == "image_tag") {
      ok = get_str(v, kpath, c.image_tag);
    } else if (key == "image_digest") {
      ok = get_str(v, kpath, c.image_digest);
    } else if (key == "ip") {
      ok = get_ip(v, kpath, c.ip);
    } else if (key == "start_ts") {
      ok = get_uint64(v, kpath, c.start_ts);
    } else if (key == "privileged") {
      ok = get_tri(v, kpath, c.privileged);
    } else if (key == "host_pid") {
      ok = get_tri(v, kpath, c.host_pid);
    } else if (key == "host_network") {
      ok = get_tri(v, kpath, c.host_network);
    } else if (key == "host_ipc") {
      ok = get_tri(v, kpath, c.host_ipc);
    } else {
      ok = fail(kpath, "unknown key");
    }
    if (!ok) {
      return false;
    }
  }
  if (c.id.empty() && !c.full_id.empty()) {
    c.id = c.full_id.substr(0, 12);
  }
  if (c.id.empty()) {
    return fail("container.id", "missing (omit \"container\" for host processes)");
  }
  if (!has_repo && !c.image.empty()) {
    std::string_view repo, tag, digest;
    split_image(c.image, repo, tag, digest);
    c.image_repository = repo;
    if (c.image_tag.empty()) {
      c.image_tag = tag;
    }
    if (c.image_digest.empty()) {
      c.image_digest = digest;
    }
  }
  store_.mutable_event().container = &c;
  return true;
}

bool Decoder::decode_k8s(const Json& o) {
  if (!expect(o, "k8s", o.is_object(), "an object")) {
    return false;
  }
  K8sInfo& k = store_.k8s();
  for (const auto& [key, v] : o.items()) {
    const std::string kpath = "k8s." + key;
    bool ok = true;
    if (key == "pod_name") {
      ok = get_str(v, kpath, k.pod_name);
    } else if (key == "pod_uid") {
      ok = get_str(v, kpath, k.pod_uid);
    } else if (key == "sandbox_id") {
      ok = get_str(v, kpath, k.sandbox_id);
    } else if (key == "ns_name") {
      ok = get_str(v, kpath, k.ns_name);
    } else if (key == "pod_ip") {
      ok = get_ip(v, kpath, k.pod_ip);
    } else if (key == "labels") {
      if (!expect(v, kpath, v.is_object(), "an object of label keys to values")) {
        return false;
      }
      std::vector<K8sLabel>& labels = store_.labels();
      for (const auto& [lk, lv] : v.items()) {
        K8sLabel label;
        label.key = store_.intern(lk);
        if (!get_str(lv, kpath + "." + lk, label.value)) {
          return false;
        }
        labels.push_back(label);
      }
      k.labels = labels;
    } else {
      ok = fail(kpath, "unknown key");
    }
    if (!ok) {
      return false;
    }
  }
  store_.mutable_event().k8s = &k;
  return true;
}

}  // namespace

Result<const SyscallEvent*> decode_syscall_event_json(std::string_view json,
                                                      SyscallEventStore& store) {
  store.clear();
  if (json.size() > kMaxJsonBytes) {
    return make_error("event is " + std::to_string(json.size()) + " bytes, more than the " +
                      std::to_string(kMaxJsonBytes) + " allowed");
  }
  if (!nesting_within(json, kMaxJsonDepth)) {
    return make_error("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  Json root;
  try {
    root = Json::parse(json.begin(), json.end());
  } catch (const Json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ...".
    std::string_view what = e.what();
    const size_t bracket = what.find("] ");
    if (what.starts_with("[json.exception") && bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    return make_error("invalid JSON: " + std::string(what));
  }
  Decoder decoder(store);
  if (!decoder.decode(root)) {
    store.clear();
    return make_error(decoder.error());
  }
  return &store.event();
}

}  // namespace vigil::fields
