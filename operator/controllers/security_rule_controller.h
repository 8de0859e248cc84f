#pragma once

// Reconciles SecurityRules: compiles every rule (rule_compilation.h), writes each rule's status
// (Accepted with reason and a message carrying line:column, observedGeneration, the expanded
// condition; nodes, alerts and Programmed from the node agents' reports, node_status.h) through
// the /status subresource, and hands the accepted rules to the bundle publisher. Statuses are
// written only when they change, within the write budget (status_write_limiter.h).

#include <chrono>
#include <string>
#include <vector>

#include "common/bundle/bundle.h"
#include "operator/controllers/status_write_limiter.h"

namespace vigil::k8s {
class Client;
class EventRecorder;
}  // namespace vigil::k8s

namespace vigil::op {

struct RuleReconcileResult {
  size_t rules = 0;
  size_t accepted = 0;
  size_t status_writes = 0;
  size_t status_failures = 0;  // conflicts and errors; the next event retries
  size_t status_deferred = 0;  // changes left pending by the write budget
  std::vector<bundle::BundleObject> bundle_rules;
};

class SecurityRuleController {
 public:
  // `events` (optional) receives a Kubernetes Event when a rule's Accepted condition changes.
  SecurityRuleController(k8s::Client& client, std::string cluster_namespace,
                         k8s::EventRecorder* events = nullptr)
      : client_(client), cluster_namespace_(std::move(cluster_namespace)), events_(events) {}

  // `objects`: every SecurityRule as the API server returned it (the watch cache). Only the
  // leader passes write_status = true.
  RuleReconcileResult reconcile(const std::vector<std::string>& objects, bool write_status,
                                std::chrono::sys_seconds now,
                                const StatusInputs& status_inputs = {});

 private:
  k8s::Client& client_;
  std::string cluster_namespace_;
  k8s::EventRecorder* events_;
};

}  // namespace vigil::op
