#pragma once

// The `syscall` source's event: what one syscall exit looks like to the rule engine.
//
// This header is the contract between whoever produces events (the eBPF agent's decoder and
// process table, `vigilctl test`'s JSON reader) and the field extractors in
// syscall_*_fields.cc. It is source-neutral: nothing here knows about BPF, /proc or JSON.
// docs/syscall-events.md describes the same structure for readers and the JSON-lines form.
//
// Ownership: every struct here is a view. Strings are std::string_view and pointers are raw;
// the producer owns the storage (the agent's process table and per-event scratch, or a
// SyscallEventStore) and keeps it alive and unchanged while the engine evaluates the event.
// Nothing here allocates, so building one SyscallEvent per syscall costs no heap traffic.
//
// "Unset" conventions: an empty string_view, a null pointer, a 0 timestamp or an IpAddr with
// family 0 means "not known"; the matching field extracts nothing (<NA> in outputs), exactly
// like libsinsp does for missing thread or fd state.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/fields/value.h"

namespace vigil::fields {

// ---------------------------------------------------------------------------------------------
// Event types
// ---------------------------------------------------------------------------------------------

// Every syscall the Falco stable and incubating rules name, plus the ones the agent needs to keep
// its process and fd tables current. The numeric value is Vigil's own id (dense, 0-based, used to
// index rules by type and as the in-kernel "interesting syscalls" bitmap); it is NOT the kernel's
// syscall number and may be renumbered between versions: persist names, never ids.
// `procexit` is the one non-syscall event: the last thread of a process exited.
enum class SyscallType : uint16_t {
  // process lifecycle
  kClone,
  kClone3,
  kFork,
  kVfork,
  kExecve,
  kExecveat,
  kProcexit,
  // credentials and privileges
  kSetuid,
  kSetgid,
  kSetreuid,
  kSetregid,
  kSetresuid,
  kSetresgid,
  kCapset,
  kPrctl,
  kSetsid,
  kSetpgid,
  // namespaces, mounts, roots
  kSetns,
  kUnshare,
  kMount,
  kUmount,
  kUmount2,
  kChroot,
  kPivotRoot,
  kChdir,
  kFchdir,
  // kernel modules, bpf, tracing, memory
  kInitModule,
  kFinitModule,
  kDeleteModule,
  kBpf,
  kPtrace,
  kProcessVmReadv,
  kProcessVmWritev,
  kMemfdCreate,
  kMmap,
  kMprotect,
  kUserfaultfd,
  kIoUringSetup,
  kSeccomp,
  // signals
  kKill,
  kTkill,
  kTgkill,
  // files: open and fd bookkeeping
  kOpen,
  kOpenat,
  kOpenat2,
  kOpenByHandleAt,
  kCreat,
  kClose,
  kDup,
  kDup2,
  kDup3,
  kPipe,
  kPipe2,
  kRead,
  kWrite,
  kIoctl,
  // files: namespace operations
  kLink,
  kLinkat,
  kSymlink,
  kSymlinkat,
  kUnlink,
  kUnlinkat,
  kRename,
  kRenameat,
  kRenameat2,
  kMkdir,
  kMkdirat,
  kRmdir,
  kMknod,
  kMknodat,
  // files: attributes
  kChmod,
  kFchmod,
  kFchmodat,
  kChown,
  kFchown,
  kFchownat,
  // network
  kSocket,
  kSocketpair,
  kConnect,
  kBind,
  kListen,
  kAccept,
  kAccept4,
  kSetsockopt,
  kSendto,
  kSendmsg,
  kSendmmsg,
  kRecvfrom,
  kRecvmsg,

