/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Files from the kernel side: fd → struct file, the FDINFO blob, inode timestamps, and the
 * dentry walk that turns a (dentry, vfsmount) pair into a path without bpf_d_path (refused on
 * this kernel for tracepoint programs).
 *
 * Paths are resolved relative to the task's root (task->fs->root), as /proc/PID/root sees
 * them: a process in a container (its own mount namespace and root) gets "/etc/passwd", not the
 * overlay's host path. A path that escapes the task's root (a file opened before chroot) is
 * resolved up to the root of its mount namespace. Unlike d_path() no " (deleted)" suffix is
 * added, and pseudo files (pipes, sockets, anon inodes, memfds) resolve to "/<dentry name>",
 * e.g. "/memfd:name" or "/[eventfd]" - just "/" for pipes and sockets, whose "pipe:[ino]" names
 * d_path() generates; the FDINFO kind says what such an fd is. At most VG_WALK_STEPS components
 * and mount crossings: a deeper path is cut at the top and flagged VG_F_TRUNCATED.
 */
#ifndef VIGIL_BPF_VFS_BPF_H
#define VIGIL_BPF_VFS_BPF_H

#include "vigil.bpf.h"

#define VG_WALK_STEPS 64 /* path components plus mount crossings */
#define VG_NAME_MAX 255

/* The struct file behind `fd` of task `t` (a read-only BTF pointer), or NULL. The fd array is a
 * `struct file **`, which the verifier does not walk: one probe read for the slot. */
static __always_inline struct file* vg_fd_file(struct task_struct* t, __s64 fd) {
  if (fd < 0) return NULL;
  struct fdtable* fdt = t->files->fdt;
  if ((__u64)fd >= fdt->max_fds) return NULL;
  struct file** arr = fdt->fd;
  struct file* f = NULL;
  bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
  if (!f) return NULL;
  return VG_CAST(struct file, f);
}

/* ---- inode state ----------------------------------------------------------------------------- */

/* Inode timestamps moved three times: 6.6 renamed i_ctime to __i_ctime (commit 13bc24457850,
 * "fs: rename i_ctime field to __i_ctime"), 6.7 renamed i_mtime to __i_mtime (commit
 * 12cd44023651, "fs: rename inode i_atime and i_mtime fields"), and 6.11 split them into
 * i_{c,m}time_sec/_nsec (commit 3aa63a569c64, "fs: switch timespec64 fields in inode to
 * discrete integers"). Since 6.13 the top bit of i_ctime_nsec is I_CTIME_QUERIED (multigrain
 * timestamps), hence the mask. */
struct inode___pre611 {
  struct timespec64 i_ctime;
  struct timespec64 __i_ctime;
  struct timespec64 i_mtime;
  struct timespec64 __i_mtime;
};

#define VG_NSEC_PER_SEC 1000000000ull

static __always_inline void vg_inode_times(struct inode* ino, __u64* ctime, __u64* mtime) {
  if (bpf_core_field_exists(ino->i_ctime_sec)) {
    *ctime = BPF_CORE_READ(ino, i_ctime_sec) * VG_NSEC_PER_SEC +
             (BPF_CORE_READ(ino, i_ctime_nsec) & 0x3fffffff);
    *mtime = BPF_CORE_READ(ino, i_mtime_sec) * VG_NSEC_PER_SEC + BPF_CORE_READ(ino, i_mtime_nsec);
    return;
  }
  struct inode___pre611* o = (void*)ino;
  struct timespec64 c = {}, m = {};
  if (bpf_core_field_exists(o->__i_ctime))
    BPF_CORE_READ_INTO(&c, o, __i_ctime);
  else
    BPF_CORE_READ_INTO(&c, o, i_ctime);
  if (bpf_core_field_exists(o->__i_mtime))
    BPF_CORE_READ_INTO(&m, o, __i_mtime);
  else
    BPF_CORE_READ_INTO(&m, o, i_mtime);
  *ctime = c.tv_sec * VG_NSEC_PER_SEC + c.tv_nsec;
  *mtime = m.tv_sec * VG_NSEC_PER_SEC + m.tv_nsec;
}

/* A memfd is a shmem (or hugetlbfs, MFD_HUGETLB) file whose dentry is named "memfd:<name>". */
static __always_inline bool vg_is_memfd(struct dentry* d, unsigned long magic) {
  if (magic != VG_TMPFS_MAGIC && magic != VG_HUGETLBFS_MAGIC) return false;
  const unsigned char* name = d->d_name.name;
  char p[8] = {};
  bpf_probe_read_kernel(p, 6, name);
  return p[0] == 'm' && p[1] == 'e' && p[2] == 'm' && p[3] == 'f' && p[4] == 'd' && p[5] == ':';
}

