// The dispatcher's dedup window, rate limit and queue-full tally, on a fixed clock (no threads,
// no sleeps): what each verdict is and which internal alerts they end in.

#include "common/alerts/delivery_limits.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::alerts {
namespace {

using namespace std::chrono_literals;
using Verdict = DeliveryLimits::Verdict;
namespace v1 = api::v1alpha1;

const DeliveryLimits::Clock::time_point kT0 = DeliveryLimits::Clock::time_point{} + 1h;

Alert make(std::string message, std::string rule = "R",
           rules::Priority priority = rules::Priority::kWarning) {
  Alert a;
  a.rule = std::move(rule);
  a.message = std::move(message);
  a.priority = priority;
  return a;
}

DeliveryLimits limits() { return DeliveryLimits("node-1", "vigil-system", "hook", 1.0); }

v1::Delivery dedup(int32_t seconds) {
  v1::Delivery d;
  d.dedup_window_seconds = seconds;
  return d;
}

v1::Delivery rate(int32_t max_alerts, int32_t per_seconds) {
  v1::Delivery d;
  d.rate_limit = v1::DeliveryRateLimit{max_alerts, per_seconds};
  return d;
}

const rules::OutputField* field(const Alert& a, std::string_view name) {
  for (const auto& f : a.output_fields)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(DeliveryLimitsTest, ScaledSecondsAreAtLeastOneMillisecond) {
  EXPECT_EQ(scaled_seconds(40, 0.005), 200ms);
  EXPECT_EQ(scaled_seconds(3, 1.0), 3000ms);
  EXPECT_EQ(scaled_seconds(0, 1.0), 1ms);
}

TEST(DeliveryLimitsTest, WithoutLimitsEveryAlertIsQueued) {
  auto l = limits();
  std::vector<Alert> notices;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(l.admit(make("same"), {}, kT0, notices), Verdict::kQueue);
  EXPECT_TRUE(notices.empty());
  EXPECT_EQ(l.close_due(kT0 + 1h, notices), DeliveryLimits::Clock::time_point::max());
  EXPECT_TRUE(notices.empty());
}

TEST(DeliveryLimitsTest, DedupWindowFoldsRepeatsIntoOneCopyWithTheCount) {
  auto l = limits();
  const auto d = dedup(10);
  std::vector<Alert> notices;
  EXPECT_EQ(l.admit(make("same"), d, kT0, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("other"), d, kT0 + 1s, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("same"), d, kT0 + 2s, notices), Verdict::kRepeat);
  EXPECT_EQ(l.admit(make("same", "R2"), d, kT0 + 2s, notices), Verdict::kQueue);  // another rule
  Alert last = make("same");
  last.hostname = "latest";
  EXPECT_EQ(l.admit(last, d, kT0 + 3s, notices), Verdict::kRepeat);
  EXPECT_TRUE(notices.empty());

  EXPECT_EQ(l.close_due(kT0 + 9s, notices), kT0 + 10s);  // the first window to end
  EXPECT_TRUE(notices.empty());
  l.close_due(kT0 + 12s, notices);
  ASSERT_EQ(notices.size(), 1u);  // "other" and R2 had no repeats
  EXPECT_EQ(notices[0].message, "same (repeated 2 times)");
  EXPECT_EQ(notices[0].hostname, "latest");  // the latest repeat is the one delivered
  const auto* count = field(notices[0], "vigil.repeat_count");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(std::get<int64_t>(count->value), 2);
  EXPECT_EQ(l.close_due(kT0 + 12s, notices), DeliveryLimits::Clock::time_point::max());

  notices.clear();
  EXPECT_EQ(l.admit(make("same"), d, kT0 + 13s, notices), Verdict::kQueue);  // a new window
}

TEST(DeliveryLimitsTest, AnEndedWindowNotYetClosedIsClosedByTheNextAlert) {
  auto l = limits();
  const auto d = dedup(10);
  std::vector<Alert> notices;
  EXPECT_EQ(l.admit(make("same"), d, kT0, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("same"), d, kT0 + 1s, notices), Verdict::kRepeat);
  EXPECT_EQ(l.admit(make("same"), d, kT0 + 10s, notices), Verdict::kQueue);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].message, "same (repeated 1 times)");
  notices.clear();
  // The stale timer of the first window does not close the new one.
  EXPECT_EQ(l.close_due(kT0 + 15s, notices), kT0 + 20s);
  EXPECT_TRUE(notices.empty());
}

TEST(DeliveryLimitsTest, ResetDedupForgetsOpenWindows) {
  auto l = limits();
  const auto d = dedup(10);
  std::vector<Alert> notices;
  EXPECT_EQ(l.admit(make("same"), d, kT0, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("same"), d, kT0 + 1s, notices), Verdict::kRepeat);
  l.reset_dedup();
  EXPECT_EQ(l.close_due(kT0 + 1h, notices), DeliveryLimits::Clock::time_point::max());
  EXPECT_TRUE(notices.empty());
  EXPECT_EQ(l.admit(make("same"), d, kT0 + 2s, notices), Verdict::kQueue);
}

