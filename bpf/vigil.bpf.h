/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Kernel-only helpers shared by every bpf/<family>.bpf.c: the maps and knobs (merged into one
 * copy by `bpftool gen object`; see below), building a record in the per-CPU scratch buffer
 * (header, blobs) and writing it to the ring buffer.
 *
 * A record is built in place in vg_scratch (never on the 512-byte BPF stack) and copied into the
 * ring buffer with one bpf_ringbuf_output(): records have a variable size, and
 * bpf_ringbuf_reserve() only takes a constant one.
 *
 * Hot path rule: the openat program runs this code for every openat on the node, and on this
 * kernel every helper call costs ~15-20 ns (retpolines, SRSO return thunks). So kernel structs
 * are read with direct (BTF, PROBE_MEM) loads wherever the verifier allows them - from the
 * current task, and from plain addresses through bpf_rdonly_cast() - and with
 * bpf_probe_read_kernel() only where it does not (variable array indices, a `struct file **`
 * slot, the cold paths).
 */
#ifndef VIGIL_BPF_VIGIL_BPF_H
#define VIGIL_BPF_VIGIL_BPF_H

/* vmlinux.h defines the types the libbpf headers use, so it comes first. */
// clang-format off
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
// clang-format on

#include "event_abi.h"

/* ---- maps and knobs ------------------------------------------------------------------------
 * Maps are defined __weak in every object and merged by the linker: bpftool 7.1's linker
 * (libbpf 1.1) gets an `extern` map wrong when an object declaring it comes before the one
 * defining it (all .maps DATASEC offsets become 0 and the skeleton fails to open), and the
 * CMake glob links the objects in name order. The .bss/.rodata globals are defined in
 * maps.bpf.c and `extern` elsewhere, which that linker handles in any order. */

#ifdef VG_DEFINE_GLOBALS
#define VG_GLOBAL
#define VG_INIT(v) = v
#else
#define VG_GLOBAL extern
#define VG_INIT(v)
#endif

/* Records; max_entries is set by user space (bpf_map__set_max_entries) before load. */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 20);
} vg_ring SEC(".maps") __weak;

/* enum vg_stat counters, one __u64 per CPU each. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, VG_S_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} vg_stats SEC(".maps") __weak;

/* The record under construction. rec has room past VG_MAX_RECORD so that a blob written at a
 * masked offset (< VG_MAX_RECORD) with a bounded length always stays inside the value, which is
 * what the verifier checks; the logical limit VG_MAX_RECORD is enforced separately. walk holds a
 * path being built backwards by the dentry walk (vfs.bpf.h). */
#define VG_OFF_MASK (VG_MAX_RECORD - 1)
#define VG_REC_BUF (VG_MAX_RECORD + VG_MAX_PATH + 64)
#define VG_WALK_BUF (2 * VG_MAX_PATH)
struct vg_scratch {
  __u8 rec[VG_REC_BUF];
  char walk[VG_WALK_BUF];
  struct vg_walk {     /* the dentry walk in progress (vfs.bpf.h) */
    __u64 dentry;      /* current dentry */
    __u64 mnt;         /* current struct mount */
    __u64 root_dentry; /* the task's root */
    __u64 root_mnt;    /* its struct vfsmount */
    __s64 pos;         /* the path so far is walk[pos, VG_MAX_PATH) */
    __u32 done;        /* reached a root: the path is complete */
    __u32 truncated;
  } w;
  __u64 unqueried;  /* bytes this CPU wrote since it last looked at the ring's backlog */
  __u64 last_avail; /* the backlog it saw then */
};
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vg_scratch);
} vg_scratch SEC(".maps") __weak;

/* Which record types to emit, indexed by enum vg_type; written by user space through the
 * mmapped .bss (Probe::set_interest). */
VG_GLOBAL volatile __u8 vg_interest[VG_T_COUNT];

/* .rodata knobs, set before load; the verifier treats them as constants and drops the code
 * behind a knob that is off. */
VG_GLOBAL const volatile __u32 vg_self_tgid VG_INIT(0);    /* the agent: never traced */
VG_GLOBAL const volatile __u32 vg_only_tgid VG_INIT(0);    /* tests: trace only this tgid */
VG_GLOBAL const volatile __u32 vg_wakeup_bytes VG_INIT(0); /* power of two; 0: kernel decides */
VG_GLOBAL const volatile __u32 vg_capture_env VG_INIT(0);

