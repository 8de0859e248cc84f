#include "operator/bundle_publisher.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/base/bounded_json.h"
#include "common/k8s/client.h"
#include "common/k8s/client_config.h"

namespace vigil::op {

namespace {

using Json = nlohmann::json;

// Adds metadata.ownerReferences (a JSON array) unless it is empty.
void set_owners(Json& object, const std::string& owners) {
  if (owners.empty()) return;
  Json refs = Json::parse(owners, nullptr, false);
  if (refs.is_array()) object["metadata"]["ownerReferences"] = std::move(refs);
}

Json labels() {
  return Json{{"app.kubernetes.io/name", "vigil"}, {"app.kubernetes.io/component", "bundle"}};
}

}  // namespace

Result<bool> BundlePublisher::write_credentials(const std::string& json, const std::string& hash) {
  Json secret = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata",
                  {{"name", std::string(bundle::kSecretName)},
                   {"namespace", ns_},
                   {"labels", labels()},
                   {"annotations", {{std::string(bundle::kHashAnnotation), hash}}}}},
                 {"type", "Opaque"},
                 {"data", {{std::string(bundle::kCredentialsKey), k8s::base64_encode(json)}}}};
  set_owners(secret, owners_);
  auto current = client_.get(k8s::secrets(), ns_, bundle::kSecretName);
  if (!current.ok() && current.error_code() == k8s::kStatusNotFound) {
    auto created = client_.create(k8s::secrets(), ns_, secret.dump());
    if (!created.ok())
      return Error{"creating Secret " + ns_ + "/" + std::string(bundle::kSecretName) + ": " +
                       created.error(),
                   created.error_code()};
    return true;
  }
  if (!current.ok()) return Error{current.error(), current.error_code()};
  Json cur = parse_bounded_json<Json>(current.value());
  if (!cur.is_discarded() && cur.contains("metadata") && cur["metadata"].contains("annotations") &&
      cur["metadata"]["annotations"].value(std::string(bundle::kHashAnnotation), "") == hash) {
    return false;
  }
  if (!cur.is_discarded() && cur.contains("metadata") &&
      cur["metadata"].contains("resourceVersion"))
    secret["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"];
  auto updated = client_.update(k8s::secrets(), ns_, bundle::kSecretName, secret.dump());
  if (!updated.ok()) return Error{"updating Secret: " + updated.error(), updated.error_code()};
  return true;
}

Result<PublishResult> BundlePublisher::publish(
    std::vector<bundle::BundleObject> rules, std::vector<bundle::BundleObject> sinks,
    const std::map<std::string, std::map<std::string, std::string>>& credentials) {
  const size_t rule_count = rules.size(), sink_count = sinks.size();
  bundle::Bundle b = bundle::render_bundle(std::move(rules), std::move(sinks));
  const std::string creds_json = Json(credentials).dump();
  // The credentials count toward the content: a rotated Slack URL is a new bundle.
  const std::string hash = bundle::sha256_hex(b.hash + '\0' + bundle::sha256_hex(creds_json));

  auto current = client_.get(k8s::configmaps(), ns_, bundle::kConfigMapName);
  int64_t generation = 0;
  std::string resource_version;
  if (current.ok()) {
    Json cur = parse_bounded_json<Json>(current.value());
    if (!cur.is_discarded() && cur.contains("metadata")) {
      const Json& meta = cur["metadata"];
      resource_version = meta.value("resourceVersion", "");
      if (meta.contains("annotations") && meta["annotations"].is_object()) {
        const Json& ann = meta["annotations"];
        try {
          generation = std::stoll(ann.value(std::string(bundle::kGenerationAnnotation), "0"));
        } catch (const std::exception&) {
          generation = 0;  // an edited annotation restarts the count; agents compare hashes too
        }
        // Unchanged only if the content is what the hash says: a hand-edited ConfigMap that
        // kept the annotation is put back.
        const Json* data = cur.contains("data") && cur["data"].is_object() ? &cur["data"] : nullptr;
        auto data_is = [&](std::string_view key, const std::string& want) {
          const std::string k(key);
          return data && data->contains(k) && (*data)[k].is_string() &&
                 (*data)[k].get_ref<const std::string&>() == want;
        };
        if (ann.value(std::string(bundle::kHashAnnotation), "") == hash &&
            data_is(bundle::kRulesKey, b.rules) && data_is(bundle::kSinksKey, b.sinks)) {
          return PublishResult{false, generation, hash};
        }
      }
    }
  } else if (current.error_code() != k8s::kStatusNotFound) {
    return Error{"reading ConfigMap " + ns_ + "/" + std::string(bundle::kConfigMapName) + ": " +
                     current.error(),
                 current.error_code()};
  }
  // Credentials first, so an agent that sees the new ConfigMap finds the matching Secret.
  auto creds = write_credentials(creds_json, hash);
  if (!creds.ok()) return Error{creds.error(), creds.error_code()};

  ++generation;
  Json cm = {
      {"apiVersion", "v1"},
      {"kind", "ConfigMap"},
      {"metadata",
       {{"name", std::string(bundle::kConfigMapName)},
        {"namespace", ns_},
        {"labels", labels()},
        {"annotations",
         {{std::string(bundle::kGenerationAnnotation), std::to_string(generation)},
          {std::string(bundle::kHashAnnotation), hash}}}}},
      {"data",
       {{std::string(bundle::kRulesKey), b.rules}, {std::string(bundle::kSinksKey), b.sinks}}}};
  set_owners(cm, owners_);
  Result<std::string> written = current.ok() ? ([&] {
    cm["metadata"]["resourceVersion"] = resource_version;
    return client_.update(k8s::configmaps(), ns_, bundle::kConfigMapName, cm.dump());
  })()
                                             : client_.create(k8s::configmaps(), ns_, cm.dump());
  if (!written.ok()) {
    return Error{"writing ConfigMap " + ns_ + "/" + std::string(bundle::kConfigMapName) + ": " +
                     written.error(),
                 written.error_code()};
  }
  spdlog::info("Published bundle generation {} ({} rules, {} sinks, {})", generation, rule_count,
               sink_count, hash.substr(0, 19));
  return PublishResult{true, generation, hash};
}

}  // namespace vigil::op
