#pragma once

// Bounds the operator's status writes so that 1,000 rules on 100 nodes never flood the API
// server:
//
// - one token bucket (qps, burst) shared by every SecurityRule and AlertSink status write;
// - a change that only moves counters (a rule's alerts.total / lastTriggered, a sink's
//   delivered / failed / dropped) is written at most once per `counters_interval` per object;
// - any other change (conditions, nodes, observedGeneration, ...) is written as soon as a token
//   is free.
//
// A change that is not written stays pending: the status in the watch cache still differs from
// the desired one, so the next pass (at retry_at()) decides again. Nothing changes at rest: a
// NodeAgent heartbeat that moves only lastHeartbeatTime yields a desired status equal to the
// stored one, hence kSkip, hence no write.
//
// The decisions are pure functions of their inputs (time included) so tests drive them with a
// fake clock.

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/api/v1alpha1/types.h"

namespace vigil::op {

class BundleHistory;
class NodeStatusIndex;

using SteadyTime = std::chrono::steady_clock::time_point;

enum class StatusChange : uint8_t {
  kNone,          // desired == stored
  kCountersOnly,  // only counters differ (alerts, lastTriggered; delivered, failed, dropped)
  kSignificant,   // anything else differs
};

StatusChange classify_change(const api::v1alpha1::SecurityRuleStatus& stored,
                             const api::v1alpha1::SecurityRuleStatus& desired);
StatusChange classify_change(const api::v1alpha1::AlertSinkStatus& stored,
                             const api::v1alpha1::AlertSinkStatus& desired);

enum class WriteDecision : uint8_t {
  kSkip,           // nothing to write
  kWrite,          // write now
  kDeferCounters,  // counters only, and this object was written less than the interval ago
  kDeferTokens,    // the shared budget is spent for now
};

// `last_write`: when this object's status was last written by this process (nullopt: never).
WriteDecision decide_status_write(StatusChange change, std::optional<SteadyTime> last_write,
                                  SteadyTime now, std::chrono::milliseconds counters_interval,
                                  bool token_available);

class TokenBucket {
 public:
  // Starts full.
  TokenBucket(double qps, double burst, SteadyTime start);
  bool available(SteadyTime now);
  bool try_take(SteadyTime now);
  // When the next whole token will be there (`now` when one is).
  SteadyTime next_token(SteadyTime now);

 private:
  void refill(SteadyTime now);

  double qps_;
  double burst_;
  double tokens_;
  SteadyTime last_;
};

struct StatusWriteLimits {
  double qps = 20;
  int burst = 50;
  std::chrono::milliseconds counters_interval{10000};
};

class StatusWriteLimiter {
 public:
  StatusWriteLimiter(const StatusWriteLimits& limits, SteadyTime start);

  // Decides for object `key` (unique across kinds, e.g. "securityrules/ns/name") and takes a
  // token when the answer is kWrite. A deferral moves retry_at() earlier if needed.
  WriteDecision admit(const std::string& key, StatusChange change, SteadyTime now);
  // Records a successful write of `key` (a failed one is retried as a fresh change).
  void wrote(const std::string& key, SteadyTime now);
  // The earliest time a deferred write may go, then forgets it (the next pass sets it again if
  // writes stay pending). nullopt: nothing deferred.
  std::optional<SteadyTime> take_retry_at();
  // Forgets objects written longer than the interval ago (they would be written anyway), so the
  // map does not keep deleted objects forever.
  void prune(SteadyTime now);

  size_t tracked() const { return last_write_.size(); }

 private:
  // A pass that only finds the budget spent waits at least this long, so that passes (each of
  // which compiles every rule) do not spin at qps.
  static constexpr std::chrono::milliseconds kMinTokenRetry{500};

  StatusWriteLimits limits_;
  TokenBucket bucket_;
  std::unordered_map<std::string, SteadyTime> last_write_;
  std::optional<SteadyTime> retry_at_;
};

// What a reconcile pass needs besides the objects: the node agents' reports and the write budget.
struct StatusInputs {
  const NodeStatusIndex* nodes = nullptr;  // null: no node reports (Programmed stays Pending)
  const BundleHistory* bundles = nullptr;  // null: only the rules nodes list count
  StatusWriteLimiter* limiter = nullptr;   // null: every change is written at once
  SteadyTime clock{};                      // the limiter's "now"
};

}  // namespace vigil::op
