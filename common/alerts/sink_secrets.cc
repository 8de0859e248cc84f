#include "common/alerts/sink_secrets.h"

#include <map>

#include "common/k8s/client.h"
#include "common/k8s/object.h"

namespace vigil::alerts {

namespace api = vigil::api::v1alpha1;

std::vector<SecretUse> secret_uses(const api::AlertSinkSpec& spec) {
  std::vector<SecretUse> uses;
  auto endpoint = [&](const api::HttpEndpoint& e, const std::string& block) {
    if (e.headers_secret_ref)
      uses.push_back({e.headers_secret_ref->name, "", block + ".headersSecretRef"});
    if (e.tls.ca_secret_ref)
      uses.push_back(
          {e.tls.ca_secret_ref->name, e.tls.ca_secret_ref->key, block + ".tls.caSecretRef"});
    if (e.tls.client_cert_secret_ref)
      uses.push_back({e.tls.client_cert_secret_ref->name, "", block + ".tls.clientCertSecretRef"});
  };
  if (spec.slack)
    uses.push_back({spec.slack->webhook_secret_ref.name, spec.slack->webhook_secret_ref.key,
                    "spec.slack.webhookSecretRef"});
  if (spec.webhook) endpoint(spec.webhook->endpoint, "spec.webhook");
  if (spec.falcosidekick) endpoint(spec.falcosidekick->endpoint, "spec.falcosidekick");
  if (spec.alertmanager) endpoint(spec.alertmanager->endpoint, "spec.alertmanager");
  return uses;
}

ResolvedCredentials resolve_sink_credentials(std::string_view ns, const api::AlertSinkSpec& spec,
                                             const SecretGetter& get) {
  ResolvedCredentials r;
  for (const auto& use : secret_uses(spec)) {
    const std::string secret = std::string(ns) + "/" + use.name;
    auto text = get(use.name);
    if (!text.ok()) {
      const std::string wanted = use.key.empty() ? "" : " (wanted for key '" + use.key + "')";
      r.problems.push_back(use.path + ": Secret " + secret +
                           (text.error_code() == k8s::kStatusNotFound
                                ? " not found" + wanted
                                : " unreadable" + wanted + ": " + text.error()));
      continue;
    }
    auto data = k8s::secret_data(text.value());
    if (use.key.empty()) {
      for (auto& [k, v] : data) r.credentials[use.name + "/" + k] = std::move(v);
    } else if (auto it = data.find(use.key); it == data.end()) {
      r.problems.push_back(use.path + ": Secret " + secret + " has no key '" + use.key + "'");
    } else {
      r.credentials[use.name + "/" + use.key] = std::move(it->second);
    }
  }
  return r;
}

}  // namespace vigil::alerts
