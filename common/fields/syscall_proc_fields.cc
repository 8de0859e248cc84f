// proc.* and thread.* fields of the syscall source (libsinsp: sinsp_filtercheck_thread.cpp).
//
// Ancestor fields follow Falco: proc.aname[0] is the process itself, [1] its parent, and so on;
// without an argument they yield one value per ancestor (parent first, self excluded), so that
// `proc.aname = bash` matches when any ancestor is bash. Walks stop after kMaxAncestorDepth.

#include "common/fields/syscall_fields.h"

namespace vigil::fields {
namespace {

using syscall_detail::cmdline_of;
using syscall_detail::event_of;
using syscall_detail::join_nul_list;

const ProcessInfo* proc_of(const void* e) { return event_of(e).proc; }

// The n-th ancestor (0 = self), or null.
const ProcessInfo* ancestor(const ProcessInfo* p, int64_t n) {
  if (n > kMaxAncestorDepth) {
    return nullptr;
  }
  for (int64_t i = 0; p != nullptr && i < n; ++i) {
    p = p->parent;
  }
  return p;
}

// What an ancestor field reads from one process.
using ProcValueFn = void (*)(const ProcessInfo& p, ValueWriter& out);

// proc.aname[N] -> one value; proc.aname -> one value per ancestor (parent first).
void extract_ancestors(const void* e, const FieldArg& arg, ValueWriter& out, ProcValueFn fn) {
  const ProcessInfo* p = proc_of(e);
  if (p == nullptr) {
    return;
  }
  if (arg.present) {
    if (const ProcessInfo* a = ancestor(p, arg.index)) {
      fn(*a, out);
    }
    return;
  }
  int depth = 0;
  for (const ProcessInfo* a = p->parent; a != nullptr && depth < kMaxAncestorDepth;
       a = a->parent, ++depth) {
    fn(*a, out);
  }
}

void put_name(const ProcessInfo& p, ValueWriter& out) { out.str(p.name); }
void put_exe(const ProcessInfo& p, ValueWriter& out) { out.str(p.exe); }
void put_exepath(const ProcessInfo& p, ValueWriter& out) { out.str(p.exepath); }
void put_cmdline(const ProcessInfo& p, ValueWriter& out) { out.str(cmdline_of(p, out.arena())); }
void put_pid(const ProcessInfo& p, ValueWriter& out) { out.num(p.pid); }

template <ProcValueFn Fn>
void extract_self(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = proc_of(e)) {
    Fn(*p, out);
  }
}

template <ProcValueFn Fn>
void extract_parent(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->parent != nullptr) {
    Fn(*p->parent, out);
  }
}

template <ProcValueFn Fn>
void extract_ancestor(const void* e, const FieldArg& arg, ValueWriter& out) {
  extract_ancestors(e, arg, out, Fn);
}

// The eldest ancestor (self included) that still has the same value of `key` as the process:
// Falco's session leader (sid) and process-group leader (vpgid) when the leader itself is
// not visible, which covers processes in a container's pid namespace.
template <int64_t ProcessInfo::*Key>
const ProcessInfo* group_leader(const ProcessInfo& p) {
  const ProcessInfo* leader = &p;
  int depth = 0;
  for (const ProcessInfo* a = p.parent; a != nullptr && depth < kMaxAncestorDepth;
       a = a->parent, ++depth) {
    if (a->*Key != p.*Key) {
      break;
    }
    leader = a;
  }
  return leader;
}

template <int64_t ProcessInfo::*Key, ProcValueFn Fn>
void extract_leader(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->*Key >= 0) {
    Fn(*group_leader<Key>(*p), out);
  }
}

void extract_args(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = proc_of(e)) {
    out.str(join_nul_list(p->args, ' ', out.arena()));
  }
}

void extract_cmdnargs(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p == nullptr) {
    return;
  }
  std::string_view args = p->args;
  if (!args.empty() && args.back() == '\0') {
    args.remove_suffix(1);
  }
  int64_t n = args.empty() ? 0 : 1;
  for (char c : args) {
    n += c == '\0' ? 1 : 0;
  }
  out.num(n);
}

void extract_cmdlenargs(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p == nullptr) {
    return;
  }
  int64_t n = 0;
  for (char c : p->args) {
    n += c == '\0' ? 0 : 1;
  }
  out.num(n);
}

// proc.exeline: exe followed by the arguments.
void extract_exeline(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = proc_of(e)) {
    out.str(syscall_detail::join_cmdline(p->exe, p->args, out.arena()));
  }
}

