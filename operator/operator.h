#pragma once

// The operator's main loop: watches SecurityRules and AlertSinks, reconciles them into status and
// the bundle (debounced: a burst of changes is one reconcile), runs leader election (only the
// leader writes status and the bundle; every replica keeps its caches warm), and serves health,
// readiness and metrics.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/base/result.h"

namespace vigil::k8s {
class Client;
}

namespace vigil::op {

struct OperatorConfig {
  std::string ns = "vigil-system";  // the operator's namespace: cluster-wide rules, bundle, Lease
  bool leader_elect = true;
  std::string lease_name = "vigil-operator";
  std::string identity;  // default: hostname + random suffix
  std::string health_address = "0.0.0.0";
  uint16_t health_port = 8081;  // 0: pick one (tests); the chosen port is logged
  std::chrono::milliseconds debounce{100};
  std::chrono::seconds resync{30};  // full reconcile even without events (Secrets, drift)
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
};

// Runs until `stop` becomes true; returns an error when startup fails (bad address, ...).
Result<bool> run_operator(const OperatorConfig& config, k8s::Client& client,
                          const std::atomic<bool>& stop);

}  // namespace vigil::op
