/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * File syscalls. openat is the hottest program of the agent (every open on the node runs it when
 * a rule needs it), so the open family does the minimum: the path argument as passed (user space
 * resolves relative paths against the cwd it tracks), FDINFO of the new fd, and a dentry walk
 * only for a relative path with a real dirfd (DIRFD_PATH).
 *
 * Blobs per type:
 *   open, openat, openat2, creat       PATH, FDINFO(new fd), DIRFD_PATH; VG_F_OPEN_CREATED
 *   open_by_handle_at                  FDPATH + FDINFO of the new fd (there is no path argument)
 *   memfd_create                       PATH = the name argument, FDINFO(new fd)
 *   dup, dup2, dup3                    FDPATH + FDINFO of the new fd
 *   close                              header and args only (the fd is gone at exit)
 *   fchmod, fchown                     FDPATH + FDINFO of the fd argument
 *   link, rename, symlink              PATH (old / target), PATH2 (new / linkpath)
 *   linkat, renameat, renameat2        PATH, PATH2, DIRFD_PATH (olddirfd), DIRFD_PATH (newdirfd)
 *   symlinkat                          PATH (target), PATH2 (linkpath), DIRFD_PATH
 *   unlink, mkdir, rmdir, chmod, chown PATH
 *   unlinkat, mkdirat, fchmodat,
 *   fchownat                           PATH, DIRFD_PATH
 */
#include "vfs.bpf.h"

/* bpf_ktime_get_tai_ns() (6.1) is newer than the libbpf headers in use. */
static __u64 (*vg_ktime_get_tai_ns)(void) = (void*)208;

/* VG_F_OPEN_CREATED, best effort: O_CREAT|O_EXCL succeeded (certain), or O_CREAT and the inode's
 * ctime is within 20 ms before now. ctime is CLOCK_REALTIME and the clock here is CLOCK_TAI,
 * equal unless a TAI offset is configured (then only O_EXCL opens are flagged); a file someone
 * else changed in those 20 ms is a false positive. */
static __always_inline void vg_open_created(struct vg_rec* r, struct inode* ino, __u64 flags) {
  if (!(flags & VG_O_CREAT) || !ino) return;
  if (flags & VG_O_EXCL) {
    r->e->flags |= VG_F_OPEN_CREATED;
    return;
  }
  if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_ktime_get_tai_ns)) return;
  __u64 ctime = 0, mtime = 0;
  vg_inode_times(ino, &ctime, &mtime);
  __u64 now = vg_ktime_get_tai_ns();
  if (ctime <= now + 1000000 && ctime + 20000000 >= now) r->e->flags |= VG_F_OPEN_CREATED;
}