  kCount_  // not a type
};

inline constexpr size_t kSyscallTypeCount = static_cast<size_t>(SyscallType::kCount_);

// "openat", "procexit"; "" for an out-of-range id.
std::string_view syscall_type_name(uint16_t id);
inline std::string_view syscall_type_name(SyscallType t) {
  return syscall_type_name(static_cast<uint16_t>(t));
}
// The id for a name as rules write it (`evt.type = openat`); -1 when unknown. Binary search in
// a table sorted at compile time: no allocation, safe from any thread.
int syscall_type_id(std::string_view name);

// What an event type does with file descriptors, used by evt.is_io*, evt.io_dir and by
// producers to decide whether an event carries FdInfo.
enum SyscallTypeFlags : uint32_t {
  kTypeNone = 0,
  kTypeCreatesFd = 1u << 0,   // open*, creat, socket, accept*, dup*, pipe*, memfd_create, ...
  kTypeUsesFd = 1u << 1,      // takes an fd argument: read, write, connect, sendto, close, ...
  kTypeReadsFd = 1u << 2,     // read, recvfrom, recvmsg
  kTypeWritesFd = 1u << 3,    // write, sendto, sendmsg, sendmmsg
  kTypeOpen = 1u << 4,        // open, openat, openat2, open_by_handle_at (evt.is_open_*)
  kTypeNotSyscall = 1u << 5,  // procexit: syscall.type is unset
};
uint32_t syscall_type_flags(SyscallType t);
// (syscall_type_flags(t) & kTypeOpen) != 0, inline for the evt.is_open_* fields.
constexpr bool is_open_type(SyscallType t) {
  return t == SyscallType::kOpen || t == SyscallType::kOpenat || t == SyscallType::kOpenat2 ||
         t == SyscallType::kOpenByHandleAt;
}

// ---------------------------------------------------------------------------------------------
// File descriptor types
// ---------------------------------------------------------------------------------------------

// Falco's fd types (fd.type strings in the comments; fd.typechar in brackets).
enum class FdType : uint8_t {
  kUnknown,      // "<NA>"         ['o']
  kFile,         // "file"         ['f']
  kDirectory,    // "directory"    ['d']
  kIpv4,         // "ipv4"         ['4']  (connected or listening)
  kIpv6,         // "ipv6"         ['6']
  kUnix,         // "unix"         ['u']
  kPipe,         // "pipe"         ['p']
  kEvent,        // "event"        ['e']  eventfd
  kSignalfd,     // "signalfd"     ['s']
  kEventpoll,    // "eventpoll"    ['l']
  kInotify,      // "inotify"      ['i']
  kTimerfd,      // "timerfd"      ['t']
  kNetlink,      // "netlink"      ['n']
  kBpf,          // "bpf"          ['b']
  kUserfaultfd,  // "userfaultfd"  ['u']
  kIoUring,      // "io_uring"     ['r']
  kMemfd,        // "memfd"        ['m']
  kPidfd,        // "pidfd"        ['P']
};

std::string_view fd_type_name(FdType t);  // "file", ..., "<NA>" for kUnknown
char fd_type_char(FdType t);              // 'f', '4', ...
// Parses "file", "ipv4", ...; false for an unknown name.
bool parse_fd_type(std::string_view name, FdType& out);

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

// How far ancestor walks go (proc.aname, proc.sname, proc.loginshellid, JSON nesting). Real
// process trees are rarely deeper than 15; the bound protects against cycles and hostile input.
inline constexpr int kMaxAncestorDepth = 32;

// Sentinel for ProcessInfo::loginuid when the process has no login uid (the kernel's
// (uid_t)-1, `user.loginuid` then reads -1 as in Falco).
inline constexpr int64_t kNoLoginUid = -1;

// One of a process's open file descriptors, as far as `fd.types` needs it.
struct FdRef {
  int64_t num = -1;
  FdType type{};
};

// The thread that made the syscall, with process-wide state. One ProcessInfo per thread in
// libsinsp; Vigil's agent may share one per thread group and only vary tid/vtid.
struct ProcessInfo {
  // --- identity (host pid namespace unless noted) ---
  int64_t pid = -1;    // thread group id (proc.pid)
  int64_t tid = -1;    // thread id (thread.tid); == pid for the main thread
  int64_t ppid = -1;   // parent's pid (proc.ppid)
  int64_t vpid = -1;   // pid as seen in the process's own pid namespace (proc.vpid)
  int64_t vtid = -1;   // tid in the process's own pid namespace (thread.vtid)
  int64_t sid = -1;    // session id, in the process's pid namespace (proc.sid)
  int64_t vpgid = -1;  // process group id, in the process's pid namespace (proc.vpgid)