/* bpf_rdonly_cast() (6.2) turns a plain kernel address into a read-only BTF pointer, so fields
 * are direct loads instead of one bpf_probe_read_kernel() call each; the verifier rewrites the
 * call into a register move. This is what sets the probe's minimum kernel at 6.2.
 *
 * Link quirk: bpftool 7.1's linker (libbpf 1.1) fails on a kfunc declared `__ksym` in more than
 * one object ("failed to resolve size of underlying type"), but accepts one `__ksym` declaration
 * followed by plain `extern` declarations in the objects linked after it. The objects are linked
 * in name order, so exec.bpf.c, the first that calls it, defines VG_DECLARE_KFUNCS; a new
 * object that sorts before it and calls a kfunc must take the role over. */
#ifdef VG_DECLARE_KFUNCS
extern void* bpf_rdonly_cast(const void* obj__ign, __u32 btf_id__k) __ksym;
#else
extern void* bpf_rdonly_cast(const void* obj__ign, __u32 btf_id__k);
#endif
#define VG_CAST(type, ptr) \
  ((type*)bpf_rdonly_cast((const void*)(ptr), bpf_core_type_id_kernel(type)))

/* Every pointer loaded from a *trusted* BTF pointer (bpf_get_current_task_btf(), tp_btf
 * arguments) makes the verifier look up "<type>__safe_trusted" by name in the kernel's BTF, a
 * linear scan: that was 90% of the probe's load time (~20 ms per program). Walking from a
 * read-only cast of the same task costs nothing at run time (the cast is a register move) and
 * nothing at load time. Helpers that need the trusted pointer (bpf_task_pt_regs) get the
 * original. */
#define vg_untrusted_task(t) VG_CAST(struct task_struct, (t))

/* ---- small definitions vmlinux.h does not carry ------------------------------------------- */

#define VG_AT_FDCWD -100
#define VG_O_CREAT 0100
#define VG_O_EXCL 0200
#define VG_S_IFMT 00170000
#define VG_S_IFSOCK 0140000
#define VG_S_IFREG 0100000
#define VG_S_IFDIR 0040000
#define VG_S_IFIFO 0010000
#define VG_S_IWUSR 00200
#define VG_S_IWGRP 00020
#define VG_S_IWOTH 00002
#define VG_CAP_DAC_OVERRIDE 1
#define VG_SB_RDONLY 1

#define VG_TMPFS_MAGIC 0x01021994
#define VG_HUGETLBFS_MAGIC 0x958458f6
#define VG_OVERLAYFS_MAGIC 0x794c7630
#define VG_SOCKFS_MAGIC 0x534F434B
#define VG_PIPEFS_MAGIC 0x50495045
#define VG_ANON_INODE_FS_MAGIC 0x09041934
#define VG_PIDFS_MAGIC 0x50494446

#define VG_PIDTYPE_PGID 2
#define VG_PIDTYPE_SID 3

/* ---- counters ------------------------------------------------------------------------------ */

static __always_inline void vg_count(__u32 stat) {
  /* Syscall tracepoints and the sched tp_btf programs run with preemption disabled and never
   * nest on one CPU, so a plain per-CPU increment is exact. */
  __u64* v = bpf_map_lookup_elem(&vg_stats, &stat);
  if (v) *v += 1;
}

/* ---- the record under construction ---------------------------------------------------------- */

struct vg_rec {
  struct vg_scratch* s;
  struct vg_event* e; /* == buf */
  __u8* buf;          /* vg_scratch.rec */
  char* walk;         /* vg_scratch.walk */
  __u32 off;          /* bytes used so far (header + blobs), <= VG_MAX_RECORD */
};

static __always_inline bool vg_traced(__u32 tgid) {
  if (vg_only_tgid && tgid != vg_only_tgid) return false;
  return tgid != vg_self_tgid;
}

/* struct pid ends in a flexible array of struct upid, one per pid namespace level. A constant
 * index is a direct (BTF) load; levels 0 (host) and 1 (a container) cover nearly every task, and
 * deeper ones take a probe read. */
static __always_inline __u32 vg_upid(struct pid* pid, __u32 level, struct pid_namespace** ns) {
  if (level == 0) {
    *ns = pid->numbers[0].ns;
    return pid->numbers[0].nr;
  }
  if (level == 1) {
    *ns = pid->numbers[1].ns;
    return pid->numbers[1].nr;
  }
  struct upid up = {};
  bpf_core_read(&up, sizeof(up), &pid->numbers[level & 31]);
  *ns = up.ns;
  return up.nr;
}