// proc.env: all "K=V" entries joined by spaces; proc.env[K]: the value of K.
void extract_env(const void* e, const FieldArg& arg, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p == nullptr || p->env.empty()) {
    return;
  }
  if (!arg.present) {
    out.str(join_nul_list(p->env, ' ', out.arena()));
    return;
  }
  std::string_view env = p->env;
  while (!env.empty()) {
    const size_t end = env.find('\0');
    std::string_view entry = env.substr(0, end);
    if (entry.size() > arg.text.size() && entry[arg.text.size()] == '=' &&
        entry.substr(0, arg.text.size()) == arg.text) {
      out.str(entry.substr(arg.text.size() + 1));
      return;
    }
    env = end == std::string_view::npos ? std::string_view() : env.substr(end + 1);
  }
}

// proc.loginshellid: pid of the eldest process named like a shell (comm ending in "sh"),
// looking at the process and its ancestors.
void extract_loginshellid(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  const ProcessInfo* shell = nullptr;
  int depth = 0;
  for (const ProcessInfo* a = p; a != nullptr && depth <= kMaxAncestorDepth;
       a = a->parent, ++depth) {
    if (a->name.size() >= 2 && a->name.ends_with("sh")) {
      shell = a;
    }
  }
  if (shell != nullptr) {
    out.num(shell->pid);
  }
}

void extract_duration(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  if (ev.proc != nullptr && ev.proc->start_ts != 0 && ev.ts >= ev.proc->start_ts) {
    out.num(static_cast<int64_t>(ev.ts - ev.proc->start_ts));
  }
}

void extract_ppid_duration(const void* e, const FieldArg&, ValueWriter& out) {
  const SyscallEvent& ev = event_of(e);
  const ProcessInfo* pp = ev.proc != nullptr ? ev.proc->parent : nullptr;
  if (pp != nullptr && pp->start_ts != 0 && ev.ts >= pp->start_ts) {
    out.num(static_cast<int64_t>(ev.ts - pp->start_ts));
  }
}

// Numeric members that read as <NA> when unset.
template <int64_t ProcessInfo::*M>
void extract_id(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->*M >= 0) {
    out.num(p->*M);
  }
}

template <uint64_t ProcessInfo::*M>
void extract_nonzero(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->*M != 0) {
    out.num(static_cast<int64_t>(p->*M));
  }
}

template <bool ProcessInfo::*M>
void extract_flag(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = proc_of(e)) {
    out.boolean(p->*M);
  }
}

void extract_pvpid(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->parent != nullptr && p->parent->vpid >= 0) {
    out.num(p->parent->vpid);
  }
}

void extract_ppid_ts(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->parent != nullptr && p->parent->start_ts != 0) {
    out.num(static_cast<int64_t>(p->parent->start_ts));
  }
}

void extract_tty(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = proc_of(e)) {
    out.num(p->tty);
  }
}

void extract_cwd(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && !p->cwd.empty()) {
    out.str(p->cwd);
  }
}

void extract_is_sid_leader(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->sid >= 0) {
    out.boolean(p->sid == p->vpid);
  }
}

void extract_is_vpgid_leader(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->vpgid >= 0) {
    out.boolean(p->vpgid == p->vpid);
  }
}

// Time between the executable's last inode change and the process start (Falco:
// proc.exe_ino.ctime_duration_proc_start); only when the change came first.
void extract_ctime_duration_proc_start(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->exe_ino_ctime != 0 && p->start_ts >= p->exe_ino_ctime) {
    out.num(static_cast<int64_t>(p->start_ts - p->exe_ino_ctime));
  }
}

// Time between the pid namespace's start and the executable's last inode change, when the
// namespace started first (Falco: proc.exe_ino.ctime_duration_pidns_start).
void extract_ctime_duration_pidns_start(const void* e, const FieldArg&, ValueWriter& out) {
  const ProcessInfo* p = proc_of(e);
  if (p != nullptr && p->exe_ino_ctime != 0 && p->pidns_init_start_ts != 0 &&
      p->exe_ino_ctime >= p->pidns_init_start_ts) {
    out.num(static_cast<int64_t>(p->exe_ino_ctime - p->pidns_init_start_ts));
  }
}

void extract_ismain(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = proc_of(e)) {
    out.boolean(p->tid == p->pid);
  }
}

template <uint64_t ProcessInfo::*M>
void extract_caps(const void* e, const FieldArg&, ValueWriter& out) {
  if (const ProcessInfo* p = proc_of(e)) {
    out.str(format_capabilities(p->*M, out.arena()));
  }
}

constexpr uint32_t kAncestorArg = kArgAllowed | kArgIndex;

