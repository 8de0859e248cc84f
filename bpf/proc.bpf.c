/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Process-level syscalls: the clone family (parent side only), credentials, namespaces, mounts,
 * root and cwd, kernel modules, bpf, ptrace, cross-process memory and signals. Most carry the
 * header and the raw arguments only; the blobs per type are listed in vg_proc_exit():
 *   setns                      FDPATH + FDINFO of the fd
 *   finit_module               FDPATH + FDINFO of the module fd, PATH = uargs
 *   init_module                PATH = uargs;  delete_module: PATH = name
 *   mount                      PATH = source (dev), PATH2 = target;  pivot_root: PATH, PATH2
 *   umount2, chroot            PATH
 *   chdir                      PATH, and CWD after a successful call
 *   fchdir                     CWD after a successful call (FDPATH of the fd when it failed),
 *                              FDINFO of the fd
 *   prctl                      PATH = the name, for PR_SET_NAME / PR_GET_NAME
 *   bpf                        FDINFO of the new fd, for commands that create one
 */
#include "vfs.bpf.h"

#define VG_PR_SET_NAME 15
#define VG_PR_GET_NAME 16

/* bpf(2) commands whose result is a new fd (include/uapi/linux/bpf.h). */
static __always_inline bool vg_bpf_cmd_returns_fd(__u64 cmd) {
  switch (cmd) {
    case 0:  /* BPF_MAP_CREATE */
    case 5:  /* BPF_PROG_LOAD */
    case 7:  /* BPF_OBJ_GET */
    case 13: /* BPF_PROG_GET_FD_BY_ID */
    case 14: /* BPF_MAP_GET_FD_BY_ID */
    case 17: /* BPF_RAW_TRACEPOINT_OPEN */
    case 18: /* BPF_BTF_LOAD */
    case 19: /* BPF_BTF_GET_FD_BY_ID */
    case 28: /* BPF_LINK_CREATE */
    case 30: /* BPF_LINK_GET_FD_BY_ID */
    case 33: /* BPF_ITER_CREATE */
    case 36: /* BPF_TOKEN_CREATE */
      return true;
    default:
      return false;
  }
}

static __always_inline int vg_proc_exit(long ret, __u16 type) {
  /* The child side of clone/fork returns 0 and is described by VG_T_FORK. */
  if ((type == VG_T_CLONE || type == VG_T_CLONE3 || type == VG_T_FORK_SYSCALL ||
       type == VG_T_VFORK) &&
      ret == 0)
    return 0;
  struct vg_rec r;
  struct task_struct* t;
  if (!vg_sys_begin(&r, &t, type, ret)) return 0;
  struct vg_event* e = r.e;
  switch (type) {
    case VG_T_SETNS: /* setns(fd, nstype) */
      vg_blob_fd(&r, t, (__s32)e->args[0]);
      break;
    case VG_T_FINIT_MODULE: /* finit_module(fd, uargs, flags): the module file, PATH = uargs */
      vg_blob_fd(&r, t, (__s32)e->args[0]);
      vg_blob_user_str(&r, VG_B_PATH, (const void*)e->args[1]);
      break;
    case VG_T_INIT_MODULE: /* init_module(image, len, uargs): PATH = uargs */
      vg_blob_user_str(&r, VG_B_PATH, (const void*)e->args[2]);
      break;
    case VG_T_DELETE_MODULE: /* delete_module(name, flags): PATH = name */
    case VG_T_UMOUNT2:       /* umount2(target, flags) */
    case VG_T_CHROOT:        /* chroot(path) */
      vg_blob_user_str(&r, VG_B_PATH, (const void*)e->args[0]);
      break;
    case VG_T_MOUNT:      /* mount(source, target, fstype, flags, data): PATH = source */
    case VG_T_PIVOT_ROOT: /* pivot_root(new_root, put_old) */
      vg_blob_user_str(&r, VG_B_PATH, (const void*)e->args[0]);
      vg_blob_user_str(&r, VG_B_PATH2, (const void*)e->args[1]);
      break;
    case VG_T_PRCTL: /* prctl(option, arg2, ...): PATH = the name of PR_SET_NAME/PR_GET_NAME */
      if (ret == 0 && (e->args[0] == VG_PR_SET_NAME || e->args[0] == VG_PR_GET_NAME)) {
        vg_blob_user_str(&r, VG_B_PATH, (const void*)e->args[1]);
      }
      break;
    case VG_T_BPF: /* bpf(cmd, attr, size): FDINFO of the fd the command created */
      if (ret >= 0 && vg_bpf_cmd_returns_fd(e->args[0])) {
        vg_blob_fdinfo(&r, vg_fd_file(t, ret), ret);
      }
      break;
    case VG_T_CHDIR: /* chdir(path): the argument, and the new cwd */
      vg_blob_user_str(&r, VG_B_PATH, (const void*)e->args[0]);
      if (ret == 0) vg_blob_cwd(&r, t);
      break;
    case VG_T_FCHDIR: /* fchdir(fd): the new cwd (== the fd's path), else the fd's path */
      if (ret == 0)
        vg_blob_cwd(&r, t);
      else
        vg_blob_file_path(&r, VG_B_FDPATH, t, vg_fd_file(t, (__s32)e->args[0]));
      vg_blob_fdinfo(&r, vg_fd_file(t, (__s32)e->args[0]), (__s32)e->args[0]);
      break;
    default:
      break;
  }
  return vg_rec_submit(&r);
}

