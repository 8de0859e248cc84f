/* SPDX-License-Identifier: GPL-2.0 OR Apache-2.0 */
/* The one definition of the .bss/.rodata globals that every other bpf/<family>.bpf.c declares
 * `extern` through vigil.bpf.h (the maps themselves are __weak in every object; see there). */
#define VG_DEFINE_GLOBALS
#include "vigil.bpf.h"

/* GPL-compatible: bpf_probe_read_*, bpf_get_current_task_btf and bpf_task_pt_regs are
 * GPL-only helpers. */
char LICENSE[] SEC("license") = "Dual BSD/GPL";
