/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Socket syscalls. SOCKTUPLE is read from the socket's struct sock after the call (addresses as
 * the kernel holds them, ports in host order); connect/bind/sendto also carry the sockaddr the
 * process passed (SOCKADDR, raw, at most VG_MAX_SOCKADDR bytes).
 *
 * Blobs per type:
 *   socket                         FDINFO + SOCKTUPLE of the new fd
 *   connect, bind                  SOCKTUPLE of the fd argument, SOCKADDR (args 1, 2)
 *   sendto                         SOCKTUPLE, SOCKADDR (args 4, 5) when given
 *   listen, sendmsg, recvfrom,
 *   recvmsg                        SOCKTUPLE of the fd argument
 *   accept, accept4                SOCKTUPLE of the new fd (res)
 * AF_UNIX peers are not resolved (SOCKADDR has the path for connect/bind).
 */
#include "vfs.bpf.h"

#define VG_AF_INET 2
#define VG_AF_INET6 10

static __always_inline void vg_blob_socktuple(struct vg_rec* r, struct file* f) {
  if (!f) return;
  if ((f->f_inode->i_mode & VG_S_IFMT) != VG_S_IFSOCK) return;
  struct socket* sock = VG_CAST(struct socket, f->private_data);
  struct sock* sk = sock->sk;
  if (!sk) return;
  struct vg_socktuple* st = vg_blob_fixed(r, sizeof(*st));
  if (!st) return;
  __builtin_memset(st, 0, sizeof(*st));
  __u16 family = sk->__sk_common.skc_family;
  st->family = family;
  /* sk_type and sk_protocol were bitfields until 5.6 (commit bf9765145b85, "sock: Make
   * sk_protocol a 16-bit value"); the CO-RE bitfield read handles both layouts. */
  st->type = BPF_CORE_READ_BITFIELD(sk, sk_type);
  st->protocol = BPF_CORE_READ_BITFIELD(sk, sk_protocol);
  st->state = sk->__sk_common.skc_state;
  if (family == VG_AF_INET || family == VG_AF_INET6) {
    st->sport = sk->__sk_common.skc_num;
    st->dport = bpf_ntohs(sk->__sk_common.skc_dport);
  }
  if (family == VG_AF_INET) {
    *(__u32*)st->saddr = sk->__sk_common.skc_rcv_saddr;
    *(__u32*)st->daddr = sk->__sk_common.skc_daddr;
  } else if (family == VG_AF_INET6 && bpf_core_field_exists(sk->__sk_common.skc_v6_daddr)) {
    BPF_CORE_READ_INTO((struct in6_addr*)st->saddr, sk, __sk_common.skc_v6_rcv_saddr);
    BPF_CORE_READ_INTO((struct in6_addr*)st->daddr, sk, __sk_common.skc_v6_daddr);
  }
  vg_blob_commit(r, VG_B_SOCKTUPLE, sizeof(*st));
}

static __always_inline int vg_net_exit(long ret, __u16 type) {
  struct vg_rec r;
  struct task_struct* t;
  if (!vg_sys_begin(&r, &t, type, ret)) return 0;
  struct vg_event* e = r.e;
  struct file* f;
  switch (type) {
    case VG_T_SOCKET: /* socket(domain, type, protocol) */
      f = vg_fd_file(t, ret);
      vg_blob_fdinfo(&r, f, ret);
      vg_blob_socktuple(&r, f);
      break;
    case VG_T_ACCEPT:  /* accept(fd, addr, addrlen) */
    case VG_T_ACCEPT4: /* accept4(fd, addr, addrlen, flags) */
      vg_blob_socktuple(&r, vg_fd_file(t, ret));
      break;
    case VG_T_CONNECT: /* connect(fd, addr, addrlen) */
    case VG_T_BIND:    /* bind(fd, addr, addrlen) */
      vg_blob_socktuple(&r, vg_fd_file(t, (__s32)e->args[0]));
      vg_blob_user_mem(&r, VG_B_SOCKADDR, (const void*)e->args[1], (__u32)e->args[2],
                       VG_MAX_SOCKADDR);
      break;
    case VG_T_SENDTO: /* sendto(fd, buf, len, flags, addr, addrlen) */
      vg_blob_socktuple(&r, vg_fd_file(t, (__s32)e->args[0]));
      if (e->args[4])
        vg_blob_user_mem(&r, VG_B_SOCKADDR, (const void*)e->args[4], (__u32)e->args[5],
                         VG_MAX_SOCKADDR);
      break;
    default: /* listen, sendmsg, recvfrom, recvmsg */
      vg_blob_socktuple(&r, vg_fd_file(t, (__s32)e->args[0]));
      break;
  }
  return vg_rec_submit(&r);
}

VG_SYS_EXIT(socket, VG_T_SOCKET, vg_net_exit)
VG_SYS_EXIT(connect, VG_T_CONNECT, vg_net_exit)
VG_SYS_EXIT(bind, VG_T_BIND, vg_net_exit)
VG_SYS_EXIT(listen, VG_T_LISTEN, vg_net_exit)
VG_SYS_EXIT(accept, VG_T_ACCEPT, vg_net_exit)
VG_SYS_EXIT(accept4, VG_T_ACCEPT4, vg_net_exit)
VG_SYS_EXIT(sendto, VG_T_SENDTO, vg_net_exit)
VG_SYS_EXIT(sendmsg, VG_T_SENDMSG, vg_net_exit)
VG_SYS_EXIT(recvfrom, VG_T_RECVFROM, vg_net_exit)
VG_SYS_EXIT(recvmsg, VG_T_RECVMSG, vg_net_exit)