  // --- what runs ---
  std::string_view name;     // task->comm, at most 15 chars (proc.name)
  std::string_view exe;      // argv[0] as passed to execve (proc.exe)
  std::string_view exepath;  // resolved path of the executable, symlinks followed (proc.exepath)
  // argv[1..], each argument followed by a NUL except that a trailing NUL is optional:
  // "-c\0echo hi" (the layout of /proc/PID/cmdline minus argv[0]). proc.args joins them with
  // spaces; proc.cmdline is name + ' ' + args, as in Falco.
  std::string_view args;
  // Environment, "K=V" entries separated by NULs like `args`. May stay empty when the producer
  // does not collect it (proc.env then extracts nothing).
  std::string_view env;
  std::string_view cwd;  // current working directory (proc.cwd)
  uint32_t tty = 0;      // controlling terminal device number, 0 = none (proc.tty)

  // --- credentials (effective ids, which is what Falco's drivers report as uid/gid) ---
  uint32_t uid = 0;                // user.uid
  uint32_t gid = 0;                // group.gid
  int64_t loginuid = kNoLoginUid;  // audit login uid (user.loginuid)
  std::string_view user_name;      // passwd entry for uid, resolved in the process's mount
  std::string_view user_homedir;   //   namespace (container's /etc/passwd); empty if unknown
  std::string_view user_shell;
  std::string_view loginname;   // passwd name for loginuid (user.loginname)
  std::string_view group_name;  // group entry for gid (group.name)
  uint64_t cap_effective = 0;   // capability bitmasks, bit n = capability n (CAP_CHOWN=0)
  uint64_t cap_permitted = 0;
  uint64_t cap_inheritable = 0;

  // --- times, all ns since the epoch; 0 = unknown ---
  uint64_t start_ts = 0;             // clone time of the process (proc.pid.ts, proc.duration)
  uint64_t pidns_init_start_ts = 0;  // start of the pid namespace's init process

  // --- the executable file, as seen at exec time ---
  uint64_t exe_ino = 0;          // inode number, 0 = unknown
  uint64_t exe_ino_ctime = 0;    // inode status change time (ns since epoch), 0 = unknown
  uint64_t exe_ino_mtime = 0;    // inode modification time (ns since epoch), 0 = unknown
  bool exe_writable = false;     // writable by the user that executed it
  bool exe_upper_layer = false;  // lives in the upper (container-written) layer of an overlayfs
  bool exe_lower_layer = false;  // lives in a lower (image) layer of an overlayfs
  bool exe_from_memfd = false;   // executed from a memfd_create() file (fileless execution)

  // --- context ---
  // Container id derived from the cgroup path (12 hex chars), empty on the host. The resolved
  // metadata is SyscallEvent::container; this is kept for table bookkeeping.
  std::string_view container_id;
  // Open fds of the process (only their types), for `fd.types`. Optional: empty span = unknown.
  std::span<const FdRef> fds;

