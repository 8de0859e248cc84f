#include "operator/audit/receiver_report.h"

#include <map>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/alerts/dispatcher.h"
#include "common/base/bounded_json.h"
#include "common/k8s/client.h"
#include "common/k8s/object.h"
#include "common/k8s/resource.h"

namespace vigil::op {

namespace api = vigil::api::v1alpha1;
using Json = nlohmann::json;

namespace {

constexpr std::string_view kNamePrefix = "vigil-audit-receiver-";
constexpr const char* kIdentityAnnotation = "vigil.dev/identity";

api::Time to_time(int64_t ns) { return api::Time{std::chrono::seconds(ns / 1000000000)}; }

}  // namespace

std::string receiver_configmap_name(std::string_view identity) {
  std::string out(kNamePrefix);
  for (char c : identity) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') ? l : '-';
  }
  if (out.size() > 253) out.resize(253);
  while (out.back() == '-') out.pop_back();
  return out;
}

api::NodeAgentStatus build_receiver_status(const api::NodeAgentStatus* stored,
                                           const std::vector<AuditRuleCount>& counts,
                                           const std::vector<alerts::SinkStats>& sinks,
                                           api::Time now, bool stopping) {
  api::NodeAgentStatus s;
  std::map<std::pair<std::string, std::string>, api::NodeRuleStatus> rules;
  std::map<std::pair<std::string, std::string>, api::NodeSinkStatus> sink_map;
  if (stored) {
    for (const auto& r : stored->rules) rules[{r.namespace_, r.name}] = r;
    for (const auto& k : stored->sinks) {
      api::NodeSinkStatus base = k;
      base.state.clear();  // a sink no longer delivered here keeps its history, not its state
      sink_map[{k.namespace_, k.name}] = base;
    }
  }
  for (const auto& c : counts) {
    api::NodeRuleStatus& r = rules[{c.ns, c.name}];
    r.namespace_ = c.ns;
    r.name = c.name;
    r.programmed = true;
    r.alerts += static_cast<int64_t>(c.alerts);
    if (c.last_time_ns > 0) {
      const api::Time t = to_time(c.last_time_ns);
      if (!r.last_triggered || *r.last_triggered < t) r.last_triggered = t;
    }
  }
  int64_t total = 0;
  for (auto& [key, r] : rules) {
    total += r.alerts;
    s.rules.push_back(std::move(r));
  }
  s.alerts = total;
  for (const auto& d : sinks) {
    if (d.removing) continue;
    api::NodeSinkStatus& k = sink_map[{d.ns, d.name}];
    k.namespace_ = d.ns;
    k.name = d.name;
    k.delivered += static_cast<int64_t>(d.delivered);
    k.failed += static_cast<int64_t>(d.failed);
    k.dropped += static_cast<int64_t>(d.dropped_total());
    k.state = alerts::to_string(d.state);
    if (!d.last_error.empty()) k.last_error = d.last_error;
    if (d.last_delivery_time)
      k.last_delivery_time =
          std::chrono::time_point_cast<std::chrono::seconds>(*d.last_delivery_time);
  }
  for (auto& [key, k] : sink_map) s.sinks.push_back(std::move(k));
  s.probe.state = api::ProbeState::kRunning;
  s.last_heartbeat_time = now;
  api::Condition ready{
      std::string(api::kConditionReady), api::ConditionStatus::kTrue, 0, {}, "Receiving",
      "the audit receiver is running"};
  if (stopping) {
    s.probe.state = api::ProbeState::kStarting;
    ready.status = api::ConditionStatus::kFalse;
    ready.reason = "Stopped";
    ready.message = "the operator replica stopped";
  }
  api::set_condition(s.conditions, ready, now);
  return s;
}

