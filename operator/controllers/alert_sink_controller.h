#pragma once

// Reconciles AlertSinks: validates each spec (the CRD's rules, again, for objects that predate
// them) and that every Secret it references exists and has the key; sets Accepted; collects the
// accepted sinks and their credentials for the bundle; sums the node agents' delivered, failed and
// dropped counters into the status. Secrets are read, never logged.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/alerts/sink.h"
#include "common/bundle/bundle.h"
#include "operator/controllers/status_write_limiter.h"

namespace vigil::k8s {
class Client;
}

namespace vigil::op {

struct SinkReconcileResult {
  size_t sinks = 0;
  size_t accepted = 0;
  size_t status_writes = 0;
  size_t status_failures = 0;
  size_t status_deferred = 0;  // changes left pending by the write budget
  std::vector<bundle::BundleObject> bundle_sinks;
  // "ns/name" -> {secret key ref "secret/key" -> value}: the bundle Secret's content.
  std::map<std::string, std::map<std::string, std::string>> credentials;
  // The accepted sinks, built for the operator's own dispatcher (the audit receiver's alerts).
  std::vector<alerts::SinkTarget> targets;
  // Changes when a sink that goes into `targets` (or its credentials) changes.
  std::string targets_signature;
};

class AlertSinkController {
 public:
  explicit AlertSinkController(k8s::Client& client) : client_(client) {}

  // `objects`: every AlertSink as the API server returned it.
  SinkReconcileResult reconcile(const std::vector<std::string>& objects, bool write_status,
                                std::chrono::sys_seconds now,
                                const StatusInputs& status_inputs = {});

 private:
  k8s::Client& client_;
};

}  // namespace vigil::op
