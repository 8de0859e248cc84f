#pragma once

// The kernel side of the agent: RAII over the libbpf skeleton (bpf/*.bpf.c linked into one
// object, generated/vigil.skel.h) and its ring buffer.
//
// Order, as libbpf-bootstrap: open → set .rodata knobs → load → attach → ring buffer → poll.
// Everything here runs on the agent's capture thread except set_interest(), attached() and the
// counter readers, which are safe from any thread (they touch the mmapped .bss, the per-CPU maps
// and, under a lock, the list of attached programs).
//
// This header stays light: no libbpf or skeleton includes (the skeleton lives in probe.cc).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/base/result.h"

namespace vigil::agent {

struct ProbeOptions {
  // Ring buffer size in bytes; rounded up to a power of two and at least the page size.
  uint32_t ring_bytes = 8u << 20;
  // The kernel submits records without waking the consumer and forces a wakeup each time the
  // waiting bytes (bpf_ringbuf_query BPF_RB_AVAIL_DATA) cross a multiple of this. poll() also
  // reads the ring when its timeout expires, so a quiet system still sees its events within one
  // poll interval: poll with a short timeout. Rounded down to a power of two, at most half the
  // ring; 0 leaves wakeups to the kernel (one per record the consumer waits for: ~2 us each).
  uint32_t wakeup_bytes = 256u << 10;
  // Collect exec environments (VG_B_ENV). Off by default: few rules use proc.env.
  bool capture_env = false;
  // Never trace the agent's own process (its file and socket activity would feed back into the
  // ring). Tests that trace themselves turn it off.
  bool ignore_self = true;
  // Tests only: when non-zero, trace this thread group alone (counters then count its records
  // only). The kernel drops the check entirely when it is 0.
  uint32_t only_tgid = 0;
};

// One BPF program's identity and, when kernel.bpf_stats_enabled=1, its cumulative cost.
struct ProgramStats {
  std::string name;  // "vg_exit_openat"
  uint64_t run_count = 0;
  uint64_t run_time_ns = 0;
};

class Probe {
 public:
  // Opens, configures and loads the skeleton and attaches every program. Errors name the program
  // and the errno ("Loading BPF program vg_exit_openat failed: Operation not permitted (EPERM)"),
  // and say when the cause is missing privileges.
  static Result<std::unique_ptr<Probe>> start(const ProbeOptions& options);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Which record types the kernel emits, indexed by enum vg_type (bpf/event_abi.h); missing
  // entries count as false. Process lifecycle types the process table needs (fork, procexit,
  // execve, execveat, chdir, fchdir) are always on whatever is passed. Takes effect for the next
  // syscall on every CPU. A type's program is attached the first time the type is wanted (a
  // syscall whose tracepoint has a program costs ~150 ns even when the program returns at once;
  // one without costs next to nothing) and is never detached, so capture never stops: turning a
  // type off only clears its byte in the interest table. A program that fails to attach is
  // logged and its type stays off.
  void set_interest(std::span<const bool> by_vg_type);
  void set_interest(const std::vector<bool>& by_vg_type);  // as interest_for() returns it

  // Waits up to timeout_ms for a wakeup, then hands every waiting record to `fn(ctx, data, size)`.
  // `data` points into the ring buffer and is valid only during the call. Returns the number of
  // records consumed, or a negative errno (-EINTR is not an error: returns 0).
  using RecordFn = int (*)(void* ctx, const void* data, size_t size);
  int poll(int timeout_ms, RecordFn fn, void* ctx);
  // As poll(), without waiting.
  int consume(RecordFn fn, void* ctx);

  // Per-CPU counters from the vg_stats map (enum vg_stat): one entry per possible CPU.
  std::vector<uint64_t> events_per_cpu() const;
  std::vector<uint64_t> drops_per_cpu() const;  // VG_S_DROPS + VG_S_DROPS_SCRATCH

  // Every program with its run statistics (zeros unless kernel.bpf_stats_enabled=1).
  std::vector<ProgramStats> program_stats() const;

  // Names of the programs attached so far (see set_interest), and of the ones not loaded because
  // their tracepoint does not exist on this kernel (logged once at start).
  std::vector<std::string> attached() const;
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  struct Impl;
  explicit Probe(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::vector<std::string> skipped_;
};

}  // namespace vigil::agent
