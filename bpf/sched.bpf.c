/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/*
 * Process lifecycle from the scheduler's tracepoints (tp_btf: typed task pointers, no tracefs):
 * VG_T_FORK for every new thread group, VG_T_PROCEXIT when a thread group is gone. Both are
 * always captured (the agent's process table depends on them); the interest byte is still
 * honoured so the table can be bypassed in tests.
 */
#include "vigil.bpf.h"

/* The new thread group's identity: tgid/tid/ppid/start_time are the child's, parent_start_time
 * its real parent's (with CLONE_PARENT that is the caller's parent); res = the child's tgid. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(vg_sched_fork, struct task_struct* parent, struct task_struct* child) {
  if (!vg_interest[VG_T_FORK]) return 0;
  if (child->pid != child->tgid) /* a thread */
    return 0;
  if (!vg_traced(parent->tgid)) return 0;
  struct vg_rec r;
  if (!vg_rec_begin(&r, VG_T_FORK)) return 0;
  vg_fill_task(r.e, child);
  r.e->res = child->tgid;
  return vg_rec_submit(&r);
}

/* The last thread of a group: do_exit() has decremented signal->live before this tracepoint,
 * so 0 means the whole group is dead. res = the exit status as wait(2) reports it
 * (WEXITSTATUS(res) for exit(), WTERMSIG(res) for a signal). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(vg_sched_exit, struct task_struct* p) {
  if (!vg_interest[VG_T_PROCEXIT]) return 0;
  if (vg_untrusted_task(p)->signal->live.counter != 0) return 0;
  if (!vg_traced(p->tgid)) return 0;
  struct vg_rec r;
  if (!vg_rec_begin(&r, VG_T_PROCEXIT)) return 0;
  vg_fill_task(r.e, p);
  r.e->res = p->exit_code;
  return vg_rec_submit(&r);
}