const FieldInfo kProcFields[] = {
    {"proc.pid", FieldType::kNumber, kNone, "Process id (thread group id) of the caller.",
     extract_id<&ProcessInfo::pid>},
    {"proc.ppid", FieldType::kNumber, kNone, "Process id of the caller's parent.",
     extract_id<&ProcessInfo::ppid>},
    {"proc.vpid", FieldType::kNumber, kNone,
     "Process id as seen in the caller's own pid namespace.", extract_id<&ProcessInfo::vpid>},
    {"proc.pvpid", FieldType::kNumber, kNone,
     "Parent's process id as seen in its own pid namespace.", extract_pvpid},
    {"proc.name", FieldType::kString, kNone, "Process name (task comm, at most 15 characters).",
     extract_self<put_name>},
    {"proc.exe", FieldType::kString, kNone,
     "First command-line argument (argv[0]), usually the program name or path.",
     extract_self<put_exe>},
    {"proc.exepath", FieldType::kPath, kNone,
     "Full path of the executable file, symlinks resolved.", extract_self<put_exepath>},
    {"proc.args", FieldType::kString, kNone,
     "Command-line arguments after argv[0], joined by spaces.", extract_args},
    {"proc.cmdline", FieldType::kString, kNone,
     "proc.name followed by the arguments, e.g. 'bash -c ls'.", extract_self<put_cmdline>},
    {"proc.exeline", FieldType::kString, kNone, "proc.exe followed by the arguments.",
     extract_exeline},
    {"proc.cmdnargs", FieldType::kNumber, kNone, "Number of command-line arguments (proc.args).",
     extract_cmdnargs},
    {"proc.cmdlenargs", FieldType::kNumber, kNone,
     "Total length of the command-line arguments, separators excluded.", extract_cmdlenargs},
    {"proc.env", FieldType::kString, kArgAllowed,
     "Environment as 'K=V K2=V2'; proc.env[K] is the value of variable K.", extract_env},
    {"proc.cwd", FieldType::kPath, kNone, "Current working directory.", extract_cwd},
    {"proc.tty", FieldType::kNumber, kNone,
     "Controlling terminal device number; 0 when the process has no terminal.", extract_tty},
    {"proc.pname", FieldType::kString, kNone, "Name of the parent process.",
     extract_parent<put_name>},
    {"proc.pexe", FieldType::kString, kNone, "argv[0] of the parent process.",
     extract_parent<put_exe>},
    {"proc.pexepath", FieldType::kPath, kNone, "Executable path of the parent process.",
     extract_parent<put_exepath>},
    {"proc.pcmdline", FieldType::kString, kNone, "Command line (proc.cmdline) of the parent.",
     extract_parent<put_cmdline>},
    {"proc.aname", FieldType::kString, kAncestorArg,
     "Name of an ancestor: [0] self, [1] parent, [2] grandparent...; without an index, "
     "matches any ancestor.",
     extract_ancestor<put_name>},
    {"proc.aexe", FieldType::kString, kAncestorArg,
     "argv[0] of an ancestor (see proc.aname for the index).", extract_ancestor<put_exe>},
    {"proc.aexepath", FieldType::kPath, kAncestorArg,
     "Executable path of an ancestor (see proc.aname for the index).",
     extract_ancestor<put_exepath>},
    {"proc.acmdline", FieldType::kString, kAncestorArg,
     "Command line of an ancestor (see proc.aname for the index).", extract_ancestor<put_cmdline>},
    {"proc.apid", FieldType::kNumber, kAncestorArg,
     "Pid of an ancestor (see proc.aname for the index).", extract_ancestor<put_pid>},
    {"proc.sid", FieldType::kNumber, kNone, "Session id of the process.",
     extract_id<&ProcessInfo::sid>},
    {"proc.sname", FieldType::kString, kNone,
     "Name of the session leader: the eldest ancestor with the same session id.",
     extract_leader<&ProcessInfo::sid, put_name>},
    {"proc.sid.exe", FieldType::kString, kNone, "argv[0] of the session leader.",
     extract_leader<&ProcessInfo::sid, put_exe>},
    {"proc.sid.exepath", FieldType::kPath, kNone, "Executable path of the session leader.",
     extract_leader<&ProcessInfo::sid, put_exepath>},
    {"proc.is_sid_leader", FieldType::kBool, kNone,
     "True when the process leads its session (proc.sid == proc.vpid).", extract_is_sid_leader},
    {"proc.vpgid", FieldType::kNumber, kNone,
     "Process group id, as seen in the process's pid namespace.", extract_id<&ProcessInfo::vpgid>},
    {"proc.vpgid.name", FieldType::kString, kNone,
     "Name of the process group leader: the eldest ancestor with the same vpgid.",
     extract_leader<&ProcessInfo::vpgid, put_name>},
    {"proc.vpgid.exe", FieldType::kString, kNone, "argv[0] of the process group leader.",
     extract_leader<&ProcessInfo::vpgid, put_exe>},
    {"proc.vpgid.exepath", FieldType::kPath, kNone, "Executable path of the process group leader.",
     extract_leader<&ProcessInfo::vpgid, put_exepath>},
    {"proc.is_vpgid_leader", FieldType::kBool, kNone,
     "True when the process leads its process group (proc.vpgid == proc.vpid), e.g. a "
     "command typed in a shell rather than one spawned by a script.",
     extract_is_vpgid_leader},
    {"proc.loginshellid", FieldType::kNumber, kNone,
     "Pid of the eldest shell among the process and its ancestors.", extract_loginshellid},
    {"proc.duration", FieldType::kNumber, kNone, "Nanoseconds since the process started.",
     extract_duration},
    {"proc.ppid.duration", FieldType::kNumber, kNone,
     "Nanoseconds since the parent process started.", extract_ppid_duration},
    {"proc.pid.ts", FieldType::kNumber, kNone, "Start time of the process, ns since the epoch.",
     extract_nonzero<&ProcessInfo::start_ts>},
    {"proc.ppid.ts", FieldType::kNumber, kNone,
     "Start time of the parent process, ns since the epoch.", extract_ppid_ts},
    {"proc.pidns_init_start_ts", FieldType::kNumber, kNone,
     "Start time of the process's pid namespace, ns since the epoch.",
     extract_nonzero<&ProcessInfo::pidns_init_start_ts>},
    {"proc.is_exe_writable", FieldType::kBool, kNone,
     "True when the executable is writable by the user that ran it.",
     extract_flag<&ProcessInfo::exe_writable>},
    {"proc.is_exe_upper_layer", FieldType::kBool, kNone,
     "True when the executable lives in the upper (written) layer of an overlay filesystem, "
     "i.e. was added or changed in the container.",
     extract_flag<&ProcessInfo::exe_upper_layer>},
    {"proc.is_exe_lower_layer", FieldType::kBool, kNone,
     "True when the executable lives in a lower (image) layer of an overlay filesystem.",
     extract_flag<&ProcessInfo::exe_lower_layer>},
    {"proc.is_exe_from_memfd", FieldType::kBool, kNone,
     "True when the executable is a memfd_create() file (fileless execution).",
     extract_flag<&ProcessInfo::exe_from_memfd>},
    {"proc.exe_ino", FieldType::kNumber, kNone, "Inode number of the executable file.",
     extract_nonzero<&ProcessInfo::exe_ino>},
    {"proc.exe_ino.ctime", FieldType::kNumber, kNone,
     "Last status change of the executable's inode, ns since the epoch.",
     extract_nonzero<&ProcessInfo::exe_ino_ctime>},
    {"proc.exe_ino.mtime", FieldType::kNumber, kNone,
     "Last modification of the executable's inode, ns since the epoch.",
     extract_nonzero<&ProcessInfo::exe_ino_mtime>},
    {"proc.exe_ino.ctime_duration_proc_start", FieldType::kNumber, kNone,
     "Nanoseconds from the executable's last status change to the process start.",
     extract_ctime_duration_proc_start},
    {"proc.exe_ino.ctime_duration_pidns_start", FieldType::kNumber, kNone,
     "Nanoseconds from the pid namespace start to the executable's last status change.",
     extract_ctime_duration_pidns_start},
    {"thread.tid", FieldType::kNumber, kNone, "Thread id of the caller.",
     extract_id<&ProcessInfo::tid>},
    {"thread.vtid", FieldType::kNumber, kNone, "Thread id as seen in the caller's pid namespace.",
     extract_id<&ProcessInfo::vtid>},
    {"thread.ismain", FieldType::kBool, kNone,
     "True when the caller is the main thread of its process.", extract_ismain},
    {"thread.cap_effective", FieldType::kString, kNone,
     "Effective capabilities, e.g. 'CAP_CHOWN CAP_SYS_ADMIN'.",
     extract_caps<&ProcessInfo::cap_effective>},
    {"thread.cap_permitted", FieldType::kString, kNone, "Permitted capabilities.",
     extract_caps<&ProcessInfo::cap_permitted>},
    {"thread.cap_inheritable", FieldType::kString, kNone, "Inheritable capabilities.",
     extract_caps<&ProcessInfo::cap_inheritable>},
};

}  // namespace

std::span<const FieldInfo> syscall_proc_fields() { return kProcFields; }

}  // namespace vigil::fields
