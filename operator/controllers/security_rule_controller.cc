#include "operator/controllers/security_rule_controller.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/api/v1alpha1/types.h"
#include "common/base/bounded_json.h"
#include "common/k8s/client.h"
#include "common/k8s/events.h"
#include "operator/controllers/node_status.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/rule_compilation.h"

namespace vigil::op {

namespace api = vigil::api::v1alpha1;

namespace {

// Logs when a rule goes live everywhere, fails somewhere, or stops being live.
void log_programmed_change(const api::SecurityRule& rule, const api::SecurityRuleStatus& desired) {
  const api::Condition* before =
      api::find_condition(rule.status.conditions, api::kConditionProgrammed);
  const api::Condition* after = api::find_condition(desired.conditions, api::kConditionProgrammed);
  if (!after || after->reason == "NotAccepted") return;
  if (before && before->status == after->status && before->reason == after->reason) return;
  if (after->status == api::ConditionStatus::kFalse) {
    spdlog::warn("SecurityRule {}/{} failed on nodes: {}", rule.metadata.namespace_,
                 rule.metadata.name, after->message);
  } else if (after->status == api::ConditionStatus::kTrue ||
             (before && before->status == api::ConditionStatus::kTrue)) {
    spdlog::info(
        "SecurityRule {}/{} is {}: {}", rule.metadata.namespace_, rule.metadata.name,
        after->status == api::ConditionStatus::kTrue ? "programmed" : "no longer programmed",
        after->message);
  }
}

}  // namespace

RuleReconcileResult SecurityRuleController::reconcile(const std::vector<std::string>& objects,
                                                      bool write_status,
                                                      std::chrono::sys_seconds now,
                                                      const StatusInputs& status_inputs) {
  RuleReconcileResult result;
  std::vector<api::SecurityRule> parsed;
  std::vector<RuleObject> inputs;
  for (const auto& text : objects) {
    auto rule = api::parse_security_rule(text);
    nlohmann::json doc = parse_bounded_json(text);
    if (!rule.ok() || doc.is_discarded() || !doc.contains("spec")) {
      // The API server validated it against the CRD, so this is a bug or a newer schema.
      spdlog::warn("Skipped a SecurityRule that does not parse: {}",
                   rule.ok() ? "no spec" : rule.error());
      continue;
    }
    inputs.push_back(
        RuleObject{rule->metadata.namespace_, rule->metadata.name, rule->metadata.generation,
                   doc["spec"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
    parsed.push_back(std::move(rule.value()));
  }
  RuleCompilation compiled = compile_security_rules(inputs, cluster_namespace_);
  result.rules = parsed.size();
  result.bundle_rules = std::move(compiled.accepted);
  result.accepted = result.bundle_rules.size();

  for (size_t i = 0; i < parsed.size(); ++i) {
    const api::SecurityRule& rule = parsed[i];
    const RuleVerdict& v = compiled.verdicts[i];
    api::SecurityRuleStatus desired = rule.status;
    desired.observed_generation = rule.metadata.generation;
    desired.expanded_condition = v.accepted ? v.expanded_condition : "";
    api::set_condition(
        desired.conditions,
        api::Condition{std::string(api::kConditionAccepted),
                       v.accepted ? api::ConditionStatus::kTrue : api::ConditionStatus::kFalse,
                       rule.metadata.generation,
                       {},
                       v.reason,
                       v.message},
        now);
    std::optional<RuleNodeStatus> reported;
    if (status_inputs.nodes) {
      const int64_t since =
          status_inputs.bundles
              ? status_inputs.bundles->since(rule.metadata.namespace_, rule.metadata.name,
                                             rule.metadata.generation)
              : 0;
      reported = status_inputs.nodes->rule(rule.metadata.namespace_, rule.metadata.name,
                                           rule.metadata.generation, rule.spec.source, since);
      desired.nodes = reported->nodes;
      desired.alerts = reported->alerts;
    }
    if (!v.accepted) {
      api::set_condition(desired.conditions,
                         api::Condition{std::string(api::kConditionProgrammed),
                                        api::ConditionStatus::kFalse,
                                        rule.metadata.generation,
                                        {},
                                        "NotAccepted",
                                        "The rule does not compile, so no node runs it"},
                         now);
    } else if (reported) {
      api::set_condition(desired.conditions,
                         api::Condition{std::string(api::kConditionProgrammed),
                                        reported->programmed,
                                        rule.metadata.generation,
                                        {},
                                        reported->reason,
                                        reported->message},
                         now);
    } else if (!api::find_condition(desired.conditions, api::kConditionProgrammed) ||
               api::find_condition(desired.conditions, api::kConditionProgrammed)->reason ==
                   "NotAccepted") {
      // Set on the first visit; the agents' reports turn it True or False.
      api::set_condition(desired.conditions,
                         api::Condition{std::string(api::kConditionProgrammed),
                                        api::ConditionStatus::kUnknown,
                                        rule.metadata.generation,
                                        {},
                                        "Pending",
                                        "Waiting for node agents to load the bundle"},
                         now);
    }
    if (desired == rule.status || !write_status) continue;
    const std::string key = "securityrules/" + rule.metadata.namespace_ + "/" + rule.metadata.name;
    if (status_inputs.limiter) {
      const WriteDecision d = status_inputs.limiter->admit(
          key, classify_change(rule.status, desired), status_inputs.clock);
      if (d != WriteDecision::kWrite) {
        if (d != WriteDecision::kSkip) ++result.status_deferred;
        continue;
      }
    }
    auto patched =
        client_.patch_status(security_rules(), rule.metadata.namespace_, rule.metadata.name,
                             api::to_status_patch_json(desired, rule.metadata.resource_version));
    if (!patched.ok()) {
      ++result.status_failures;
      if (patched.error_code() != k8s::kStatusConflict &&
          patched.error_code() != k8s::kStatusNotFound) {
        spdlog::warn("Failed to write the status of SecurityRule {}/{}: {}",
                     rule.metadata.namespace_, rule.metadata.name, patched.error());
      }
      continue;
    }
    ++result.status_writes;
    if (status_inputs.limiter) status_inputs.limiter->wrote(key, status_inputs.clock);
    log_programmed_change(rule, desired);
    const api::Condition* before =
        api::find_condition(rule.status.conditions, api::kConditionAccepted);
    const api::Condition* after = api::find_condition(desired.conditions, api::kConditionAccepted);
    if (!before || before->status != after->status || before->message != after->message) {
      spdlog::info("{} SecurityRule {}/{}: {}", v.accepted ? "Accepted" : "Rejected",
                   rule.metadata.namespace_, rule.metadata.name, v.message);
      if (events_) {
        events_->record(
            k8s::ObjectReference{"vigil.dev/v1alpha1", "SecurityRule", rule.metadata.namespace_,
                                 rule.metadata.name, rule.metadata.uid, ""},
            v.accepted ? k8s::EventType::kNormal : k8s::EventType::kWarning, v.reason, v.message);
      }
    }
  }
  return result;
}

}  // namespace vigil::op