static __always_inline __u16 vg_fd_kind(struct file* f, __u32 mode, unsigned long magic) {
  /* Anon inodes carry S_IFREG on recent kernels, so the filesystem decides first. */
  if (magic == VG_ANON_INODE_FS_MAGIC || magic == VG_PIDFS_MAGIC) return VG_FD_ANON;
  switch (mode & VG_S_IFMT) {
    case VG_S_IFSOCK:
      return VG_FD_SOCK;
    case VG_S_IFIFO:
      return VG_FD_PIPE;
    case VG_S_IFDIR:
      return VG_FD_DIR;
    case VG_S_IFREG:
      return vg_is_memfd(f->f_path.dentry, magic) ? VG_FD_MEMFD : VG_FD_FILE;
    default:
      return VG_FD_OTHER;
  }
}

/* FDINFO blob for `f` (from vg_fd_file) as fd number `fd`: direct loads only (no helper call
 * unless the file is on tmpfs, where telling a memfd costs one read of its name). Returns the
 * inode (NULL when nothing was written). */
static __always_inline struct inode* vg_blob_fdinfo(struct vg_rec* r, struct file* f, __s32 fd) {
  if (!f) return NULL;
  struct vg_fdinfo* fi = vg_blob_fixed(r, sizeof(*fi));
  if (!fi) return NULL;
  struct inode* ino = f->f_inode;
  struct super_block* sb = ino->i_sb;
  unsigned long magic = sb->s_magic;
  __u32 mode = ino->i_mode;
  fi->fd = fd;
  fi->pad = 0;
  fi->pad2 = 0;
  fi->mode = mode;
  fi->dev = sb->s_dev;
  fi->ino = ino->i_ino;
  fi->f_flags = f->f_flags;
  fi->kind = vg_fd_kind(f, mode, magic);
  vg_blob_commit(r, VG_B_FDINFO, sizeof(*fi));
  return ino;
}

/* ---- the dentry walk ----------------------------------------------------------------------------
 * Builds the path backwards in vg_scratch.walk: it ends at walk[VG_MAX_PATH] and starts at
 * w.pos. One bpf_loop() step per component or mount crossing. The walk's state lives in the
 * scratch map, not in the loop context on the stack: the verifier does not track map contents,
 * so it checks the step once instead of once per distinct position. Kernel pointers are plain
 * addresses read with CO-RE probe reads. */
static long vg_walk_step(__u32 i, void* ctx) {
  __u32 zero = 0;
  struct vg_scratch* s = bpf_map_lookup_elem(&vg_scratch, &zero);
  if (!s) return 1;
  struct vg_walk* w = &s->w;
  struct dentry* d = (struct dentry*)w->dentry;
  struct mount* m = (struct mount*)w->mnt;

  if (!d || !m) {
    w->done = 1;
    return 1;
  }
  if (w->dentry == w->root_dentry && w->mnt + offsetof(struct mount, mnt) == w->root_mnt) {
    w->done = 1;
    return 1;
  }
  if (d == BPF_CORE_READ(m, mnt.mnt_root)) {
    /* Top of this mount: continue at the mountpoint in the parent mount, unless this is
     * the root of the mount tree (its own parent). */
    struct mount* parent_mnt = BPF_CORE_READ(m, mnt_parent);
    if (!parent_mnt || parent_mnt == m) {
      w->done = 1;
      return 1;
    }
    w->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
    w->mnt = (__u64)parent_mnt;
    return 0;
  }

  struct qstr q = {};
  BPF_CORE_READ_INTO(&q, d, d_name);
  struct dentry* parent = BPF_CORE_READ(d, d_parent);
  __u32 len = q.len;
  if (len > VG_NAME_MAX) {
    len = VG_NAME_MAX;
    w->truncated = 1;
  }
  if (len) {
    __s64 pos = w->pos;
    if (pos < (__s64)len + 1 || pos > VG_MAX_PATH) {
      w->truncated = 1;
      return 1;
    }
    pos -= len;
    bpf_probe_read_kernel(s->walk + (pos & (VG_MAX_PATH - 1)), len & VG_NAME_MAX, q.name);
    pos -= 1;
    s->walk[pos & (VG_MAX_PATH - 1)] = '/';
    w->pos = pos;
  }
  if (parent == d || !parent) {
    /* A disconnected or pseudo dentry (memfd, anon inode): its own root. */
    w->done = 1;
    return 1;
  }
  w->dentry = (__u64)parent;
  return 0;
}

