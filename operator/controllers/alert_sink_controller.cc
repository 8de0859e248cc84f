#include "operator/controllers/alert_sink_controller.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/alerts/sink_secrets.h"
#include "common/api/v1alpha1/types.h"
#include "common/base/bounded_json.h"
#include "common/k8s/client.h"
#include "common/k8s/client_config.h"
#include "operator/controllers/node_status.h"
#include "operator/controllers/resources.h"

namespace vigil::op {

namespace api = vigil::api::v1alpha1;

namespace {

// Ready and Degraded from what the nodes report about their deliveries. Empty when no node
// reports the sink yet (Ready stays as it is: Unknown, NoDeliveries).
std::vector<api::Condition> sink_conditions_from(const SinkNodeStatus& n, int64_t generation) {
  if (n.reporting == 0) return {};
  const std::string of = " of " + std::to_string(n.reporting) + " nodes";
  if (n.failing > 0) {
    const std::string message =
        "deliveries failing on " + std::to_string(n.failing) + of + ": " + n.failing_message +
        (n.failing > 3 ? " ... and " + std::to_string(n.failing - 3) + " more" : "");
    return {api::Condition{std::string(api::kConditionReady),
                           api::ConditionStatus::kFalse,
                           generation,
                           {},
                           "DeliveryFailing",
                           message},
            api::Condition{std::string(api::kConditionDegraded),
                           api::ConditionStatus::kTrue,
                           generation,
                           {},
                           "DeliveryFailing",
                           message}};
  }
  // No node counts here: a node coming or going is not a change of this sink's health.
  const std::string message = "the last deliveries succeeded on every node";
  return {api::Condition{std::string(api::kConditionReady),
                         api::ConditionStatus::kTrue,
                         generation,
                         {},
                         "Delivering",
                         message},
          api::Condition{std::string(api::kConditionDegraded),
                         api::ConditionStatus::kFalse,
                         generation,
                         {},
                         "Delivering",
                         message}};
}

}  // namespace

SinkReconcileResult AlertSinkController::reconcile(const std::vector<std::string>& objects,
                                                   bool write_status, std::chrono::sys_seconds now,
                                                   const StatusInputs& status_inputs) {
  SinkReconcileResult result;
  for (const auto& text : objects) {
    auto sink = api::parse_alert_sink(text);
    nlohmann::json doc = parse_bounded_json(text);
    if (!sink.ok() || doc.is_discarded() || !doc.contains("spec")) {
      spdlog::warn("Skipped an AlertSink that does not parse: {}",
                   sink.ok() ? "no spec" : sink.error());
      continue;
    }
    ++result.sinks;
    const auto& meta = sink->metadata;
    const std::string key = meta.namespace_ + "/" + meta.name;
    std::vector<std::string> problems;
    for (const auto& e : api::validate(sink.value())) problems.push_back(e.to_string());
    std::map<std::string, std::string> creds;
    if (problems.empty()) {
      // The same resolution the agents' sinks and `vigilctl sink test` use.
      auto resolved = alerts::resolve_sink_credentials(
          meta.namespace_, sink->spec, [&](const std::string& name) {
            return client_.get(k8s::secrets(), meta.namespace_, name);
          });
      for (auto& p : resolved.problems) problems.push_back(std::move(p));
      creds = std::move(resolved.credentials);
    }
    const bool accepted = problems.empty();
    std::string message = accepted ? "Valid" : problems.front();
    for (size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i];
    if (accepted) {
      ++result.accepted;
      result.bundle_sinks.push_back(bundle::BundleObject{
          meta.namespace_, meta.name, meta.generation,
          doc["spec"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)});
      auto target =
          alerts::make_sink_target(meta.namespace_, meta.name, meta.generation, sink->spec, creds);
      if (target.ok()) {
        result.targets.push_back(std::move(target).value());
        result.targets_signature += key + "@" + std::to_string(meta.generation) + "#";
        for (const auto& [k, v] : creds)
          result.targets_signature += bundle::sha256_hex(k + "=" + v);
        result.targets_signature += ";";
      } else {
        spdlog::warn("AlertSink {} cannot deliver the operator's alerts: {}", key, target.error());
      }
      if (!creds.empty()) result.credentials[key] = std::move(creds);
    }
    api::AlertSinkStatus desired = sink->status;
    desired.observed_generation = meta.generation;
    std::vector<api::Condition> sink_conditions;
    if (status_inputs.nodes) {
      const SinkNodeStatus counters = status_inputs.nodes->sink(meta.namespace_, meta.name);
      desired.delivered = counters.delivered;
      desired.failed = counters.failed;
      desired.dropped = counters.dropped;
      if (!counters.last_error.empty()) desired.last_error = counters.last_error;
      if (counters.last_delivery_time) desired.last_delivery_time = counters.last_delivery_time;
      sink_conditions = sink_conditions_from(counters, meta.generation);
    }
    api::set_condition(
        desired.conditions,
        api::Condition{std::string(api::kConditionAccepted),
                       accepted ? api::ConditionStatus::kTrue : api::ConditionStatus::kFalse,
                       meta.generation,
                       {},
                       accepted ? "Valid" : "InvalidSpec",
                       message},
        now);
    for (const auto& c : sink_conditions) api::set_condition(desired.conditions, c, now);
    if (!api::find_condition(desired.conditions, api::kConditionReady)) {
      api::set_condition(desired.conditions,
                         api::Condition{std::string(api::kConditionReady),
                                        api::ConditionStatus::kUnknown,
                                        meta.generation,
                                        {},
                                        "NoDeliveries",
                                        "Nothing delivered yet"},
                         now);
    }
    if (desired == sink->status || !write_status) continue;
    const std::string limiter_key = "alertsinks/" + key;
    if (status_inputs.limiter) {
      const WriteDecision d = status_inputs.limiter->admit(
          limiter_key, classify_change(sink->status, desired), status_inputs.clock);
      if (d != WriteDecision::kWrite) {
        if (d != WriteDecision::kSkip) ++result.status_deferred;
        continue;
      }
    }
    auto patched = client_.patch_status(alert_sinks(), meta.namespace_, meta.name,
                                        api::to_status_patch_json(desired, meta.resource_version));
    if (!patched.ok()) {
      ++result.status_failures;
      if (patched.error_code() != k8s::kStatusConflict &&
          patched.error_code() != k8s::kStatusNotFound)
        spdlog::warn("Failed to write the status of AlertSink {}: {}", key, patched.error());
      continue;
    }
    ++result.status_writes;
    if (status_inputs.limiter) status_inputs.limiter->wrote(limiter_key, status_inputs.clock);
    if (desired.conditions != sink->status.conditions)
      spdlog::info("{} AlertSink {}: {}", accepted ? "Accepted" : "Rejected", key, message);
  }
  return result;
}

}  // namespace vigil::op