VG_SYS_EXIT(clone, VG_T_CLONE, vg_proc_exit)
VG_SYS_EXIT(clone3, VG_T_CLONE3, vg_proc_exit)
VG_SYS_EXIT(fork, VG_T_FORK_SYSCALL, vg_proc_exit)
VG_SYS_EXIT(vfork, VG_T_VFORK, vg_proc_exit)
VG_SYS_EXIT(setuid, VG_T_SETUID, vg_proc_exit)
VG_SYS_EXIT(setgid, VG_T_SETGID, vg_proc_exit)
VG_SYS_EXIT(setreuid, VG_T_SETREUID, vg_proc_exit)
VG_SYS_EXIT(setresuid, VG_T_SETRESUID, vg_proc_exit)
VG_SYS_EXIT(setresgid, VG_T_SETRESGID, vg_proc_exit)
VG_SYS_EXIT(capset, VG_T_CAPSET, vg_proc_exit)
VG_SYS_EXIT(prctl, VG_T_PRCTL, vg_proc_exit)
VG_SYS_EXIT(setsid, VG_T_SETSID, vg_proc_exit)
VG_SYS_EXIT(setns, VG_T_SETNS, vg_proc_exit)
VG_SYS_EXIT(unshare, VG_T_UNSHARE, vg_proc_exit)
VG_SYS_EXIT(mount, VG_T_MOUNT, vg_proc_exit)
VG_SYS_EXIT(umount, VG_T_UMOUNT2,
            vg_proc_exit) /* the tracepoint of umount2(2) is sys_exit_umount */
VG_SYS_EXIT(chroot, VG_T_CHROOT, vg_proc_exit)
VG_SYS_EXIT(pivot_root, VG_T_PIVOT_ROOT, vg_proc_exit)
VG_SYS_EXIT(chdir, VG_T_CHDIR, vg_proc_exit)
VG_SYS_EXIT(fchdir, VG_T_FCHDIR, vg_proc_exit)
VG_SYS_EXIT(init_module, VG_T_INIT_MODULE, vg_proc_exit)
VG_SYS_EXIT(finit_module, VG_T_FINIT_MODULE, vg_proc_exit)
VG_SYS_EXIT(delete_module, VG_T_DELETE_MODULE, vg_proc_exit)
VG_SYS_EXIT(bpf, VG_T_BPF, vg_proc_exit)
VG_SYS_EXIT(ptrace, VG_T_PTRACE, vg_proc_exit)
VG_SYS_EXIT(process_vm_readv, VG_T_PROCESS_VM_READV, vg_proc_exit)
VG_SYS_EXIT(process_vm_writev, VG_T_PROCESS_VM_WRITEV, vg_proc_exit)
VG_SYS_EXIT(userfaultfd, VG_T_USERFAULTFD, vg_proc_exit)
VG_SYS_EXIT(io_uring_setup, VG_T_IO_URING_SETUP, vg_proc_exit)
VG_SYS_EXIT(kill, VG_T_KILL, vg_proc_exit)
VG_SYS_EXIT(tkill, VG_T_TKILL, vg_proc_exit)
VG_SYS_EXIT(tgkill, VG_T_TGKILL, vg_proc_exit)
