#pragma once

// The alert delivery engine (DESIGN.md §2, AlertSink; issue 7): routes each alert to the sinks
// whose filter accepts it and delivers it off the detection path.
//
// Per sink: a bounded queue (delivery.queueSize), one delivery thread, batches of up to
// encoder->max_batch() alerts after a short linger, retries with exponential backoff and full
// jitter (429/503 honour Retry-After; 4xx other than 408/429 are not retried), a circuit
// breaker, a dedup window and a rate limit that end in a repeat count / a summary alert, and an
// optional on-disk spool. Batches are delivered in submission order: a batch being retried
// holds back the ones behind it, so within the queue bound every alert arrives exactly once
// and in order (at least once across a crash, see spool.h).
//
// Nothing is lost silently: an alert is delivered, or counted in SinkStats::dropped with a
// reason: "queue_full" (reported after recovery by a "Vigil internal: alerts dropped" alert),
// "retries_exhausted", "rejected" (a 4xx answer other than 408/429, not retried),
// "sink_removed" (still queued when a removed sink's grace ended), "shutdown" (stopped without
// a spool). Dedup repeats end in a copy with " (repeated N times)" and output field
// vigil.repeat_count; rate-limited alerts in one "Vigil internal: alerts suppressed" summary.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/alerts/sink.h"
#include "common/alerts/spool.h"

namespace vigil::alerts {

struct DispatcherOptions {
  std::string spool_dir;  // "": no spool, queued alerts live in memory only
  SpoolOptions spool;
  std::chrono::milliseconds linger{50};           // wait for a fuller batch (max_batch() > 1 only)
  std::chrono::milliseconds removal_grace{5000};  // a removed sink drains this long
  int breaker_threshold = 5;  // consecutive failed attempts that open the circuit
  // Multiplies every duration given in seconds by the API (backoff, Retry-After, circuit open
  // time, dedup window, rate-limit interval); request timeouts are not scaled. Tests run with
  // 0.001-0.01 so that seconds become milliseconds.
  double time_scale = 1.0;
  std::string hostname;  // of the internal summary alerts; "" uses gethostname()
};

enum class SinkState : uint8_t { kReady, kDegraded, kCircuitOpen };
const char* to_string(SinkState s);  // "Ready", "Degraded", "CircuitOpen"

struct SinkStats {
  std::string ns;
  std::string name;
  int64_t generation = 0;
  uint64_t delivered = 0;                   // alerts delivered (summaries included)
  uint64_t failed = 0;                      // delivery attempts that failed
  std::map<std::string, uint64_t> dropped;  // alerts, by reason
  uint64_t deduplicated = 0;                // repeats folded into a repeat count
  uint64_t suppressed = 0;                  // over the rate limit, reported by a summary alert
  uint64_t queued = 0;                      // waiting or in flight
  std::string last_error;
  std::optional<std::chrono::system_clock::time_point> last_delivery_time;
  int consecutive_failures = 0;
  SinkState state = SinkState::kReady;
  bool removing = false;  // removed from the configuration, draining
  SpoolStats spool;

  uint64_t dropped_total() const;
};

class Dispatcher {
 public:
  explicit Dispatcher(DispatcherOptions options = {});
  ~Dispatcher();  // stop()
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Swaps in a new set of sinks. A sink with the same namespace/name keeps its queue, counters
  // and spool; a changed generation applies the new target from the next attempt on (its retry
  // count, circuit and dedup window restart; the rate-limit interval runs on). A sink no longer
  // listed drains for removal_grace, then its remaining alerts are dropped ("sink_removed"). Not
  // for the detection path: it opens spools and joins finished threads.
  void configure(std::vector<SinkTarget> sinks, std::string cluster_namespace);

  // Queues `alert` for every accepting sink. Never blocks on delivery or disk (a short mutex per
  // sink); DryRun alerts are never delivered. Safe from any thread.
  void submit(const Alert& alert);

  // Waits until every queue is empty and nothing is in flight; false on timeout.
  bool flush(std::chrono::milliseconds timeout);

  // Stops the delivery threads (an in-flight request is cancelled). What is still queued stays
  // in the spool for the next start; without a spool it is dropped ("shutdown"). Idempotent.
  void stop();

  std::vector<SinkStats> stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::alerts