std::string render_receiver_configmap(std::string_view ns, std::string_view identity,
                                      const api::NodeAgentStatus& status,
                                      std::string_view resource_version,
                                      std::string_view owner_references_json) {
  Json meta{
      {"name", receiver_configmap_name(identity)},
      {"namespace", ns},
      {"labels",
       {{std::string(kReceiverLabel), "true"}, {"app.kubernetes.io/managed-by", "vigil-operator"}}},
      {"annotations", {{kIdentityAnnotation, identity}}}};
  if (!resource_version.empty()) meta["resourceVersion"] = resource_version;
  if (!owner_references_json.empty()) {
    Json owners = parse_bounded_json(owner_references_json);
    if (owners.is_array()) meta["ownerReferences"] = std::move(owners);
  }
  // The status patch's "status" object is exactly a NodeAgent's status.
  Json patch = parse_bounded_json(api::to_status_patch_json(status, ""));
  Json data{{std::string(kReceiverReportKey),
             patch.is_object() && patch.contains("status") ? patch["status"].dump() : "{}"}};
  Json cm{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", meta}, {"data", data}};
  return cm.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<api::NodeAgent> parse_receiver_configmap(std::string_view configmap_json) {
  const Json cm = parse_bounded_json(configmap_json);
  if (!cm.is_object() || !cm.contains("metadata") || !cm["metadata"].is_object())
    return Error{"not a ConfigMap"};
  const Json& meta = cm["metadata"];
  std::string identity = meta.value("name", std::string());
  if (meta.contains("annotations") && meta["annotations"].is_object())
    identity = meta["annotations"].value(kIdentityAnnotation, identity);
  if (!cm.contains("data") || !cm["data"].is_object() ||
      !cm["data"].contains(std::string(kReceiverReportKey)) ||
      !cm["data"][std::string(kReceiverReportKey)].is_string())
    return Error{"ConfigMap " + meta.value("name", std::string()) + " has no data." +
                 std::string(kReceiverReportKey)};
  Json status = parse_bounded_json(cm["data"][std::string(kReceiverReportKey)].get<std::string>());
  if (!status.is_object())
    return Error{"data." + std::string(kReceiverReportKey) + " is not a JSON object"};
  Json agent{{"apiVersion", api::kApiVersion},
             {"kind", "NodeAgent"},
             {"metadata", {{"name", identity}}},
             {"spec", {{"nodeName", identity}}},
             {"status", status}};
  return api::parse_node_agent(agent.dump(-1, ' ', false, Json::error_handler_t::replace));
}

ReceiverReporter::ReceiverReporter(k8s::Client& client, Options options,
                                   const AuditReceiver& receiver,
                                   std::function<std::vector<alerts::SinkStats>()> sink_stats)
    : client_(client),
      options_(std::move(options)),
      receiver_(receiver),
      sink_stats_(std::move(sink_stats)) {}

ReceiverReporter::~ReceiverReporter() { stop(); }

void ReceiverReporter::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void ReceiverReporter::stop() {
  if (stop_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  if (loaded_) write(/*stopping=*/true);
}

void ReceiverReporter::run() {
  constexpr auto kTick = std::chrono::milliseconds(100);
  while (!stop_) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_write_ >= options_.report_interval) {
      if (!write(false)) last_write_ = now;  // failed: retry after the interval, not at once
    }
    std::this_thread::sleep_for(kTick);
  }
}

bool ReceiverReporter::write(bool stopping) {
  const std::string name = receiver_configmap_name(options_.identity);
  if (!loaded_) {
    auto got = client_.get(k8s::configmaps(), options_.ns, name);
    if (got.ok()) {
      auto parsed = parse_receiver_configmap(*got);
      if (parsed.ok()) stored_ = std::make_unique<api::NodeAgentStatus>(parsed->status);
      resource_version_ = k8s::resource_version_of(*got);
    } else if (got.error_code() != k8s::kStatusNotFound) {
      ++failures_;
      spdlog::warn("Cannot read the audit receiver's report {}: {}", name, got.error());
      return false;
    }
    loaded_ = true;
  }
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  api::NodeAgentStatus status = build_receiver_status(
      stored_.get(), receiver_.rule_counts(),
      sink_stats_ ? sink_stats_() : std::vector<alerts::SinkStats>{}, now, stopping);
  // A condition keeps its transition time while its status stays.
  for (auto& c : status.conditions) {
    const api::Condition* old = api::find_condition(last_written_.conditions, c.type);
    if (old && old->status == c.status) c.last_transition_time = old->last_transition_time;
  }
  // Written when something but the heartbeat changed, or when the heartbeat is due.
  api::NodeAgentStatus compare = status;
  compare.last_heartbeat_time = last_written_.last_heartbeat_time;
  const bool changed = !(compare == last_written_);
  const auto clock = std::chrono::steady_clock::now();
  if (!changed && !resource_version_.empty() && clock - last_write_ < options_.heartbeat)
    return true;
  Result<std::string> written =
      resource_version_.empty()
          ? client_.create(k8s::configmaps(), options_.ns,
                           render_receiver_configmap(options_.ns, options_.identity, status, {},
                                                     options_.owner_references_json))
          : client_.update(
                k8s::configmaps(), options_.ns, name,
                render_receiver_configmap(options_.ns, options_.identity, status, resource_version_,
                                          options_.owner_references_json));
  if (!written.ok()) {
    ++failures_;
    if (written.error_code() == k8s::kStatusConflict) {
      // Someone else wrote it (a replica with the same identity?): take its resourceVersion and
      // write ours over it on the next try. The counters stay ours.
      auto got = client_.get(k8s::configmaps(), options_.ns, name);
      if (got.ok()) resource_version_ = k8s::resource_version_of(*got);
    } else if (written.error_code() == k8s::kStatusNotFound) {
      resource_version_.clear();  // deleted: create it again
    }
    spdlog::warn("Cannot write the audit receiver's report {}: {}", name, written.error());
    return false;
  }
  resource_version_ = k8s::resource_version_of(*written);
  last_written_ = std::move(status);
  last_write_ = clock;
  ++writes_;
  return true;
}

}  // namespace vigil::op
