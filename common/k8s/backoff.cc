#include "common/k8s/backoff.h"

#include <algorithm>
#include <cmath>

namespace vigil::k8s {

Backoff::Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), rng_(seed) {
  policy_.factor = std::max(1.0, policy_.factor);
  policy_.jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  policy_.initial = std::max(policy_.initial, std::chrono::milliseconds(1));
  policy_.max = std::max(policy_.max, policy_.initial);
}

std::chrono::milliseconds Backoff::next() {
  const double max_ms = static_cast<double>(policy_.max.count());
  // Capping the exponent keeps pow() finite however many attempts are made.
  const double grown = static_cast<double>(policy_.initial.count()) *
                       std::pow(policy_.factor, std::min(attempt_, 64));
  const double base = std::min(grown, max_ms);
  ++attempt_;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double delay = base * (1.0 - policy_.jitter * unit(rng_));
  return std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(delay)));
}

}  // namespace vigil::k8s