/* The pid of `pid` as seen from the pid namespace `ns` at `level` (pid_nr_ns()), 0 when the pid
 * is not visible there. */
static __always_inline __u32 vg_pid_nr_ns(struct pid* pid, __u32 level, struct pid_namespace* ns) {
  if (!pid || pid->level < level) return 0;
  struct pid_namespace* pns = NULL;
  __u32 nr = vg_upid(pid, level, &pns);
  return pns == ns ? nr : 0;
}

/* kernel_cap_t was `struct kernel_cap_struct { __u32 cap[2]; }` until 6.3, which made it
 * `struct { u64 val; }` (commit f122a08b197d, "capability: just use a 'u64' instead of a
 * 'u32[2]' array"). Both are 8 little-endian bytes; the flavour below reads the old one. */
struct kernel_cap_struct___pre63 {
  __u32 cap[2];
};
struct cred___pre63 {
  struct kernel_cap_struct___pre63 cap_inheritable;
  struct kernel_cap_struct___pre63 cap_permitted;
  struct kernel_cap_struct___pre63 cap_effective;
};

static __always_inline void vg_fill_caps(struct vg_event* e, const struct cred* cred) {
  if (bpf_core_field_exists(cred->cap_effective.val)) {
    e->cap_effective = cred->cap_effective.val;
    e->cap_permitted = cred->cap_permitted.val;
    e->cap_inheritable = cred->cap_inheritable.val;
  } else {
    struct cred___pre63* o = (void*)cred;
    e->cap_effective = BPF_CORE_READ(o, cap_effective.cap[0]) |
                       ((__u64)BPF_CORE_READ(o, cap_effective.cap[1]) << 32);
    e->cap_permitted = BPF_CORE_READ(o, cap_permitted.cap[0]) |
                       ((__u64)BPF_CORE_READ(o, cap_permitted.cap[1]) << 32);
    e->cap_inheritable = BPF_CORE_READ(o, cap_inheritable.cap[0]) |
                         ((__u64)BPF_CORE_READ(o, cap_inheritable.cap[1]) << 32);
  }
}

/* Fills every identity field of the header from task `t` (current, or the fork child). The
 * caller sets type, res, args and ts/cpu/abi stay as vg_rec_begin() set them. */
static __always_inline void vg_fill_task(struct vg_event* e, struct task_struct* task) {
  struct task_struct* t = vg_untrusted_task(task);
  struct task_struct* parent = t->real_parent;
  const struct cred* cred = t->cred;

  e->tgid = t->tgid;
  e->tid = t->pid;
  e->ppid = parent->tgid;
  e->start_time = t->group_leader->start_boottime;
  e->parent_start_time = parent->group_leader->start_boottime;
  e->uid = cred->euid.val;
  e->gid = cred->egid.val;
  vg_fill_caps(e, cred);
  /* CONFIG_AUDIT off: no loginuid. */
  if (bpf_core_field_exists(t->loginuid))
    e->loginuid = t->loginuid.val;
  else
    e->loginuid = (__u32)-1;

  /* Namespaced ids: the task's own pid namespace is the one at thread_pid->level. */
  struct pid* tp = t->thread_pid;
  __u32 level = tp->level;
  struct pid_namespace* ns;
  if (level == 0) {
    ns = tp->numbers[0].ns;
    e->vtid = tp->numbers[0].nr;
    e->pidns_inum = ns->ns.inum;
  } else if (level == 1) {
    ns = tp->numbers[1].ns;
    e->vtid = tp->numbers[1].nr;
    e->pidns_inum = ns->ns.inum;
  } else {
    struct upid up = {};
    bpf_core_read(&up, sizeof(up), &tp->numbers[level & 31]);
    ns = up.ns;
    e->vtid = up.nr;
    e->pidns_inum = BPF_CORE_READ(ns, ns.inum);
  }
  if (t->pid == t->tgid)
    e->vtgid = e->vtid;
  else
    e->vtgid = vg_pid_nr_ns(t->group_leader->thread_pid, level, ns);
  struct signal_struct* sig = t->signal;
  e->sid = vg_pid_nr_ns(sig->pids[VG_PIDTYPE_SID], level, ns);
  e->vpgid = vg_pid_nr_ns(sig->pids[VG_PIDTYPE_PGID], level, ns);
  /* bpf_get_current_cgroup_id() without the call, and valid for any task. */
  e->cgroup_id = t->cgroups->dfl_cgrp->kn->id;

  struct tty_struct* tty = sig->tty;
  if (tty) {
    struct tty_driver* drv = tty->driver;
    __u32 major = drv->major;
    __u32 minor = drv->minor_start + tty->index;
    e->tty = major << 20 | (minor & 0xfffff);
  }
  __builtin_memcpy(e->comm, t->comm, sizeof(e->comm));
}