  // The parent process (the thread group leader of ppid), or null when unknown (reaped before
  // Vigil saw it, or the chain was cut at kMaxAncestorDepth). Field extractors walk at most
  // kMaxAncestorDepth links, so a cycle cannot hang them; producers must still not create one.
  const ProcessInfo* parent = nullptr;
};

// ---------------------------------------------------------------------------------------------
// File descriptors
// ---------------------------------------------------------------------------------------------

enum class L4Proto : uint8_t { kUnknown, kTcp, kUdp, kIcmp, kRaw };
std::string_view l4proto_name(L4Proto p);  // "tcp", "udp", "icmp", "raw", "<NA>"

// Which end of a socket the process holds.
enum class SocketRole : uint8_t {
  kNone,       // not a socket, or the tuple is unknown: address/port fields extract nothing
  kClient,     // connected, this process initiated (connect): local side = client
  kServer,     // connected, this process accepted (accept): local side = server
  kListening,  // bound/listening socket: only the server address and port are known
};

// The fd the syscall operated on (created, used or closed). Only set for events whose type has
// kTypeCreatesFd or kTypeUsesFd. A failed open/openat/openat2/creat still gets an FdInfo with
// num = -1, type = kFile and name = the path the process asked for, because the Falco rules
// detect failed opens that way (`fd.typechar='f' and fd.num=-1 and evt.res startswith E`).
struct FdInfo {
  int64_t num = -1;  // the fd number (fd.num); -1 when the syscall failed
  FdType type = FdType::kUnknown;
  // Files: the absolute path, resolved against cwd/dirfd and normalised (fd.name; fd.directory
  // and fd.filename are derived from it). Sockets: the tuple "cip:cport->sip:sport" (IPv6 as
  // "[::1]:80"), or the path for unix sockets; left empty, IP tuples are formatted on demand.
  std::string_view name;
  // Files: the path exactly as the process passed it, not resolved (fd.nameraw).
  std::string_view nameraw;
  uint32_t dev = 0;  // device of the file (major << 20 | minor, the kernel's encoding)
  uint64_t ino = 0;  // inode of the file, 0 = unknown

  // Sockets (kIpv4, kIpv6). Ports in host byte order.
  SocketRole role = SocketRole::kNone;
  L4Proto l4proto = L4Proto::kUnknown;
  IpAddr cip;  // client address (fd.cip)
  IpAddr sip;  // server address (fd.sip)
  uint16_t cport = 0;
  uint16_t sport = 0;
  bool connected = false;     // connect() completed / accepted (fd.connected)
  bool name_changed = false;  // this event changed the fd's tuple, e.g. UDP sendto to a new peer
  // Reverse-DNS names for the addresses (fd.cip.name, fd.sip.name), from the agent's DNS cache.
  std::string_view cip_name;
  std::string_view sip_name;
};

// ---------------------------------------------------------------------------------------------
// Containers and Kubernetes
// ---------------------------------------------------------------------------------------------

// The container of the process. SyscallEvent::container is null for host processes; then
// container.id and container.name read "host", as in Falco, and the other container.* fields
// extract nothing.
struct ContainerInfo {
  std::string_view id;                // 12-char short id (container.id)
  std::string_view full_id;           // full 64-char id (container.full_id)
  std::string_view name;              // container name (container.name)
  std::string_view type;              // "containerd", "cri-o", "docker", ...
  std::string_view image;             // full reference as in the pod spec, "nginx:1.25"
  std::string_view image_id;          // image id (sha256...)
  std::string_view image_repository;  // "docker.io/library/nginx" (container.image.repository)
  std::string_view image_tag;         // "1.25"
  std::string_view image_digest;      // "sha256:..."
  IpAddr ip;                          // primary address, family 0 if unknown
  uint64_t start_ts = 0;              // creation time, ns since epoch; 0 = unknown
  // Tri-state booleans: 0 = unknown (extract nothing), 1 = false, 2 = true.
  uint8_t privileged = 0;
  uint8_t host_pid = 0;
  uint8_t host_network = 0;
  uint8_t host_ipc = 0;
};
inline constexpr uint8_t kTriUnknown = 0;
inline constexpr uint8_t kTriFalse = 1;
inline constexpr uint8_t kTriTrue = 2;

struct K8sLabel {
  std::string_view key;
  std::string_view value;
};

// The pod the container belongs to, from the agent's watch of pods on its node. Null for host
// processes and for containers that are not part of a pod.
struct K8sInfo {
  std::string_view pod_name;         // k8s.pod.name
  std::string_view pod_uid;          // k8s.pod.uid (and the deprecated k8s.pod.id)
  std::string_view sandbox_id;       // pod sandbox container id (k8s.pod.sandbox_id)
  std::string_view ns_name;          // k8s.ns.name
  IpAddr pod_ip;                     // k8s.pod.ip
  std::span<const K8sLabel> labels;  // pod labels, in any order (k8s.pod.label[X], .labels)
};

// ---------------------------------------------------------------------------------------------
// The event
// ---------------------------------------------------------------------------------------------

// How an argument's text is held (SyscallArg::format). A producer may leave numbers unformatted
// (the agent does: most arguments are never read as text); arg_text() renders them on demand,
// exactly as the producer would have.
enum class ArgFormat : uint8_t {
  kText,      // `str` is the text
  kDecimal,   // `num` in decimal: "3", "-2"
  kUnsigned,  // `num` as an unsigned 64-bit number, in decimal
  kHex,       // `num` as an unsigned 64-bit number, lower-case hexadecimal, no prefix: "803"
  kOctal,     // `num` as an unsigned 64-bit number, octal, no prefix: "644"
  kFdPath,    // libsinsp's PT_FD rendering of a named fd: '<', `fd_type`, '>', then `str`
};

// A syscall argument by name. Its text (arg_text()) is what Falco prints and rules match
// (`evt.arg.flags contains O_TRUNC`): flags as "O_WRONLY|O_CREAT|O_TRUNC", ptrace requests as
// "PTRACE_ATTACH", socket domains as "AF_PACKET", paths as the path. `num` is the raw value for
// numeric arguments (evt.rawarg.X): open flags as the kernel's O_* bits, modes, fds, requests.
struct SyscallArg {
  std::string_view name;  // "flags", "target", "linkpath", "request", "domain", "fd", ...
  std::string_view str;   // the text when format is kText; the fd's name for kFdPath
  int64_t num = 0;
  bool has_num = false;
  ArgFormat format = ArgFormat::kText;
  char fd_type = 0;  // kFdPath: fd_type_char() of the fd
};

// The argument's text: `str`, or the number or fd rendered into `arena` (views into static
// storage for single digits). Never fails.
std::string_view arg_text(const SyscallArg& a, Arena& arena);

// Flags on SyscallEvent::flags.
enum SyscallEventFlags : uint32_t {
  kEvtNone = 0,
  kEvtOpenCreated = 1u << 0,  // open*/creat created the file (evt.is_open_create)
};

// One syscall exit. Vigil only sees exits (one event per syscall), so the direction is always
// '<' and `res` is always the return value.
struct SyscallEvent {
  static constexpr size_t kMaxArgs = 12;

