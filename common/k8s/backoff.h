#pragma once

// Exponential backoff with jitter for retrying API calls and watches.

#include <chrono>
#include <cstdint>
#include <random>

namespace vigil::k8s {

struct BackoffPolicy {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{30000};
  double factor = 2.0;
  // Each delay is drawn uniformly from [d * (1 - jitter), d], so retries from many clients spread
  // out and no delay exceeds `max`.
  double jitter = 0.5;
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}, uint64_t seed = std::random_device{}());

  // The delay before the next attempt; grows with each call until reset().
  std::chrono::milliseconds next();
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace vigil::k8s
