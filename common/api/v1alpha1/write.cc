// Writing objects (to_json) and status merge patches (to_status_patch_json). Keys come out in
// the CRD's order; strings that are not valid UTF-8 (a kernel path, a libbpf message) are
// written with U+FFFD in place of the bad bytes rather than failing the write.

#include <nlohmann/json.hpp>

#include "common/api/v1alpha1/types.h"

namespace vigil::api::v1alpha1 {
namespace {

using Json = nlohmann::ordered_json;

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Cuts s to at most `max` characters (the CRD's maxLength counts characters), ending in "..."
// when cut, on a UTF-8 character boundary.
std::string fit(std::string_view s, size_t max) {
  size_t chars = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++chars;
  if (chars <= max) return std::string(s);
  const size_t keep = max > 3 ? max - 3 : 0;
  size_t i = 0, n = 0;
  while (i < s.size()) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (n == keep) break;
      ++n;
    }
    ++i;
  }
  return std::string(s.substr(0, i)) + std::string("...").substr(0, max - keep);
}

Json str_or_null(std::string_view s, size_t max) {
  if (s.empty()) return nullptr;
  return fit(s, max);
}

Json time_or_null(const std::optional<Time>& t) {
  if (!t) return nullptr;
  return format_time(*t);
}

Json meta_json(const ObjectMeta& m) {
  Json j = Json::object();
  j["name"] = m.name;
  if (!m.namespace_.empty()) j["namespace"] = m.namespace_;
  if (!m.resource_version.empty()) j["resourceVersion"] = m.resource_version;
  if (!m.labels.empty()) j["labels"] = m.labels;
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j;
}

Json object_json(std::string_view kind, const ObjectMeta& meta, Json spec) {
  Json j = Json::object();
  j["apiVersion"] = std::string(kApiVersion);
  j["kind"] = std::string(kind);
  j["metadata"] = meta_json(meta);
  j["spec"] = std::move(spec);
  return j;
}

Json conditions_json(const std::vector<Condition>& conds) {
  Json arr = Json::array();
  for (const auto& c : conds) {
    Json j = Json::object();
    j["type"] = c.type;
    j["status"] = to_string(c.status);
    if (c.observed_generation != 0) j["observedGeneration"] = c.observed_generation;
    j["lastTransitionTime"] = format_time(c.last_transition_time);
    j["reason"] = c.reason;
    j["message"] = fit(c.message, kMaxConditionMessageLength);
    arr.push_back(std::move(j));
  }
  return arr;
}

std::string patch(Json status, std::string_view resource_version) {
  Json j = Json::object();
  if (!resource_version.empty())
    j["metadata"] = Json{{"resourceVersion", std::string(resource_version)}};
  j["status"] = std::move(status);
  return dump(j);
}

Json name_values_json(const std::vector<HttpHeader>& items) {
  Json arr = Json::array();
  for (const auto& h : items) arr.push_back(Json{{"name", h.name}, {"value", h.value}});
  return arr;
}

// The HTTP sinks' common fields; headers only where the CRD has them (webhook).
void endpoint_json(Json& j, const HttpEndpoint& e, bool with_headers) {
  j["url"] = e.url;
  if (with_headers && !e.headers.empty()) j["headers"] = name_values_json(e.headers);
  if (e.headers_secret_ref) j["headersSecretRef"] = Json{{"name", e.headers_secret_ref->name}};
  Json tls = Json::object();
  if (e.tls.ca_secret_ref) {
    tls["caSecretRef"] =
        Json{{"name", e.tls.ca_secret_ref->name}, {"key", e.tls.ca_secret_ref->key}};
  }
  if (e.tls.client_cert_secret_ref)
    tls["clientCertSecretRef"] = Json{{"name", e.tls.client_cert_secret_ref->name}};
  if (e.tls.insecure_skip_verify) tls["insecureSkipVerify"] = true;
  if (!tls.empty()) j["tls"] = std::move(tls);
  j["timeoutSeconds"] = e.timeout_seconds;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string to_json(const SecurityRule& rule) {
  const SecurityRuleSpec& s = rule.spec;
  Json spec = Json::object();
  spec["source"] = to_string(s.source);
  if (!s.description.empty()) spec["description"] = s.description;
  spec["condition"] = s.condition;
  spec["output"] = s.output;
  spec["priority"] = rules::priority_name(s.priority);
  if (!s.tags.empty()) spec["tags"] = s.tags;
  spec["enabled"] = s.enabled;
  spec["mode"] = s.mode == rules::RuleMode::kDryRun ? "DryRun" : "Alert";
  if (!s.exceptions.empty()) {
    Json arr = Json::array();
    for (const auto& ex : s.exceptions) {
      Json e = Json::object();
      e["name"] = ex.name;
      e["fields"] = ex.fields;
      if (!ex.comps.empty()) e["comps"] = ex.comps;
      if (!ex.values.empty()) e["values"] = ex.values;
      arr.push_back(std::move(e));
    }
    spec["exceptions"] = std::move(arr);
  }
  if (!s.macros.empty()) spec["macros"] = s.macros;
  if (!s.lists.empty()) spec["lists"] = s.lists;
  if (s.rate_limit) {
    Json rl = Json::object();
    if (s.rate_limit->max_alerts) rl["maxAlerts"] = *s.rate_limit->max_alerts;
    if (s.rate_limit->per_seconds) rl["perSeconds"] = *s.rate_limit->per_seconds;
    if (s.rate_limit->dedup_window_seconds)
      rl["dedupWindowSeconds"] = s.rate_limit->dedup_window_seconds;
    spec["rateLimit"] = std::move(rl);
  }
  return dump(object_json("SecurityRule", rule.metadata, std::move(spec)));
}

std::string to_json(const AlertSink& sink) {
  const AlertSinkSpec& s = sink.spec;
  Json spec = Json::object();
  spec["type"] = to_string(s.type);
  if (s.stdout_) spec["stdout"] = Json{{"format", to_string(s.stdout_->format)}};
  if (s.file) {
    spec["file"] = Json{{"path", s.file->path},
                        {"format", to_string(s.file->format)},
                        {"maxSizeBytes", s.file->max_size_bytes},
                        {"maxFiles", s.file->max_files},
                        {"fsync", to_string(s.file->fsync)}};
  }
  if (s.webhook) {
    Json w = Json::object();
    endpoint_json(w, s.webhook->endpoint, /*with_headers=*/true);
    w["method"] = to_string(s.webhook->method);
    w["format"] = to_string(s.webhook->format);
    spec["webhook"] = std::move(w);
  }
  if (s.slack) {
    Json sl = Json::object();
    sl["webhookSecretRef"] =
        Json{{"name", s.slack->webhook_secret_ref.name}, {"key", s.slack->webhook_secret_ref.key}};
    if (!s.slack->channel.empty()) sl["channel"] = s.slack->channel;
    if (!s.slack->username.empty()) sl["username"] = s.slack->username;
    if (!s.slack->icon_emoji.empty()) sl["iconEmoji"] = s.slack->icon_emoji;
    if (!s.slack->template_.empty()) sl["template"] = s.slack->template_;
    spec["slack"] = std::move(sl);
  }
  if (s.falcosidekick) {
    Json f = Json::object();
    endpoint_json(f, s.falcosidekick->endpoint, /*with_headers=*/false);
    spec["falcosidekick"] = std::move(f);
  }
  if (s.alertmanager) {
    Json a = Json::object();
    endpoint_json(a, s.alertmanager->endpoint, /*with_headers=*/false);
    if (!s.alertmanager->labels.empty()) a["labels"] = name_values_json(s.alertmanager->labels);
    a["resolveAfterSeconds"] = s.alertmanager->resolve_after_seconds;
    spec["alertmanager"] = std::move(a);
  }
  const SinkFilter& f = s.filter;
  Json filter = Json::object();
  if (f.minimum_priority) filter["minimumPriority"] = rules::priority_name(*f.minimum_priority);
  if (!f.rules.empty()) filter["rules"] = f.rules;
  if (!f.tags.empty()) filter["tags"] = f.tags;
  if (!f.sources.empty()) {
    Json arr = Json::array();
    for (auto src : f.sources) arr.push_back(to_string(src));
    filter["sources"] = std::move(arr);
  }
  if (!f.namespaces.empty()) filter["namespaces"] = f.namespaces;
  if (!filter.empty()) spec["filter"] = std::move(filter);
  const Delivery& d = s.delivery;
  Json delivery = Json::object();
  delivery["retries"] = d.retries;
  delivery["backoff"] =
      Json{{"initialSeconds", d.backoff_initial_seconds}, {"maxSeconds", d.backoff_max_seconds}};
  delivery["queueSize"] = d.queue_size;
  delivery["dedupWindowSeconds"] = d.dedup_window_seconds;
  if (d.rate_limit) {
    delivery["rateLimit"] =
        Json{{"maxAlerts", d.rate_limit->max_alerts}, {"perSeconds", d.rate_limit->per_seconds}};
  }
  spec["delivery"] = std::move(delivery);
  return dump(object_json("AlertSink", sink.metadata, std::move(spec)));
}

std::string to_json(const NodeAgent& agent) {
  return dump(object_json("NodeAgent", agent.metadata, Json{{"nodeName", agent.spec.node_name}}));
}

// ---------------------------------------------------------------------------------------------

std::string to_status_patch_json(const SecurityRuleStatus& s, std::string_view resource_version) {
  Json j = Json::object();
  j["observedGeneration"] = s.observed_generation;
  j["conditions"] = conditions_json(s.conditions);
  j["nodes"] = Json{{"targeted", s.nodes.targeted},
                    {"programmed", s.nodes.programmed},
                    {"failed", s.nodes.failed}};
  j["nodesSummary"] = nodes_summary(s.nodes);
  j["alerts"] =
      Json{{"total", s.alerts.total}, {"lastTriggered", time_or_null(s.alerts.last_triggered)}};
  j["expandedCondition"] = str_or_null(s.expanded_condition, kMaxExpandedConditionLength);
  return patch(std::move(j), resource_version);
}

std::string to_status_patch_json(const AlertSinkStatus& s, std::string_view resource_version) {
  Json j = Json::object();
  j["observedGeneration"] = s.observed_generation;
  j["conditions"] = conditions_json(s.conditions);
  j["delivered"] = s.delivered;
  j["failed"] = s.failed;
  j["dropped"] = s.dropped;
  j["lastError"] = str_or_null(s.last_error, kMaxLastErrorLength);
  j["lastDeliveryTime"] = time_or_null(s.last_delivery_time);
  return patch(std::move(j), resource_version);
}

std::string to_status_patch_json(const NodeAgentStatus& s, std::string_view resource_version) {
  Json j = Json::object();
  j["conditions"] = conditions_json(s.conditions);
  j["probe"] = Json{{"state", to_string(s.probe.state)},
                    {"programs", s.probe.programs},
                    {"message", str_or_null(s.probe.message, 4096)}};
  j["bundle"] = Json{{"generation", s.bundle.generation},
                     {"hash", str_or_null(s.bundle.hash, 128)},
                     {"appliedTime", time_or_null(s.bundle.applied_time)},
                     {"error", str_or_null(s.bundle.error, kMaxBundleErrorLength)}};
  j["eventsPerSecond"] = s.events_per_second;
  j["drops"] = s.drops;
  j["alerts"] = s.alerts;
  j["lastHeartbeatTime"] = time_or_null(s.last_heartbeat_time);
  Json rules = Json::array();
  for (const auto& r : s.rules) {
    Json e = Json::object();
    e["namespace"] = r.namespace_;
    e["name"] = r.name;
    e["generation"] = r.generation;
    e["alerts"] = r.alerts;
    if (r.last_triggered) e["lastTriggered"] = format_time(*r.last_triggered);
    e["programmed"] = r.programmed;
    if (!r.error.empty()) e["error"] = fit(r.error, 4096);
    rules.push_back(std::move(e));
  }
  j["rules"] = std::move(rules);
  Json sinks = Json::array();
  for (const auto& k : s.sinks) {
    Json e{{"namespace", k.namespace_},
           {"name", k.name},
           {"delivered", k.delivered},
           {"failed", k.failed},
           {"dropped", k.dropped}};
    if (!k.state.empty()) e["state"] = k.state;
    if (!k.last_error.empty()) e["lastError"] = fit(k.last_error, 1024);
    if (k.last_delivery_time) e["lastDeliveryTime"] = format_time(*k.last_delivery_time);
    sinks.push_back(std::move(e));
  }
  j["sinks"] = std::move(sinks);
  return patch(std::move(j), resource_version);
}

}  // namespace vigil::api::v1alpha1