  SyscallType type = SyscallType::kOpenat;
  uint64_t ts = 0;            // ns since the epoch, at syscall exit (evt.rawtime)
  uint64_t num = 0;           // per-agent event counter, starts at 1 (evt.num)
  uint16_t cpu = 0;           // CPU that ran the syscall (evt.cpu)
  int64_t res = 0;            // return value: >= 0 success, -errno on failure (evt.rawres, evt.res)
  uint32_t flags = kEvtNone;  // SyscallEventFlags

  // Arguments in the order libsinsp lists the exit event's parameters after the return value
  // (evt.arg[N] indexes this order; evt.arg.NAME looks names up). Unused slots are empty.
  std::array<SyscallArg, kMaxArgs> args{};
  uint8_t nargs = 0;

  std::string_view hostname;  // the node's hostname (evt.hostname)

  const ProcessInfo* proc = nullptr;         // the calling thread; null = unknown
  const FdInfo* fd = nullptr;                // see FdInfo
  const ContainerInfo* container = nullptr;  // null = host
  const K8sInfo* k8s = nullptr;              // null = not in a pod

  // The named argument, or null. Names are short and mostly differ in length or first letter,
  // which are compared before any library call.
  const SyscallArg* arg(std::string_view name) const {
    for (uint8_t i = 0; i < nargs && i < kMaxArgs; ++i) {
      const std::string_view n = args[i].name;
      if (n.size() == name.size() && (n.empty() || (n[0] == name[0] && n == name))) {
        return &args[i];
      }
    }
    return nullptr;
  }
  // Appends an argument; false (and nothing stored) when all kMaxArgs slots are used.
  bool add_arg(const SyscallArg& a) {
    if (nargs >= kMaxArgs) {
      return false;
    }
    args[nargs++] = a;
    return true;
  }
};

// ---------------------------------------------------------------------------------------------
// Formatting helpers for producers (the agent formats raw syscall arguments with these so that
// strings match what Falco prints)
// ---------------------------------------------------------------------------------------------

// "ENOENT" for 2 (or -2); "" when unknown.
std::string_view errno_name(int64_t err);
// 2 for "ENOENT"; 0 when unknown.
int errno_from_name(std::string_view name);

// Linux open(2) flags (O_* of this architecture) in Falco's notation and order:
// "O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC"; 0 gives "O_RDONLY".
std::string format_open_flags(uint32_t flags);
// The reverse: "O_RDWR|O_CREAT" -> O_RDWR|O_CREAT. False on an unknown name.
bool parse_open_flags(std::string_view text, uint32_t& out);

// "CAP_CHOWN CAP_SYS_ADMIN" (space-separated, ascending bit order, like Falco's
// thread.cap_effective); "" for 0. Writes into `arena`.
std::string_view format_capabilities(uint64_t caps, Arena& arena);
// "CAP_SYS_ADMIN CAP_NET_RAW" or "sys_admin,net_raw" (space or comma separated, CAP_ prefix and
// case optional) -> bitmask. False on an unknown name.
bool parse_capabilities(std::string_view text, uint64_t& out);

// "PTRACE_ATTACH" for 16; "" when unknown.
std::string_view ptrace_request_name(int64_t request);
// "AF_PACKET" for 17; "" when unknown.
std::string_view socket_family_name(int64_t family);

// ---------------------------------------------------------------------------------------------
// JSON lines (vigilctl test)
// ---------------------------------------------------------------------------------------------

// Owns everything one decoded event points to. Reused across events: decoding clears it first,
// and its buffers are kept, so a long test file does not reallocate per line.
class SyscallEventStore {
 public:
  SyscallEventStore();
  ~SyscallEventStore();
  SyscallEventStore(const SyscallEventStore&) = delete;
  SyscallEventStore& operator=(const SyscallEventStore&) = delete;

