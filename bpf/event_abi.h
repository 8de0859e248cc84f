/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one header shared by the kernel programs (the bpf directory) and the agent (agent/).
 * Plain C, fixed-width types, no vmlinux.h: it is compiled by clang -target bpf and by the
 * C++ compiler alike. Every record the kernel writes into the ring buffer starts with a
 * `struct vg_event`; variable data follows as a sequence of blobs.
 *
 * Layout of one record (all little endian, as the host):
 *
 *   struct vg_event   (fixed size, `hdr.size` = whole record length)
 *   struct vg_blob + bytes, padded to 8 bytes   (hdr.nblobs times)
 *
 * Bump VG_ABI_VERSION whenever a struct or an enum below changes meaning.
 */
#ifndef VIGIL_BPF_EVENT_ABI_H
#define VIGIL_BPF_EVENT_ABI_H

#ifdef __bpf__
/* vmlinux.h provides __u8..__u64 */
#else
#include <linux/types.h>
#endif

#define VG_ABI_VERSION 1

/* Record types. Syscall exits use the VG_T_* of the syscall; the rest are process lifecycle
 * records from sched tracepoints. The agent maps them to fields::SyscallType by name; these
 * numbers are the index of the in-kernel interest table `vg_interest` (bss). */
enum vg_type {
  /* process lifecycle (always captured: the process table needs them) */
  VG_T_FORK = 0, /* sched_process_fork of a new thread group (not a thread) */
  VG_T_PROCEXIT, /* sched_process_exit of the last thread of a thread group */
  VG_T_EXECVE,   /* sys_exit_execve; on success the new image's state */
  VG_T_EXECVEAT,
  VG_T_CLONE, /* sys_exit_clone etc. only when a rule asks (parent side, res = child pid) */
  VG_T_CLONE3,
  VG_T_FORK_SYSCALL, /* fork(2) */
  VG_T_VFORK,
  /* credentials */
  VG_T_SETUID,
  VG_T_SETGID,
  VG_T_SETREUID,
  VG_T_SETRESUID,
  VG_T_SETRESGID,
  VG_T_CAPSET,
  VG_T_PRCTL,
  VG_T_SETSID,
  /* namespaces, mounts, cwd */
  VG_T_SETNS,
  VG_T_UNSHARE,
  VG_T_MOUNT,
  VG_T_UMOUNT2,
  VG_T_CHROOT,
  VG_T_PIVOT_ROOT,
  VG_T_CHDIR,  /* always captured: cwd tracking */
  VG_T_FCHDIR, /* always captured: cwd tracking */
  /* modules, bpf, tracing, memory */
  VG_T_INIT_MODULE,
  VG_T_FINIT_MODULE,
  VG_T_DELETE_MODULE,
  VG_T_BPF,
  VG_T_PTRACE,
  VG_T_PROCESS_VM_READV,
  VG_T_PROCESS_VM_WRITEV,
  VG_T_MEMFD_CREATE,
  VG_T_USERFAULTFD,
  VG_T_IO_URING_SETUP,
  VG_T_KILL,
  VG_T_TKILL,
  VG_T_TGKILL,
  /* files */
  VG_T_OPEN,
  VG_T_OPENAT,
  VG_T_OPENAT2,
  VG_T_OPEN_BY_HANDLE_AT,
  VG_T_CREAT,
  VG_T_CLOSE,
  VG_T_DUP,
  VG_T_DUP2,
  VG_T_DUP3,
  VG_T_LINK,
  VG_T_LINKAT,
  VG_T_SYMLINK,
  VG_T_SYMLINKAT,
  VG_T_UNLINK,
  VG_T_UNLINKAT,
  VG_T_RENAME,
  VG_T_RENAMEAT,
  VG_T_RENAMEAT2,
  VG_T_MKDIR,
  VG_T_MKDIRAT,
  VG_T_RMDIR,
  VG_T_CHMOD,
  VG_T_FCHMOD,
  VG_T_FCHMODAT,
  VG_T_CHOWN,
  VG_T_FCHOWN,
  VG_T_FCHOWNAT,
  /* network */
  VG_T_SOCKET,
  VG_T_CONNECT,
  VG_T_BIND,
  VG_T_LISTEN,
  VG_T_ACCEPT,
  VG_T_ACCEPT4,
  VG_T_SENDTO,
  VG_T_SENDMSG,
  VG_T_RECVFROM,
  VG_T_RECVMSG,
  VG_T_COUNT
};

/* Blob kinds. */
enum vg_blob_kind {
  VG_B_PATH = 1,   /* first path argument as the process passed it (not NUL-terminated) */
  VG_B_PATH2,      /* second path argument (rename/link/symlink target side) */
  VG_B_ARGV,       /* exec: the new image's mm arg area, "argv0\0argv1\0..." (truncated) */
  VG_B_EXEPATH,    /* exec: resolved path of mm->exe_file (dentry walk across mounts) */
  VG_B_CWD,        /* exec/chdir/fchdir: resolved current working directory */
  VG_B_FDPATH,     /* resolved path of the file behind the syscall's fd (or the new fd) */
  VG_B_SOCKADDR,   /* raw struct sockaddr the process passed (connect/bind/sendto), <= 128 B */
  VG_B_SOCKTUPLE,  /* struct vg_socktuple of the syscall's socket fd after the call */
  VG_B_FDINFO,     /* struct vg_fdinfo of the syscall's (or the new) fd */
  VG_B_DIRFD_PATH, /* resolved path of the dirfd argument of *at() calls when it is not AT_FDCWD
                    * (one per such dirfd, in argument order; empty when its path is absolute) */
  VG_B_ENV,        /* exec: the new image's environment area (truncated), "K=V\0..." */
};

