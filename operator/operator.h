#pragma once

// The operator's main loop: watches SecurityRules, AlertSinks and NodeAgents, reconciles them
// into status and the bundle (debounced: a burst of changes is one reconcile; NodeAgent reports
// at most once per node_report_debounce), runs leader election (only the leader writes status
// and the bundle; every replica keeps its caches warm), and serves health, readiness and
// metrics. Status writes go through one budget (qps, burst; counters-only changes at most once
// per alert_status_interval per object), and nothing is written at rest.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

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
  // A NodeAgent whose lastHeartbeatTime is older than this is stale: targeted, never programmed.
  // The loop wakes up every third of it to notice.
  std::chrono::seconds node_stale{90};
  std::chrono::milliseconds node_report_debounce{1000};
  double status_qps = 20;  // every status write (rules and sinks) shares this budget
  int status_burst = 50;
  std::chrono::seconds alert_status_interval{10};  // counters-only writes, per object
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};

  // The audit webhook receiver (audit/audit_receiver.h). Every replica receives; the leader sums
  // every replica's report into status.
  bool audit_enabled = true;
  std::string audit_address = "0.0.0.0";
  uint16_t audit_port = 8443;  // 0: pick one (tests); the chosen port is logged
  bool audit_tls = true;       // false: plain HTTP (only behind a TLS-terminating proxy, or tests)
  std::string audit_tls_secret = "vigil-audit-tls";
  std::string audit_service = "vigil-operator";  // for the certificate's names and the URL
  int audit_service_port = 443;
  std::vector<std::string> audit_tls_names;  // more names (DNS or IP) for the certificate
  bool audit_allow_unauthenticated = false;
  size_t audit_max_body = 16u << 20;
  std::string cluster_name;  // ka.cluster.name
  std::chrono::milliseconds receiver_report_interval{2000};
  // The ServiceAccount (in `ns`) that owns every object the operator creates in its namespace
  // (bundle, audit Secret and ConfigMaps, receiver reports, Lease), so that uninstalling Vigil
  // (which deletes the ServiceAccount) lets the garbage collector remove them. "": no owner.
  std::string owner_service_account;
};

// Runs until `stop` becomes true; returns an error when startup fails (bad address, ...).
Result<bool> run_operator(const OperatorConfig& config, k8s::Client& client,
                          const std::atomic<bool>& stop);

}  // namespace vigil::op
