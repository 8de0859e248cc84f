#include "common/k8s/backoff.h"

#include <gtest/gtest.h>

namespace vigil::k8s {
namespace {

using std::chrono::milliseconds;

TEST(K8sBackoffTest, GrowsToTheCapAndStaysWithinJitter) {
  Backoff b(
      {.initial = milliseconds(200), .max = milliseconds(30000), .factor = 2.0, .jitter = 0.5}, 1);
  double expected = 200;
  for (int i = 0; i < 20; ++i) {
    const auto d = b.next();
    const double base = std::min(expected, 30000.0);
    EXPECT_LE(d.count(), static_cast<int64_t>(base)) << i;
    EXPECT_GE(d.count(), static_cast<int64_t>(base * 0.5) - 1) << i;
    expected *= 2;
  }
  EXPECT_EQ(b.attempts(), 20);
}

TEST(K8sBackoffTest, NeverExceedsTheCapAfterManyAttempts) {
  Backoff b({.initial = milliseconds(200), .max = milliseconds(30000)}, 7);
  for (int i = 0; i < 10000; ++i) ASSERT_LE(b.next(), milliseconds(30000));
}

TEST(K8sBackoffTest, ResetStartsOver) {
  Backoff b(
      {.initial = milliseconds(100), .max = milliseconds(10000), .factor = 2.0, .jitter = 0.0}, 1);
  EXPECT_EQ(b.next(), milliseconds(100));
  EXPECT_EQ(b.next(), milliseconds(200));
  EXPECT_EQ(b.next(), milliseconds(400));
  b.reset();
  EXPECT_EQ(b.next(), milliseconds(100));
}

TEST(K8sBackoffTest, JitterSpreadsDelays) {
  Backoff a({.initial = milliseconds(1000), .jitter = 0.5}, 1);
  Backoff b({.initial = milliseconds(1000), .jitter = 0.5}, 2);
  int differ = 0;
  for (int i = 0; i < 5; ++i) differ += a.next() != b.next();
  EXPECT_GT(differ, 0);
}

TEST(K8sBackoffTest, SanitisesPolicy) {
  Backoff b({.initial = milliseconds(0), .max = milliseconds(0), .factor = 0.1, .jitter = 7}, 1);
  for (int i = 0; i < 5; ++i) {
    const auto d = b.next();
    EXPECT_GE(d.count(), 1);
    EXPECT_LE(d.count(), 1);
  }
}

}  // namespace
}  // namespace vigil::k8s
