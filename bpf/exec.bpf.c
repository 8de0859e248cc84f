/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * execve/execveat exit. On success the task already is the new image: its header (comm, creds,
 * caps) is the new one, args are zero (the loader reset the registers), and the blobs describe
 * the image: ARGV (mm arg area), EXEPATH (mm->exe_file), CWD, ENV when vg_capture_env, plus
 * exe_ino/exe_ctime/exe_mtime and the VG_F_EXE_* flags. On failure the registers still hold the
 * arguments: PATH is the filename argument, and execveat adds the DIRFD_PATH of its dirfd.
 */
#define VG_DECLARE_KFUNCS /* see vigil.bpf.h */
#include "vfs.bpf.h"

/* Writable by the caller, approximately: the filesystem is not read-only and a write bit
 * matches (owner == euid and S_IWUSR, group == egid and S_IWGRP, or S_IWOTH), or the caller has
 * CAP_DAC_OVERRIDE and any write bit is set. Ignores supplementary groups, ACLs, idmapped mounts
 * and user namespaces (ids are compared as init-namespace values). */
static __always_inline bool vg_exe_writable(struct inode* ino, struct vg_event* e) {
  if (BPF_CORE_READ(ino, i_sb, s_flags) & VG_SB_RDONLY) return false;
  __u32 mode = BPF_CORE_READ(ino, i_mode);
  if ((mode & VG_S_IWUSR) && BPF_CORE_READ(ino, i_uid.val) == e->uid) return true;
  if ((mode & VG_S_IWGRP) && BPF_CORE_READ(ino, i_gid.val) == e->gid) return true;
  if (mode & VG_S_IWOTH) return true;
  return (e->cap_effective & (1ull << VG_CAP_DAC_OVERRIDE)) &&
         (mode & (VG_S_IWUSR | VG_S_IWGRP | VG_S_IWOTH));
}

static __always_inline void vg_exec_image(struct vg_rec* r, struct task_struct* t) {
  struct vg_event* e = r->e;
  struct mm_struct* mm = t->mm;
  __u64 arg_start = mm->arg_start;
  vg_blob_user_mem(r, VG_B_ARGV, (const void*)arg_start, mm->arg_end - arg_start, VG_MAX_ARGV);

  struct file* exe = mm->exe_file;
  if (exe) {
    struct inode* ino = exe->f_inode;
    struct dentry* dentry = exe->f_path.dentry;
    e->exe_ino = ino->i_ino;
    vg_inode_times(ino, &e->exe_ctime, &e->exe_mtime);
    unsigned long magic = ino->i_sb->s_magic;
    if (vg_is_memfd(dentry, magic)) e->flags |= VG_F_EXE_MEMFD;
    if (magic == VG_OVERLAYFS_MAGIC && bpf_core_type_exists(struct ovl_inode)) {
      /* The exe inode is the overlay's; __upperdentry is set once it is (copied) up. */
      struct ovl_inode* oi = container_of((void*)ino, struct ovl_inode, vfs_inode);
      e->flags |= BPF_CORE_READ(oi, __upperdentry) ? VG_F_EXE_UPPER : VG_F_EXE_LOWER;
    }
    if (vg_exe_writable(ino, e)) e->flags |= VG_F_EXE_WRITABLE;
    vg_blob_walk(r, VG_B_EXEPATH, t, (__u64)dentry, (__u64)exe->f_path.mnt);
  }
  vg_blob_cwd(r, t);
  if (vg_capture_env) {
    __u64 env_start = mm->env_start;
    vg_blob_user_mem(r, VG_B_ENV, (const void*)env_start, mm->env_end - env_start, VG_MAX_ARGV);
  }
}

static __always_inline int vg_exec_exit(long ret, __u16 type) {
  struct vg_rec r;
  struct task_struct* t;
  if (!vg_sys_begin(&r, &t, type, ret)) return 0;
  if (ret == 0) {
    __builtin_memset(r.e->args, 0, sizeof(r.e->args));
    vg_exec_image(&r, t);
  } else if (type == VG_T_EXECVE) {
    vg_blob_user_str(&r, VG_B_PATH, (const void*)r.e->args[0]);
  } else {
    int first = vg_blob_user_str(&r, VG_B_PATH, (const void*)r.e->args[1]);
    vg_blob_dirfd(&r, t, r.e->args[0], first);
  }
  return vg_rec_submit(&r);
}

VG_SYS_EXIT(execve, VG_T_EXECVE, vg_exec_exit)
VG_SYS_EXIT(execveat, VG_T_EXECVEAT, vg_exec_exit)
