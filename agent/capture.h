#pragma once

// The agent's data path on one thread (STYLE.md): ring buffer poll → decode → evaluate →
// alerts into the writer's bounded queue. Rule sets are compiled elsewhere and swapped in
// atomically between two records; the kernel's interest table is widened before a swap and
// narrowed after it, so no event a rule in both sets needs is ever missed and capture never
// stops.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "common/base/result.h"
#include "common/rules/rule_set.h"

namespace vigil::agent {

class AlertWriter;
class ContainerMetadata;
class Probe;

// Counters published by the capture thread (relaxed atomics; read from any thread).
struct CaptureCounters {
  std::atomic<uint64_t> records{0};        // ring-buffer records consumed
  std::atomic<uint64_t> events{0};         // events evaluated against the rules
  std::atomic<uint64_t> decode_errors{0};  // malformed records skipped
  std::atomic<uint64_t> alerts{0};         // rule matches
  std::atomic<uint64_t> drop_alerts{0};    // internal drop alerts raised
  std::atomic<uint64_t> generation{0};     // rule-set generation in use (1 = the first)
  std::atomic<int64_t> last_loop_ns{0};    // CLOCK_MONOTONIC of the last loop turn
  std::atomic<uint64_t> processes{0};      // process table size
};

class Capture {
 public:
  // Loads and attaches the probes, sets the interest table from `rules` and starts the capture
  // thread. Errors come from the probe (root, BPF refused with errno and program name).
  // `metadata` (optional, not owned, must outlive the Capture) gives containers their pod.
  static Result<std::unique_ptr<Capture>> start(const AgentConfig& config,
                                                std::shared_ptr<const rules::RuleSet> rules,
                                                AlertWriter& writer,
                                                ContainerMetadata* metadata = nullptr);
  ~Capture();
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Publishes a new rule set; the capture thread switches to it before its next record.
  // Returns the new generation. Thread-safe.
  uint64_t swap_rules(std::shared_ptr<const rules::RuleSet> rules);

  // Event types the rules need that the kernel does not capture (warned about at start).
  std::vector<std::string> uncaptured_types() const;

  const CaptureCounters& counters() const { return counters_; }
  const Probe& probe() const { return *probe_; }
  // True while the capture thread runs and turned its loop within `max_age_ms`.
  bool healthy(int64_t max_age_ms) const;

  // Stops the thread (the probes stay loaded until destruction). Idempotent.
  void stop();

 private:
  struct Impl;
  Capture();
  std::unique_ptr<Probe> probe_;
  std::unique_ptr<Impl> impl_;
  CaptureCounters counters_;
};

}  // namespace vigil::agent