  const SyscallEvent& event() const { return event_; }
  // Forgets the current event (storage is kept). Does not reset the event counter.
  void clear();
  // Numbers events 1, 2, 3... for decoded events that carry no `num` (Falco numbers events from
  // 1, and its `never_true` macro is `evt.num=0`).
  uint64_t next_event_number() { return ++events_numbered_; }

  // Building blocks for the decoder (and for tests that build events by hand).
  std::string_view intern(std::string_view s) { return arena_.copy(s); }
  SyscallEvent& mutable_event() { return event_; }
  ProcessInfo& add_process();  // index 0 is the event's process, 1 its parent, ...
  FdInfo& fd() { return fd_; }
  ContainerInfo& container() { return container_; }
  K8sInfo& k8s() { return k8s_; }
  // The label list of k8s() and the fd list of the event's process (ProcessInfo::fds).
  std::vector<K8sLabel>& labels() { return labels_; }
  std::vector<FdRef>& fd_refs() { return fd_refs_; }

 private:
  SyscallEvent event_;
  Arena arena_;
  std::array<ProcessInfo, kMaxAncestorDepth + 1> processes_;
  size_t nprocesses_ = 0;
  FdInfo fd_;
  ContainerInfo container_;
  K8sInfo k8s_;
  std::vector<K8sLabel> labels_;  // cleared, not freed, between events
  std::vector<FdRef> fd_refs_;
  uint64_t events_numbered_ = 0;
};

// Decodes one line of the JSON event form (docs/syscall-events.md) into `store` and returns the
// event, which stays valid until the store is cleared or reused. Input is untrusted: malformed
// JSON, wrong types, unknown keys, nesting deeper than kMaxAncestorDepth and oversize input all
// give an Error naming the offending key ("proc.parent.tty: expected an integer, got string").
Result<const SyscallEvent*> decode_syscall_event_json(std::string_view json,
                                                      SyscallEventStore& store);

}  // namespace vigil::fields
