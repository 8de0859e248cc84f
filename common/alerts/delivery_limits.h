#pragma once

// Internal to the dispatcher (dispatcher.cc): one sink's suppression bookkeeping and the alerts
// it ends in. The dedup window folds repeats of an alert (same rule and message) into one copy
// with " (repeated N times)" when the window closes; the rate limit suppresses what is over
// delivery.rateLimit and reports it in one "Vigil internal: alerts suppressed" summary when the
// interval ends; queue-full drops are tallied until the dispatcher asks for the "Vigil internal:
// alerts dropped" summary (after the sink recovered).
//
// Not thread-safe: the owning sink worker calls it with its mutex held. Nothing here enqueues
// or counts stats; the caller queues the returned alerts ("notices") in the order given.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/alerts/alert.h"
#include "common/api/v1alpha1/types.h"

namespace vigil::alerts {

// `seconds` of the API as a duration, multiplied by the dispatcher's time scale; at least 1 ms.
std::chrono::milliseconds scaled_seconds(int64_t seconds, double time_scale);

class DeliveryLimits {
 public:
  using Clock = std::chrono::steady_clock;

  // Further keys are delivered without deduplication.
  static constexpr size_t kMaxDedupKeys = 10000;

  enum class Verdict {
    kQueue,      // deliver the alert
    kRepeat,     // folded into an open dedup window (SinkStats::deduplicated)
    kSuppressed  // over the rate limit, reported by the next summary (SinkStats::suppressed)
  };

  // `hostname`, `ns` and `name` go into the internal summary alerts.
  DeliveryLimits(std::string hostname, std::string ns, std::string name, double time_scale);

  // The dedup window, then the rate limit of `delivery`, for `alert` submitted at `now`. A dedup
  // window or rate-limit interval that ended but was not closed yet by close_due() is closed
  // first, appending its repeat copy or summary to `notices`.
  Verdict admit(const Alert& alert, const api::v1alpha1::Delivery& delivery, Clock::time_point now,
                std::vector<Alert>& notices);

  // Closes the dedup windows and the rate-limit interval ended by `now`, appending their repeat
  // copies and summary to `notices`; returns when to call again (time_point::max(): nothing
  // open).
  Clock::time_point close_due(Clock::time_point now, std::vector<Alert>& notices);

  // Forgets the open dedup windows and their uncounted repeats (a new sink generation).
  void reset_dedup();

  // `alert` was dropped because the queue was full.
  void count_queue_full(const Alert& alert);

  // The summary of the queue-full drops counted since the last one; nullopt when there were
  // none.
  std::optional<Alert> take_queue_full_summary();

 private:
  struct DedupEntry {
    Clock::time_point expires;
    uint64_t repeats = 0;
    Alert last;  // the latest repeat, delivered with the count when the window closes
  };

  void emit_repeat(DedupEntry& e, std::vector<Alert>& notices);
  void emit_rate_summary(std::vector<Alert>& notices);
  Alert internal_alert(std::string rule, rules::Priority priority, std::string message) const;

  const std::string hostname_;
  const std::string ns_;
  const std::string name_;
  const double time_scale_;

  std::unordered_map<std::string, DedupEntry> dedup_;
  std::deque<std::pair<Clock::time_point, std::string>> dedup_order_;  // by expiry
  Clock::time_point rate_window_end_{};
  uint64_t rate_count_ = 0;
  std::map<std::string, uint64_t> rate_suppressed_;
  rules::Priority rate_priority_ = rules::Priority::kDebug;
  uint64_t queue_full_unreported_ = 0;
  std::map<std::string, uint64_t> queue_full_rules_;
  rules::Priority queue_full_priority_ = rules::Priority::kDebug;
};

}  // namespace vigil::alerts
