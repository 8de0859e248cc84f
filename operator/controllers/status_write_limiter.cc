#include "operator/controllers/status_write_limiter.h"

#include <algorithm>

namespace vigil::op {

namespace api = vigil::api::v1alpha1;

StatusChange classify_change(const api::SecurityRuleStatus& stored,
                             const api::SecurityRuleStatus& desired) {
  if (stored == desired) return StatusChange::kNone;
  api::SecurityRuleStatus without_counters = desired;
  without_counters.alerts = stored.alerts;
  return without_counters == stored ? StatusChange::kCountersOnly : StatusChange::kSignificant;
}

StatusChange classify_change(const api::AlertSinkStatus& stored,
                             const api::AlertSinkStatus& desired) {
  if (stored == desired) return StatusChange::kNone;
  api::AlertSinkStatus without_counters = desired;
  without_counters.delivered = stored.delivered;
  without_counters.failed = stored.failed;
  without_counters.dropped = stored.dropped;
  without_counters.last_delivery_time = stored.last_delivery_time;  // moves with every delivery
  return without_counters == stored ? StatusChange::kCountersOnly : StatusChange::kSignificant;
}

WriteDecision decide_status_write(StatusChange change, std::optional<SteadyTime> last_write,
                                  SteadyTime now, std::chrono::milliseconds counters_interval,
                                  bool token_available) {
  if (change == StatusChange::kNone) return WriteDecision::kSkip;
  if (change == StatusChange::kCountersOnly && last_write && now - *last_write < counters_interval)
    return WriteDecision::kDeferCounters;
  return token_available ? WriteDecision::kWrite : WriteDecision::kDeferTokens;
}

TokenBucket::TokenBucket(double qps, double burst, SteadyTime start)
    : qps_(std::max(qps, 1e-3)), burst_(std::max(burst, 1.0)), tokens_(burst_), last_(start) {}

void TokenBucket::refill(SteadyTime now) {
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
  last_ = now;
}

bool TokenBucket::available(SteadyTime now) {
  refill(now);
  return tokens_ >= 1.0;
}

bool TokenBucket::try_take(SteadyTime now) {
  if (!available(now)) return false;
  tokens_ -= 1.0;
  return true;
}

SteadyTime TokenBucket::next_token(SteadyTime now) {
  if (available(now)) return now;
  const auto wait = std::chrono::duration<double>((1.0 - tokens_) / qps_);
  return now + std::chrono::ceil<std::chrono::milliseconds>(wait);
}

StatusWriteLimiter::StatusWriteLimiter(const StatusWriteLimits& limits, SteadyTime start)
    : limits_(limits), bucket_(limits.qps, limits.burst, start) {}

WriteDecision StatusWriteLimiter::admit(const std::string& key, StatusChange change,
                                        SteadyTime now) {
  auto it = last_write_.find(key);
  const std::optional<SteadyTime> last =
      it == last_write_.end() ? std::nullopt : std::optional<SteadyTime>(it->second);
  const WriteDecision d =
      decide_status_write(change, last, now, limits_.counters_interval, bucket_.available(now));
  auto retry_no_later_than = [&](SteadyTime t) {
    if (!retry_at_ || t < *retry_at_) retry_at_ = t;
  };
  switch (d) {
    case WriteDecision::kWrite:
      bucket_.try_take(now);
      break;
    case WriteDecision::kDeferCounters:
      retry_no_later_than(*last + limits_.counters_interval);
      break;
    case WriteDecision::kDeferTokens:
      retry_no_later_than(std::max(bucket_.next_token(now), now + kMinTokenRetry));
      break;
    case WriteDecision::kSkip:
      break;
  }
  return d;
}

void StatusWriteLimiter::wrote(const std::string& key, SteadyTime now) { last_write_[key] = now; }

std::optional<SteadyTime> StatusWriteLimiter::take_retry_at() {
  auto r = retry_at_;
  retry_at_.reset();
  return r;
}

void StatusWriteLimiter::prune(SteadyTime now) {
  std::erase_if(last_write_,
                [&](const auto& kv) { return now - kv.second >= limits_.counters_interval; });
}

}  // namespace vigil::op