/* Starts a record of `type` for the current task: header filled, no blobs. Returns false (and
 * counts nothing) when the scratch buffer is unavailable, which cannot happen on a live map. */
static __always_inline bool vg_rec_begin(struct vg_rec* r, __u16 type) {
  __u32 zero = 0;
  struct vg_scratch* s = bpf_map_lookup_elem(&vg_scratch, &zero);
  if (!s) return false;
  r->s = s;
  r->buf = s->rec;
  r->walk = s->walk;
  r->e = (struct vg_event*)s->rec;
  r->off = sizeof(struct vg_event);
  struct vg_event* e = r->e;
  __builtin_memset(e, 0, sizeof(*e));
  e->type = type;
  e->cpu = bpf_get_smp_processor_id();
  e->ts = bpf_ktime_get_boot_ns();
  e->abi = VG_ABI_VERSION;
  return true;
}

/* Copies the six syscall arguments from the user pt_regs (x86_64 syscall ABI). */
static __always_inline void vg_fill_args(struct vg_event* e, struct task_struct* t) {
  struct pt_regs* regs = (struct pt_regs*)bpf_task_pt_regs(t);
  e->args[0] = regs->di;
  e->args[1] = regs->si;
  e->args[2] = regs->dx;
  e->args[3] = regs->r10;
  e->args[4] = regs->r8;
  e->args[5] = regs->r9;
}

/* ---- blobs ------------------------------------------------------------------------------- */

/* Payload bytes that still fit (0: none), at most `max` (a constant). Lengths are 64-bit
 * throughout: a 32-bit one is range-checked on a zero-extended copy, which leaves the register
 * passed to the helper unbounded for the verifier. */
static __always_inline __u64 vg_room(struct vg_rec* r, __u64 max) {
  __u64 off = r->off;
  if (off > VG_MAX_RECORD - sizeof(struct vg_blob) - 8) return 0;
  __u64 room = VG_MAX_RECORD - sizeof(struct vg_blob) - off;
  if (room > max) room = max;
  return room;
}

static __always_inline void* vg_payload(struct vg_rec* r) {
  return r->buf + (r->off & VG_OFF_MASK) + sizeof(struct vg_blob);
}

/* Seals the blob whose payload (len bytes) is already at vg_payload(): writes its header, zeroes
 * the padding and advances the record. */
static __always_inline void vg_blob_commit(struct vg_rec* r, __u16 kind, __u32 len) {
  __u32 off = r->off & VG_OFF_MASK;
  struct vg_blob* b = (struct vg_blob*)(r->buf + off);
  b->kind = kind;
  b->len = len;
  b->reserved = 0;
  __u32 tail = len & 7;
  if (tail) {
    /* len <= VG_MAX_PATH here, so len & 0xff8 is len rounded down to 8 */
    __u64* last = (__u64*)(r->buf + off + sizeof(struct vg_blob) + (len & 0xff8));
    *last &= (1ull << (tail * 8)) - 1;
  }
  r->off += sizeof(struct vg_blob) + ((len + 7) & ~7u);
  r->e->nblobs++;
}

/* A fixed-size blob (struct vg_fdinfo, struct vg_socktuple): returns where to write the payload,
 * or NULL when it does not fit (the record is flagged truncated). */
static __always_inline void* vg_blob_fixed(struct vg_rec* r, __u32 size) {
  if (vg_room(r, size) < size) {
    r->e->flags |= VG_F_TRUNCATED;
    return NULL;
  }
  return vg_payload(r);
}

/* A NUL-terminated user string (a path argument) as a blob without the NUL. Returns the
 * string's first byte (0 when empty), or -1 when nothing was added (NULL or unmapped pointer, no
 * room): the *at() programs use it to tell relative paths. */
