#include "agent/sink_sync.h"

#include <map>

#include "common/api/v1alpha1/types.h"
#include "common/base/bounded_json.h"
#include "common/bundle/bundle.h"
#include "common/k8s/client_config.h"

namespace vigil::agent {

namespace {

using Json = nlohmann::json;

// "ns/name" -> credentials, from the Secret's data."credentials.json" (base64 of a JSON object
// of objects of strings).
std::map<std::string, alerts::Credentials> read_credentials(std::string_view secret_json,
                                                            std::string& error) {
  std::map<std::string, alerts::Credentials> out;
  if (secret_json.empty()) return out;
  const Json secret = parse_bounded_json(secret_json);
  const std::string key(bundle::kCredentialsKey);
  if (!secret.is_object() || !secret.contains("data") || !secret["data"].is_object() ||
      !secret["data"].contains(key) || !secret["data"][key].is_string()) {
    error = "the credentials Secret has no data." + key;
    return out;
  }
  auto decoded = k8s::base64_decode(secret["data"][key].get<std::string>());
  if (!decoded) {
    error = "the credentials Secret's data." + key + " is not base64";
    return out;
  }
  const Json creds = parse_bounded_json(*decoded);
  if (!creds.is_object()) {
    error = "the credentials Secret's data." + key + " is not a JSON object";
    return out;
  }
  for (auto it = creds.begin(); it != creds.end(); ++it) {
    if (!it.value().is_object()) continue;
    alerts::Credentials& c = out[it.key()];
    for (auto kv = it.value().begin(); kv != it.value().end(); ++kv)
      if (kv.value().is_string()) c[kv.key()] = kv.value().get<std::string>();
  }
  return out;
}

}  // namespace

BundleSinks build_bundle_sinks(std::string_view configmap_json, std::string_view secret_json) {
  BundleSinks out;
  const Json cm = parse_bounded_json(configmap_json);
  const std::string key(bundle::kSinksKey);
  if (!cm.is_object() || !cm.contains("data") || !cm["data"].is_object() ||
      !cm["data"].contains(key) || !cm["data"][key].is_string()) {
    out.error = "the bundle ConfigMap has no data." + key;
    return out;
  }
  const Json sinks = parse_bounded_json(cm["data"][key].get<std::string>());
  if (!sinks.is_array()) {
    out.error = "the bundle's " + key + " is not a JSON array";
    return out;
  }
  std::string cred_error;
  const auto credentials = read_credentials(secret_json, cred_error);
  if (!cred_error.empty()) out.errors.push_back(cred_error);
  static const alerts::Credentials kNone;
  for (size_t i = 0; i < sinks.size(); ++i) {
    const Json& s = sinks[i];
    const std::string where = key + "[" + std::to_string(i) + "]";
    if (!s.is_object() || !s.contains("namespace") || !s["namespace"].is_string() ||
        !s.contains("name") || !s["name"].is_string() || !s.contains("spec")) {
      out.errors.push_back(where + ": not a sink entry");
      continue;
    }
    const std::string ns = s["namespace"].get<std::string>();
    const std::string name = s["name"].get<std::string>();
    const int64_t generation = s.contains("generation") && s["generation"].is_number_integer()
                                   ? s["generation"].get<int64_t>()
                                   : 0;
    // parse_alert_sink reads a whole object; the bundle carries the spec.
    const Json object = {
        {"apiVersion", std::string(api::v1alpha1::kApiVersion)},
        {"kind", "AlertSink"},
        {"metadata", {{"name", name}, {"namespace", ns}, {"generation", generation}}},
        {"spec", s["spec"]}};
    auto sink = api::v1alpha1::parse_alert_sink(object.dump());
    if (!sink.ok()) {
      out.errors.push_back(ns + "/" + name + ": " + sink.error());
      continue;
    }
    auto c = credentials.find(ns + "/" + name);
    auto target = alerts::make_sink_target(ns, name, generation, sink->spec,
                                           c == credentials.end() ? kNone : c->second);
    if (!target.ok()) {
      out.errors.push_back(ns + "/" + name + ": " + target.error());
      continue;
    }
    out.targets.push_back(std::move(target).value());
  }
  return out;
}

}  // namespace vigil::agent