static __always_inline int vg_file_exit(long ret, __u16 type) {
  struct vg_rec r;
  struct task_struct* t;
  if (!vg_sys_begin(&r, &t, type, ret)) return 0;
  struct vg_event* e = r.e;
  const void* a0 = (const void*)e->args[0];
  const void* a1 = (const void*)e->args[1];
  const void* a2 = (const void*)e->args[2];
  const void* a3 = (const void*)e->args[3];
  int first;
  struct inode* ino;

  switch (type) {
    case VG_T_OPENAT: /* openat(dirfd, path, flags, mode) */
      first = vg_blob_user_str(&r, VG_B_PATH, a1);
      if (ret >= 0) {
        ino = vg_blob_fdinfo(&r, vg_fd_file(t, ret), ret);
        vg_open_created(&r, ino, e->args[2]);
      }
      vg_blob_dirfd(&r, t, e->args[0], first);
      break;
    case VG_T_OPENAT2: /* openat2(dirfd, path, struct open_how *how, size) */
      first = vg_blob_user_str(&r, VG_B_PATH, a1);
      if (ret >= 0) {
        __u64 how_flags = 0;
        bpf_probe_read_user(&how_flags, sizeof(how_flags), a2);
        ino = vg_blob_fdinfo(&r, vg_fd_file(t, ret), ret);
        vg_open_created(&r, ino, how_flags);
      }
      vg_blob_dirfd(&r, t, e->args[0], first);
      break;
    case VG_T_OPEN:  /* open(path, flags, mode) */
    case VG_T_CREAT: /* creat(path, mode) == open(path, O_CREAT|O_WRONLY|O_TRUNC, mode) */
      vg_blob_user_str(&r, VG_B_PATH, a0);
      if (ret >= 0) {
        ino = vg_blob_fdinfo(&r, vg_fd_file(t, ret), ret);
        vg_open_created(&r, ino, type == VG_T_CREAT ? VG_O_CREAT : e->args[1]);
      }
      break;
    case VG_T_OPEN_BY_HANDLE_AT: /* open_by_handle_at(mount_fd, handle, flags) */
    case VG_T_DUP:               /* dup(fd) */
    case VG_T_DUP2:              /* dup2(fd, newfd) */
    case VG_T_DUP3:              /* dup3(fd, newfd, flags) */
      vg_blob_fd(&r, t, ret);
      break;
    case VG_T_MEMFD_CREATE: /* memfd_create(name, flags) */
      vg_blob_user_str(&r, VG_B_PATH, a0);
      if (ret >= 0) vg_blob_fdinfo(&r, vg_fd_file(t, ret), ret);
      break;
    case VG_T_FCHMOD: /* fchmod(fd, mode) */
    case VG_T_FCHOWN: /* fchown(fd, uid, gid) */
      vg_blob_fd(&r, t, (__s32)e->args[0]);
      break;
    case VG_T_LINK:    /* link(old, new) */
    case VG_T_RENAME:  /* rename(old, new) */
    case VG_T_SYMLINK: /* symlink(target, linkpath) */
      vg_blob_user_str(&r, VG_B_PATH, a0);
      vg_blob_user_str(&r, VG_B_PATH2, a1);
      break;
    case VG_T_LINKAT:    /* linkat(olddirfd, old, newdirfd, new, flags) */
    case VG_T_RENAMEAT:  /* renameat(olddirfd, old, newdirfd, new) */
    case VG_T_RENAMEAT2: /* renameat2(olddirfd, old, newdirfd, new, flags) */
      first = vg_blob_user_str(&r, VG_B_PATH, a1);
      vg_blob_dirfd(&r, t, e->args[0], first);
      first = vg_blob_user_str(&r, VG_B_PATH2, a3);
      vg_blob_dirfd(&r, t, e->args[2], first);
      break;
    case VG_T_SYMLINKAT: /* symlinkat(target, newdirfd, linkpath) */
      vg_blob_user_str(&r, VG_B_PATH, a0);
      first = vg_blob_user_str(&r, VG_B_PATH2, a2);
      vg_blob_dirfd(&r, t, e->args[1], first);
      break;
    case VG_T_UNLINK: /* unlink(path) */
    case VG_T_MKDIR:  /* mkdir(path, mode) */
    case VG_T_RMDIR:  /* rmdir(path) */
    case VG_T_CHMOD:  /* chmod(path, mode) */
    case VG_T_CHOWN:  /* chown(path, uid, gid) */
      vg_blob_user_str(&r, VG_B_PATH, a0);
      break;
    case VG_T_UNLINKAT: /* unlinkat(dirfd, path, flags) */
    case VG_T_MKDIRAT:  /* mkdirat(dirfd, path, mode) */
    case VG_T_FCHMODAT: /* fchmodat(dirfd, path, mode) */
    case VG_T_FCHOWNAT: /* fchownat(dirfd, path, uid, gid, flags) */
      first = vg_blob_user_str(&r, VG_B_PATH, a1);
      vg_blob_dirfd(&r, t, e->args[0], first);
      break;
    default: /* close */
      break;
  }
  return vg_rec_submit(&r);
}

VG_SYS_EXIT(open, VG_T_OPEN, vg_file_exit)
VG_SYS_EXIT(openat, VG_T_OPENAT, vg_file_exit)
VG_SYS_EXIT(openat2, VG_T_OPENAT2, vg_file_exit)
VG_SYS_EXIT(open_by_handle_at, VG_T_OPEN_BY_HANDLE_AT, vg_file_exit)
VG_SYS_EXIT(creat, VG_T_CREAT, vg_file_exit)
VG_SYS_EXIT(close, VG_T_CLOSE, vg_file_exit)
VG_SYS_EXIT(dup, VG_T_DUP, vg_file_exit)
VG_SYS_EXIT(dup2, VG_T_DUP2, vg_file_exit)
VG_SYS_EXIT(dup3, VG_T_DUP3, vg_file_exit)
VG_SYS_EXIT(memfd_create, VG_T_MEMFD_CREATE, vg_file_exit)
VG_SYS_EXIT(link, VG_T_LINK, vg_file_exit)
VG_SYS_EXIT(linkat, VG_T_LINKAT, vg_file_exit)
VG_SYS_EXIT(symlink, VG_T_SYMLINK, vg_file_exit)
VG_SYS_EXIT(symlinkat, VG_T_SYMLINKAT, vg_file_exit)
VG_SYS_EXIT(unlink, VG_T_UNLINK, vg_file_exit)
VG_SYS_EXIT(unlinkat, VG_T_UNLINKAT, vg_file_exit)
VG_SYS_EXIT(rename, VG_T_RENAME, vg_file_exit)
VG_SYS_EXIT(renameat, VG_T_RENAMEAT, vg_file_exit)
VG_SYS_EXIT(renameat2, VG_T_RENAMEAT2, vg_file_exit)
VG_SYS_EXIT(mkdir, VG_T_MKDIR, vg_file_exit)
VG_SYS_EXIT(mkdirat, VG_T_MKDIRAT, vg_file_exit)
VG_SYS_EXIT(rmdir, VG_T_RMDIR, vg_file_exit)
VG_SYS_EXIT(chmod, VG_T_CHMOD, vg_file_exit)
VG_SYS_EXIT(fchmod, VG_T_FCHMOD, vg_file_exit)
VG_SYS_EXIT(fchmodat, VG_T_FCHMODAT, vg_file_exit)
VG_SYS_EXIT(chown, VG_T_CHOWN, vg_file_exit)
VG_SYS_EXIT(fchown, VG_T_FCHOWN, vg_file_exit)
VG_SYS_EXIT(fchownat, VG_T_FCHOWNAT, vg_file_exit)