static __always_inline int vg_blob_user_str(struct vg_rec* r, __u16 kind, const void* uptr) {
  __u64 n = vg_room(r, VG_MAX_PATH);
  /* Two tests with a barrier between: merged into one "(n - 1) > max" compare they would
   * bound a temporary, not n, and the verifier would reject the read. */
  barrier_var(n);
  if (n > VG_MAX_PATH) return -1;
  barrier_var(n);
  if (n == 0) {
    r->e->flags |= VG_F_TRUNCATED;
    return -1;
  }
  char* dst = vg_payload(r);
  long ret = bpf_probe_read_user_str(dst, n, uptr);
  if (ret <= 0) return -1;
  if (ret >= n) r->e->flags |= VG_F_TRUNCATED;
  int first = dst[0];
  vg_blob_commit(r, kind, (__u32)(ret - 1) & (VG_MAX_PATH - 1));
  return first;
}

/* `len` bytes of user memory (argv/env area, a sockaddr) as a blob, cut to `max` (constant). */
static __always_inline void vg_blob_user_mem(struct vg_rec* r, __u16 kind, const void* uptr,
                                             __u64 len, __u64 max) {
  if (len == 0) return;
  __u64 n = vg_room(r, max);
  if (len < n)
    n = len;
  else if (len > n)
    r->e->flags |= VG_F_TRUNCATED;
  barrier_var(n);
  if (n > max) return;
  barrier_var(n);
  if (n == 0) return;
  if (bpf_probe_read_user(vg_payload(r), n, uptr)) return;
  vg_blob_commit(r, kind, n);
}

/* ---- output ------------------------------------------------------------------------------ */

/* Writes the record without waking the consumer, except when the ring's backlog has crossed a
 * multiple of vg_wakeup_bytes (a power of two): a sleeping consumer is woken about once per
 * vg_wakeup_bytes of backlog, not once per record (a wakeup costs ~2 us; the consumer also reads
 * the ring when its poll times out). The backlog is looked at once per VG_QUERY_EVERY bytes a CPU
 * writes, not per record (bpf_ringbuf_query() is a helper call, ~25 ns on the openat path), and a
 * crossing is detected against the backlog this CPU saw last time, so crossings missed by racing
 * CPUs are caught by the next look instead of leaving the consumer asleep while the ring fills. */
#define VG_QUERY_EVERY 2048

static __always_inline int vg_rec_submit(struct vg_rec* r) {
  __u32 size = r->off;
  if (size > VG_MAX_RECORD || size < sizeof(struct vg_event)) {
    vg_count(VG_S_DROPS_SCRATCH);
    return 0;
  }
  r->e->size = size;
  __u64 flags = 0;
  if (vg_wakeup_bytes) {
    struct vg_scratch* s = r->s;
    flags = BPF_RB_NO_WAKEUP;
    s->unqueried += size;
    if (s->unqueried >= VG_QUERY_EVERY) {
      __u64 avail = bpf_ringbuf_query(&vg_ring, BPF_RB_AVAIL_DATA) + size;
      __u64 step = ~((__u64)vg_wakeup_bytes - 1);
      if ((avail & step) != (s->last_avail & step)) flags = BPF_RB_FORCE_WAKEUP;
      s->last_avail = avail;
      s->unqueried = 0;
    }
  }
  if (bpf_ringbuf_output(&vg_ring, r->buf, size, flags))
    vg_count(VG_S_DROPS);
  else
    vg_count(VG_S_EVENTS);
  return 0;
}

/* ---- syscall exit programs ------------------------------------------------------------------- */

/* Common start of every sys_exit program after the interest check: skips the agent (and, in
 * tests, everyone but vg_only_tgid), starts the record with the header and the arguments. */
static __always_inline bool vg_sys_begin(struct vg_rec* r, struct task_struct** task, __u16 type,
                                         long ret) {
  struct task_struct* t = bpf_get_current_task_btf();
  if (!vg_traced(t->tgid)) return false;
  if (!vg_rec_begin(r, type)) return false;
  vg_fill_task(r->e, t);
  vg_fill_args(r->e, t);
  r->e->res = ret;
  *task = vg_untrusted_task(t);
  return true;
}

/* One program per captured syscall, on its own sys_exit tracepoint. A program is attached when
 * its type is first wanted (Probe::set_interest) and never detached; while its type is off it
 * costs the syscall one byte load (plus the tracepoint's own overhead). */
#define VG_SYS_EXIT(name, TYPE, handler)                     \
  SEC("tracepoint/syscalls/sys_exit_" #name)                 \
  int vg_exit_##name(struct trace_event_raw_sys_exit* ctx) { \
    if (!vg_interest[TYPE]) return 0;                        \
    return handler(ctx->ret, TYPE);                          \
  }

#endif /* VIGIL_BPF_VIGIL_BPF_H */