TEST(DeliveryLimitsTest, KeysBeyondTheLimitAreNotDeduplicated) {
  auto l = limits();
  const auto d = dedup(10);
  std::vector<Alert> notices;
  for (size_t i = 0; i < DeliveryLimits::kMaxDedupKeys; ++i)
    ASSERT_EQ(l.admit(make(std::to_string(i)), d, kT0, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("0"), d, kT0, notices), Verdict::kRepeat);
  EXPECT_EQ(l.admit(make("new"), d, kT0, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("new"), d, kT0, notices), Verdict::kQueue);
}

TEST(DeliveryLimitsTest, RateLimitSuppressesTheRestAndEndsInOneSummary) {
  auto l = limits();
  const auto d = rate(2, 10);
  std::vector<Alert> notices;
  EXPECT_EQ(l.admit(make("m0", "A"), d, kT0, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("m1", "A"), d, kT0, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("m2", "A"), d, kT0 + 1s, notices), Verdict::kSuppressed);
  EXPECT_EQ(l.admit(make("m3", "B", rules::Priority::kCritical), d, kT0 + 1s, notices),
            Verdict::kSuppressed);
  EXPECT_EQ(l.admit(make("m4", "B"), d, kT0 + 2s, notices), Verdict::kSuppressed);
  EXPECT_EQ(l.close_due(kT0 + 5s, notices), kT0 + 10s);
  EXPECT_TRUE(notices.empty());

  EXPECT_EQ(l.close_due(kT0 + 10s, notices), DeliveryLimits::Clock::time_point::max());
  ASSERT_EQ(notices.size(), 1u);
  const Alert& s = notices[0];
  EXPECT_EQ(s.rule, "Vigil internal: alerts suppressed");
  EXPECT_EQ(s.message,
            "3 similar alerts suppressed for sink vigil-system/hook (rule counts: B: 2, A: 1)");
  EXPECT_EQ(s.priority, rules::Priority::kCritical);  // the most severe suppressed
  EXPECT_EQ(s.source, "internal");
  EXPECT_EQ(s.hostname, "node-1");
  EXPECT_EQ(s.tags, (std::vector<std::string>{"vigil", "internal"}));
  ASSERT_NE(field(s, "vigil.sink"), nullptr);
  EXPECT_EQ(std::get<std::string>(field(s, "vigil.sink")->value), "vigil-system/hook");
  ASSERT_NE(field(s, "vigil.suppressed_count"), nullptr);
  EXPECT_EQ(std::get<int64_t>(field(s, "vigil.suppressed_count")->value), 3);
  EXPECT_GT(s.time_ns, 0);
}

TEST(DeliveryLimitsTest, TheNextIntervalStartsWithTheSummaryOfTheLastOne) {
  auto l = limits();
  const auto d = rate(1, 10);
  std::vector<Alert> notices;
  EXPECT_EQ(l.admit(make("m0"), d, kT0, notices), Verdict::kQueue);
  EXPECT_EQ(l.admit(make("m1"), d, kT0, notices), Verdict::kSuppressed);
  EXPECT_EQ(l.admit(make("m2"), d, kT0 + 10s, notices), Verdict::kQueue);
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].rule, "Vigil internal: alerts suppressed");
  EXPECT_EQ(l.admit(make("m3"), d, kT0 + 11s, notices), Verdict::kSuppressed);
}

TEST(DeliveryLimitsTest, QueueFullDropsEndInOneSummaryWhenAsked) {
  auto l = limits();
  EXPECT_FALSE(l.take_queue_full_summary().has_value());
  l.count_queue_full(make("a", "A"));
  l.count_queue_full(make("b", "B", rules::Priority::kError));
  l.count_queue_full(make("c", "B"));
  const std::optional<Alert> s = l.take_queue_full_summary();
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->rule, "Vigil internal: alerts dropped");
  EXPECT_EQ(s->message,
            "3 alerts dropped (queue full) for sink vigil-system/hook (rule counts: B: 2, A: 1)");
  EXPECT_EQ(s->priority, rules::Priority::kError);
  ASSERT_NE(field(*s, "vigil.dropped_count"), nullptr);
  EXPECT_EQ(std::get<int64_t>(field(*s, "vigil.dropped_count")->value), 3);
  EXPECT_FALSE(l.take_queue_full_summary().has_value());  // reported once
}

TEST(DeliveryLimitsTest, SummariesListAtMostTenRules) {
  auto l = limits();
  for (int i = 0; i < 12; ++i) l.count_queue_full(make("m", "R" + std::to_string(i)));
  const auto s = l.take_queue_full_summary();
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->message.ends_with(", …)")) << s->message;
  // Equal counts keep the rules' (string) order: R0, R1, R10, R11, R2, ..., R7.
  EXPECT_NE(s->message.find("R11: 1"), s->message.npos);
  EXPECT_EQ(s->message.find("R8: 1"), s->message.npos);
  EXPECT_EQ(s->message.find("R9: 1"), s->message.npos);
}

}  // namespace
}  // namespace vigil::alerts