/* Flags on vg_event.flags */
#define VG_F_TRUNCATED (1u << 0)    /* some blob was cut to fit */
#define VG_F_EXE_MEMFD (1u << 1)    /* exec: exe_file is a memfd (shmem, name "memfd:...") */
#define VG_F_EXE_UPPER (1u << 2)    /* exec: exe on an overlayfs upper layer */
#define VG_F_EXE_LOWER (1u << 3)    /* exec: exe on an overlayfs lower layer */
#define VG_F_EXE_WRITABLE (1u << 4) /* exec: the exe inode is writable by the caller's uid */
#define VG_F_IS_THREAD (1u << 5)    /* fork: CLONE_THREAD (never sent as VG_T_FORK) */
#define VG_F_OPEN_CREATED (1u << 6) /* open*: O_CREAT created the file (best effort) */

/* Fixed header of every record. 8-byte aligned, 216 bytes. */
struct vg_event {
  __u32 size; /* total record size in bytes, header and blobs */
  __u16 type; /* enum vg_type */
  __u16 cpu;
  __u64 ts;         /* bpf_ktime_get_boot_ns() at the hook */
  __s64 res;        /* syscall return value (>= 0 or -errno); fork: child tgid; exit: exit code
                     * as wait(2) reports it (task->exit_code: status << 8 | signal) */
  __u64 args[6];    /* raw syscall arguments from pt_regs (successful exec: zero) */
  __u64 cgroup_id;  /* cgroup v2 id of the task (bpf_get_current_cgroup_id) */
  __u64 start_time; /* thread group leader's start_boottime, ns since boot */
  __u64 parent_start_time; /* real_parent's group leader start_boottime */
  __u64 cap_effective;
  __u64 cap_permitted;
  __u64 cap_inheritable;
  __u64 exe_ino;   /* exec: exe inode number */
  __u64 exe_ctime; /* exec: exe inode ctime, ns since epoch */
  __u64 exe_mtime; /* exec: exe inode mtime, ns since epoch */
  __u32 tgid;      /* host pid namespace */
  __u32 tid;
  __u32 ppid;  /* real_parent's tgid */
  __u32 vtgid; /* in the task's own pid namespace */
  __u32 vtid;
  __u32 sid;      /* session id in the task's pid namespace */
  __u32 vpgid;    /* process group id in the task's pid namespace */
  __u32 uid;      /* effective uid (cred->euid), init user namespace */
  __u32 gid;      /* effective gid */
  __u32 loginuid; /* (u32)-1 when unset */
  __u32 tty;      /* controlling tty as dev_t (MAJOR << 20 | MINOR), 0 = none */
  __u32 flags;    /* VG_F_* */
  __u16 nblobs;
  __u16 abi;        /* VG_ABI_VERSION */
  __u32 pidns_inum; /* pid namespace inode number (host = 0xEFFFFFFC) */
  char comm[16];
};

struct vg_blob {
  __u16 kind; /* enum vg_blob_kind */
  __u16 len;  /* payload bytes (not counting padding) */
  __u32 reserved;
  /* payload, then padding to a multiple of 8 */
};

/* Socket state of an fd, read from struct sock after the syscall. */
struct vg_socktuple {
  __u16 family;   /* AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, AF_PACKET ... */
  __u16 type;     /* SOCK_STREAM, SOCK_DGRAM, ... (sk_type) */
  __u16 protocol; /* IPPROTO_* (sk_protocol) */
  __u16 sport;    /* local port, host byte order */
  __u16 dport;    /* peer port, host byte order */
  __u16 state;    /* sk_state */
  __u32 pad;
  __u8 saddr[16]; /* local address: v4 in the first 4 bytes, network order */
  __u8 daddr[16]; /* peer address */
};

/* File state of an fd. */
#define VG_FD_FILE 1
#define VG_FD_DIR 2
#define VG_FD_SOCK 3
#define VG_FD_PIPE 4
#define VG_FD_MEMFD 5
#define VG_FD_ANON 6  /* anon_inode: eventfd, epoll, bpf, ...; name in the FDPATH blob */
#define VG_FD_OTHER 7 /* char/block devices, ... */
struct vg_fdinfo {
  __s32 fd;
  __u16 kind; /* VG_FD_* */
  __u16 pad;
  __u32 dev;  /* i_sb->s_dev, MAJOR << 20 | MINOR */
  __u32 mode; /* i_mode */
  __u64 ino;
  __u32 f_flags; /* file->f_flags */
  __u32 pad2;
};

/* Counters in the per-CPU array map `vg_stats`, one __u64 per index per CPU. */
enum vg_stat {
  VG_S_EVENTS = 0,    /* records written */
  VG_S_DROPS,         /* failed ring-buffer writes (ring full) */
  VG_S_DROPS_SCRATCH, /* records abandoned before the write (scratch too small, read failure) */
  VG_S_COUNT
};

#define VG_MAX_RECORD 16384 /* a record never exceeds this (scratch buffer size) */
#define VG_MAX_PATH 4096    /* longest path blob */
#define VG_MAX_ARGV 4096    /* longest argv / env blob */
#define VG_MAX_SOCKADDR 128

#endif /* VIGIL_BPF_EVENT_ABI_H */
