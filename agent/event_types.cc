#include "agent/event_types.h"

#include <array>

#include "bpf/event_abi.h"

namespace vigil::agent {
namespace {

// Indexed by enum vg_type; the names are the rule engine's (fields::syscall_type_name).
constexpr std::array<std::string_view, VG_T_COUNT> kNames = {
    "sched_fork", "procexit", "execve", "execveat", "clone", "clone3", "fork", "vfork",
    // credentials
    "setuid", "setgid", "setreuid", "setresuid", "setresgid", "capset", "prctl", "setsid",
    // namespaces, mounts, cwd
    "setns", "unshare", "mount", "umount2", "chroot", "pivot_root", "chdir", "fchdir",
    // modules, bpf, tracing, memory, signals
    "init_module", "finit_module", "delete_module", "bpf", "ptrace", "process_vm_readv",
    "process_vm_writev", "memfd_create", "userfaultfd", "io_uring_setup", "kill", "tkill", "tgkill",
    // files
    "open", "openat", "openat2", "open_by_handle_at", "creat", "close", "dup", "dup2", "dup3",
    "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "rename", "renameat",
    "renameat2", "mkdir", "mkdirat", "rmdir", "chmod", "fchmod", "fchmodat", "chown", "fchown",
    "fchownat",
    // network
    "socket", "connect", "bind", "listen", "accept", "accept4", "sendto", "sendmsg", "recvfrom",
    "recvmsg"};

struct Maps {
  std::array<int16_t, VG_T_COUNT> to_syscall{};
  std::array<int16_t, fields::kSyscallTypeCount> to_vg{};
  Maps() {
    to_vg.fill(-1);
    for (size_t i = 0; i < kNames.size(); ++i) {
      const int id = fields::syscall_type_id(kNames[i]);
      to_syscall[i] = static_cast<int16_t>(id);
      if (id >= 0) {
        to_vg[static_cast<size_t>(id)] = static_cast<int16_t>(i);
      }
    }
  }
};

const Maps& maps() {
  static const Maps m;
  return m;
}

}  // namespace

std::string_view vg_type_name(uint16_t vg_type) {
  return vg_type < kNames.size() ? kNames[vg_type] : std::string_view{};
}

std::optional<fields::SyscallType> to_syscall_type(uint16_t vg_type) {
  if (vg_type >= VG_T_COUNT || maps().to_syscall[vg_type] < 0) {
    return std::nullopt;
  }
  return static_cast<fields::SyscallType>(maps().to_syscall[vg_type]);
}

bool always_captured(uint16_t vg_type) {
  switch (vg_type) {
    case VG_T_FORK:
    case VG_T_PROCEXIT:
    case VG_T_EXECVE:
    case VG_T_EXECVEAT:
    case VG_T_CHDIR:
    case VG_T_FCHDIR:
      return true;
    default:
      return false;
  }
}

std::vector<bool> interest_for(const std::vector<bool>& needed_syscall_types,
                               std::vector<std::string_view>* uncaptured) {
  std::vector<bool> interest(VG_T_COUNT, false);
  for (size_t id = 0; id < needed_syscall_types.size() && id < fields::kSyscallTypeCount; ++id) {
    if (!needed_syscall_types[id]) {
      continue;
    }
    const int16_t vg = maps().to_vg[id];
    if (vg >= 0) {
      interest[static_cast<size_t>(vg)] = true;
    } else if (uncaptured != nullptr) {
      uncaptured->push_back(fields::syscall_type_name(static_cast<uint16_t>(id)));
    }
  }
  for (uint16_t t = 0; t < VG_T_COUNT; ++t) {
    if (always_captured(t)) {
      interest[t] = true;
    }
  }
  return interest;
}

}  // namespace vigil::agent
