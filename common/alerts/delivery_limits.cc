#include "common/alerts/delivery_limits.h"

#include <algorithm>

#include <fmt/format.h>

namespace vigil::alerts {
namespace {

constexpr const char* kSuppressedRule = "Vigil internal: alerts suppressed";
constexpr const char* kDroppedRule = "Vigil internal: alerts dropped";
constexpr size_t kRulesInSummary = 10;

// "A: 3, B: 2" (the largest counts first, at most kRulesInSummary).
std::string rule_counts(const std::map<std::string, uint64_t>& counts) {
  std::vector<std::pair<std::string, uint64_t>> v(counts.begin(), counts.end());
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (size_t i = 0; i < v.size() && i < kRulesInSummary; ++i) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}: {}", v[i].first, v[i].second);
  }
  if (v.size() > kRulesInSummary) out += ", …";
  return out;
}

}  // namespace

std::chrono::milliseconds scaled_seconds(int64_t seconds, double time_scale) {
  const double ms = static_cast<double>(seconds) * 1000.0 * time_scale;
  return std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(ms)));
}

DeliveryLimits::DeliveryLimits(std::string hostname, std::string ns, std::string name,
                               double time_scale)
    : hostname_(std::move(hostname)),
      ns_(std::move(ns)),
      name_(std::move(name)),
      time_scale_(time_scale) {}

DeliveryLimits::Verdict DeliveryLimits::admit(const Alert& alert, const api::v1alpha1::Delivery& d,
                                              Clock::time_point now, std::vector<Alert>& notices) {
  if (d.dedup_window_seconds > 0) {
    std::string key = alert.rule;
    key.push_back('\x1f');
    key += alert.message;
    auto it = dedup_.find(key);
    if (it != dedup_.end() && now < it->second.expires) {
      ++it->second.repeats;
      it->second.last = alert;
      return Verdict::kRepeat;
    }
    if (it != dedup_.end()) {  // expired, its timer has not run yet
      emit_repeat(it->second, notices);
      dedup_.erase(it);
    }
    if (dedup_.size() < kMaxDedupKeys) {
      const auto expires = now + scaled_seconds(d.dedup_window_seconds, time_scale_);
      dedup_.emplace(key, DedupEntry{expires, 0, {}});
      dedup_order_.emplace_back(expires, std::move(key));
    }
  }
  if (d.rate_limit && d.rate_limit->max_alerts > 0 && d.rate_limit->per_seconds > 0) {
    if (now >= rate_window_end_) {
      emit_rate_summary(notices);
      rate_window_end_ = now + scaled_seconds(d.rate_limit->per_seconds, time_scale_);
      rate_count_ = 0;
    }
    if (++rate_count_ > static_cast<uint64_t>(d.rate_limit->max_alerts)) {
      ++rate_suppressed_[alert.rule];
      rate_priority_ = std::min(rate_priority_, alert.priority);
      return Verdict::kSuppressed;
    }
  }
  return Verdict::kQueue;
}

DeliveryLimits::Clock::time_point DeliveryLimits::close_due(Clock::time_point now,
                                                            std::vector<Alert>& notices) {
  while (!dedup_order_.empty() && dedup_order_.front().first <= now) {
    auto it = dedup_.find(dedup_order_.front().second);
    if (it != dedup_.end() && it->second.expires == dedup_order_.front().first) {
      emit_repeat(it->second, notices);
      dedup_.erase(it);
    }
    dedup_order_.pop_front();
  }
  if (!rate_suppressed_.empty() && now >= rate_window_end_) emit_rate_summary(notices);
  Clock::time_point next = Clock::time_point::max();
  if (!dedup_order_.empty()) next = dedup_order_.front().first;
  if (!rate_suppressed_.empty()) next = std::min(next, rate_window_end_);
  return next;
}

void DeliveryLimits::reset_dedup() {
  dedup_.clear();
  dedup_order_.clear();
}

void DeliveryLimits::count_queue_full(const Alert& alert) {
  ++queue_full_unreported_;
  ++queue_full_rules_[alert.rule];
  queue_full_priority_ = std::min(queue_full_priority_, alert.priority);
}

std::optional<Alert> DeliveryLimits::take_queue_full_summary() {
  if (queue_full_unreported_ == 0) return std::nullopt;
  Alert a = internal_alert(
      kDroppedRule, queue_full_priority_,
      fmt::format("{} alerts dropped (queue full) for sink {}/{} (rule counts: {})",
                  queue_full_unreported_, ns_, name_, rule_counts(queue_full_rules_)));
  a.output_fields.push_back({"vigil.dropped_count", static_cast<int64_t>(queue_full_unreported_)});
  queue_full_unreported_ = 0;
  queue_full_rules_.clear();
  queue_full_priority_ = rules::Priority::kDebug;
  return a;
}

void DeliveryLimits::emit_repeat(DedupEntry& e, std::vector<Alert>& notices) {
  if (e.repeats == 0) return;
  Alert a = std::move(e.last);
  a.message += fmt::format(" (repeated {} times)", e.repeats);
  a.output_fields.push_back({"vigil.repeat_count", static_cast<int64_t>(e.repeats)});
  notices.push_back(std::move(a));
  e.repeats = 0;
}

void DeliveryLimits::emit_rate_summary(std::vector<Alert>& notices) {
  if (rate_suppressed_.empty()) return;
  uint64_t total = 0;
  for (const auto& [rule, n] : rate_suppressed_) total += n;
  Alert a =
      internal_alert(kSuppressedRule, rate_priority_,
                     fmt::format("{} similar alerts suppressed for sink {}/{} (rule counts: {})",
                                 total, ns_, name_, rule_counts(rate_suppressed_)));
  a.output_fields.push_back({"vigil.suppressed_count", static_cast<int64_t>(total)});
  notices.push_back(std::move(a));
  rate_suppressed_.clear();
  rate_priority_ = rules::Priority::kDebug;
}

Alert DeliveryLimits::internal_alert(std::string rule, rules::Priority priority,
                                     std::string message) const {
  Alert a;
  a.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  a.rule = std::move(rule);
  a.priority = priority;
  a.source = "internal";
  a.hostname = hostname_;
  a.message = std::move(message);
  a.tags = {"vigil", "internal"};
  a.output_fields.push_back({"vigil.sink", fmt::format("{}/{}", ns_, name_)});
  return a;
}

}  // namespace vigil::alerts