/* Blob `kind` with the path of (dentry, vfsmount) as seen from task `t`'s root. */
static __always_inline void vg_blob_walk(struct vg_rec* r, __u16 kind, struct task_struct* t,
                                         __u64 dentry, __u64 vfsmnt) {
  if (!dentry || !vfsmnt) return;
  struct fs_struct* fs = t->fs;
  struct vg_walk* w = &r->s->w;
  w->dentry = dentry;
  w->mnt = vfsmnt - offsetof(struct mount, mnt);
  w->root_dentry = (__u64)fs->root.dentry;
  w->root_mnt = (__u64)fs->root.mnt;
  w->pos = VG_MAX_PATH;
  w->done = 0;
  w->truncated = 0;
  bpf_loop(VG_WALK_STEPS, vg_walk_step, NULL, 0);
  if (!w->done || w->truncated) r->e->flags |= VG_F_TRUNCATED;

  __s64 pos = w->pos;
  if (pos >= VG_MAX_PATH) {
    /* the root itself */
    pos = VG_MAX_PATH - 1;
    r->walk[pos] = '/';
  }
  if (pos < 0) return;
  __u64 len = VG_MAX_PATH - pos;
  __u64 n = vg_room(r, VG_MAX_PATH);
  if (n < len) {
    r->e->flags |= VG_F_TRUNCATED;
    return;
  }
  barrier_var(len);
  if (len > VG_MAX_PATH) return;
  barrier_var(len);
  if (len == 0) return;
  bpf_probe_read_kernel(vg_payload(r), len, r->walk + (pos & (VG_MAX_PATH - 1)));
  vg_blob_commit(r, kind, len);
}

/* FDPATH blob of a struct file. */
static __always_inline void vg_blob_file_path(struct vg_rec* r, __u16 kind, struct task_struct* t,
                                              struct file* f) {
  if (!f) return;
  vg_blob_walk(r, kind, t, (__u64)f->f_path.dentry, (__u64)f->f_path.mnt);
}

/* FDPATH + FDINFO of fd `fd`. */
static __always_inline void vg_blob_fd(struct vg_rec* r, struct task_struct* t, __s64 fd) {
  struct file* f = vg_fd_file(t, fd);
  if (!f) return;
  vg_blob_file_path(r, VG_B_FDPATH, t, f);
  vg_blob_fdinfo(r, f, (__s32)fd);
}

/* The DIRFD_PATH blob of a *at() call's dirfd argument. Contract with the decoder: one
 * DIRFD_PATH per dirfd that is not AT_FDCWD, in argument order (renameat/linkat have two), so
 * the nth blob belongs to the nth such dirfd. It holds the dirfd's resolved path when the path
 * argument it goes with is relative (first byte not '/', or empty with AT_EMPTY_PATH) and is
 * empty otherwise (absolute path, unreadable path, bad fd): no walk where none is needed, and
 * the positions still line up. `first` is what vg_blob_user_str() returned for that path. */
static __always_inline void vg_blob_dirfd(struct vg_rec* r, struct task_struct* t, __u64 dirfd_arg,
                                          int first) {
  __s32 dirfd = (__s32)dirfd_arg;
  if (dirfd == VG_AT_FDCWD) return;
  const __u16 before = r->e->nblobs;
  if (first != '/' && first >= 0) {
    vg_blob_file_path(r, VG_B_DIRFD_PATH, t, vg_fd_file(t, dirfd));
  }
  if (r->e->nblobs == before) {
    if (r->off > VG_MAX_RECORD - sizeof(struct vg_blob)) {
      r->e->flags |= VG_F_TRUNCATED;
      return;
    }
    vg_blob_commit(r, VG_B_DIRFD_PATH, 0);
  }
}

/* The current working directory of `t` (CWD blob). */
static __always_inline void vg_blob_cwd(struct vg_rec* r, struct task_struct* t) {
  struct fs_struct* fs = t->fs;
  vg_blob_walk(r, VG_B_CWD, t, (__u64)fs->pwd.dentry, (__u64)fs->pwd.mnt);
}

#endif /* VIGIL_BPF_VFS_BPF_H */
