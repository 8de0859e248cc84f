#include "operator/audit/audit_tls.h"

#include <algorithm>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "common/audit/audit_config.h"
#include "common/base/bounded_json.h"
#include "common/http/tls_certs.h"
#include "common/k8s/client.h"
#include "common/k8s/client_config.h"
#include "common/k8s/object.h"
#include "common/k8s/resource.h"

namespace vigil::op {

using Json = nlohmann::json;

namespace {

constexpr const char* kGeneratedAnnotation = "vigil.dev/generated";
constexpr const char* kClientCommonName = "vigil-audit-webhook-client";

std::string random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return {};
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool looks_like_ip(std::string_view s) {
  return !s.empty() && (s.find(':') != std::string_view::npos ||
                        s.find_first_not_of("0123456789.") == std::string_view::npos);
}

std::string webhook_kubeconfig(const AuditTlsOptions& options, const AuditTlsMaterial& m) {
  audit::WebhookOptions w;
  w.service = options.service;
  w.ns = options.ns;
  w.port = options.service_port;
  w.ca_pem = m.ca_pem;
  w.client_cert_pem = m.client_cert_pem;
  w.client_key_pem = m.client_key_pem;
  auto rendered = audit::render_webhook_kubeconfig(w);
  if (!rendered.ok()) {
    spdlog::warn("Cannot render the audit webhook kubeconfig: {}", rendered.error());
    return {};
  }
  return *rendered;
}

std::string secret_json(const AuditTlsOptions& options, const AuditTlsMaterial& m,
                        const std::string& resource_version) {
  Json data = Json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) data[key] = k8s::base64_encode(value);
  };
  put("ca.crt", m.ca_pem);
  put("ca.key", m.ca_key_pem);
  put("tls.crt", m.cert_pem);
  put("tls.key", m.key_pem);
  put("client.crt", m.client_cert_pem);
  put("client.key", m.client_key_pem);
  put("token", m.token);
  put("webhook-kubeconfig.yaml", m.webhook_kubeconfig);
  Json meta{{"name", options.secret_name},
            {"namespace", options.ns},
            {"labels", {{"app.kubernetes.io/managed-by", "vigil-operator"}}},
            {"annotations", {{kGeneratedAnnotation, "true"}}}};
  if (!resource_version.empty()) meta["resourceVersion"] = resource_version;
  if (!options.owner_references_json.empty()) {
    Json owners = Json::parse(options.owner_references_json, nullptr, false);
    if (owners.is_array()) meta["ownerReferences"] = std::move(owners);
  }
  Json s{{"apiVersion", "v1"},
         {"kind", "Secret"},
         {"type", "Opaque"},
         {"metadata", meta},
         {"data", data}};
  return s.dump();
}

// Why generated material must be renewed, or "" when it is good.
std::string renewal_reason(const AuditTlsOptions& options, const AuditTlsMaterial& m) {
  if (m.ca_pem.empty() || m.ca_key_pem.empty() || m.cert_pem.empty() || m.key_pem.empty() ||
      m.client_cert_pem.empty() || m.client_key_pem.empty() || m.token.empty())
    return "incomplete";
  if (!http::key_matches_certificate(m.cert_pem, m.key_pem) ||
      !http::key_matches_certificate(m.ca_pem, m.ca_key_pem) ||
      !http::key_matches_certificate(m.client_cert_pem, m.client_key_pem))
    return "a key does not match its certificate";
  if (!http::certificate_signed_by(m.cert_pem, m.ca_pem) ||
      !http::certificate_signed_by(m.client_cert_pem, m.ca_pem))
    return "a certificate is not signed by the CA";
  const auto deadline = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() + options.renew_before);
  for (const std::string* pem : {&m.ca_pem, &m.cert_pem, &m.client_cert_pem}) {
    auto info = http::inspect_certificate(*pem);
    if (!info.ok()) return "a certificate does not parse: " + info.error();
    if (info->not_after < deadline) return "a certificate expires soon";
  }
  auto serving = http::inspect_certificate(m.cert_pem);
  for (const auto& name : audit_tls_names(options)) {
    if (looks_like_ip(name)) continue;  // IP SANs are not reported by inspect_certificate
    if (std::find(serving->dns_names.begin(), serving->dns_names.end(), name) ==
        serving->dns_names.end())
      return "the serving certificate lacks " + name;
  }
  return {};
}

}  // namespace

std::vector<std::string> audit_tls_names(const AuditTlsOptions& options) {
  const std::string& s = options.service;
  std::vector<std::string> out{s, s + "." + options.ns, s + "." + options.ns + ".svc",
                               s + "." + options.ns + ".svc.cluster.local"};
  for (const auto& n : options.extra_names) {
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  }
  return out;
}

Result<AuditTlsMaterial> generate_audit_tls(const AuditTlsOptions& options,
                                            const AuditTlsMaterial* previous) {
  AuditTlsMaterial m;
  m.generated = true;
  const auto deadline = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() + options.renew_before);
  auto lasting = [&](const std::string& pem) {
    auto info = http::inspect_certificate(pem);
    return info.ok() && info->not_after >= deadline;
  };
  // What the API server already holds stays when it is still good: the CA it trusts, its client
  // certificate and the token, so renewing the serving certificate needs nothing on its side.
  http::CertKeyPem ca;
  if (previous && !previous->ca_pem.empty() && !previous->ca_key_pem.empty() &&
      http::key_matches_certificate(previous->ca_pem, previous->ca_key_pem) &&
      lasting(previous->ca_pem)) {
    ca = http::CertKeyPem{previous->ca_pem, previous->ca_key_pem};
  } else {
    auto fresh = http::generate_ca("vigil-audit-ca", options.validity);
    if (!fresh.ok()) return Error{"generating the audit CA: " + fresh.error()};
    ca = *fresh;
    if (previous && !previous->ca_pem.empty())
      spdlog::warn(
          "New audit CA: render the API server's webhook kubeconfig again "
          "(vigilctl audit-config --from-cluster) on every control-plane node");
  }
  http::CertRequest serving;
  serving.common_name = options.service + "." + options.ns + ".svc";
  for (const auto& n : audit_tls_names(options)) {
    (looks_like_ip(n) ? serving.ip_addresses : serving.dns_names).push_back(n);
  }
  serving.validity = options.validity;
  auto cert = http::issue_certificate(ca, serving);
  if (!cert.ok()) return Error{"issuing the audit serving certificate: " + cert.error()};
  m.ca_pem = ca.cert_pem;
  m.ca_key_pem = ca.key_pem;
  m.cert_pem = cert->cert_pem;
  m.key_pem = cert->key_pem;
  if (previous && !previous->client_cert_pem.empty() &&
      http::key_matches_certificate(previous->client_cert_pem, previous->client_key_pem) &&
      http::certificate_signed_by(previous->client_cert_pem, ca.cert_pem) &&
      lasting(previous->client_cert_pem)) {
    m.client_cert_pem = previous->client_cert_pem;
    m.client_key_pem = previous->client_key_pem;
  } else {
    http::CertRequest client;
    client.common_name = kClientCommonName;
    client.server = false;
    client.client = true;
    client.validity = options.validity;
    auto client_cert = http::issue_certificate(ca, client);
    if (!client_cert.ok())
      return Error{"issuing the audit client certificate: " + client_cert.error()};
    m.client_cert_pem = client_cert->cert_pem;
    m.client_key_pem = client_cert->key_pem;
  }
  m.client_ca_pem = m.ca_pem;
  m.token = previous && !previous->token.empty() ? previous->token : random_token();
  if (m.token.empty()) return Error{"no random bytes for the audit token"};
  m.webhook_kubeconfig = webhook_kubeconfig(options, m);
  return m;
}

Result<AuditTlsMaterial> ensure_audit_tls(k8s::Client& client, const AuditTlsOptions& options) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto got = client.get(k8s::secrets(), options.ns, options.secret_name);
    std::string resource_version;
    std::optional<AuditTlsMaterial> previous;
    if (got.ok()) {
      const Json secret = parse_bounded_json(*got);
      auto data = k8s::secret_data(*got);
      resource_version = k8s::resource_version_of(*got);
      const bool generated =
          secret.is_object() && secret.contains("metadata") && secret["metadata"].is_object() &&
          secret["metadata"].contains("annotations") &&
          secret["metadata"]["annotations"].is_object() &&
          secret["metadata"]["annotations"].value(kGeneratedAnnotation, std::string()) == "true";
      AuditTlsMaterial m;
      m.generated = generated;
      m.ca_pem = data["ca.crt"];
      m.ca_key_pem = data["ca.key"];
      m.cert_pem = data["tls.crt"];
      m.key_pem = data["tls.key"];
      m.client_cert_pem = data["client.crt"];
      m.client_key_pem = data["client.key"];
      m.token = data["token"];
      m.webhook_kubeconfig = data["webhook-kubeconfig.yaml"];
      m.client_ca_pem = m.ca_pem;
      if (!data["client-ca.crt"].empty()) {
        if (!m.client_ca_pem.empty() && m.client_ca_pem.back() != '\n') m.client_ca_pem += '\n';
        m.client_ca_pem += data["client-ca.crt"];
      }
      if (!generated) {
        // The user's: use it as it is.
        if (m.cert_pem.empty() || m.key_pem.empty())
          return Error{"Secret " + options.ns + "/" + options.secret_name +
                       " needs tls.crt and tls.key"};
        if (!http::key_matches_certificate(m.cert_pem, m.key_pem))
          return Error{"Secret " + options.ns + "/" + options.secret_name +
                       ": tls.key does not match tls.crt"};
        return m;
      }
      const std::string why = renewal_reason(options, m);
      if (why.empty()) return m;
      previous = m;
      spdlog::info("Renewing the audit receiver's certificates in Secret {}/{}: {}", options.ns,
                   options.secret_name, why);
    } else if (got.error_code() != k8s::kStatusNotFound) {
      return Error{"reading Secret " + options.ns + "/" + options.secret_name + ": " + got.error()};
    }
    auto fresh = generate_audit_tls(options, previous ? &*previous : nullptr);
    if (!fresh.ok()) return fresh;
    auto written = resource_version.empty()
                       ? client.create(k8s::secrets(), options.ns, secret_json(options, *fresh, ""))
                       : client.update(k8s::secrets(), options.ns, options.secret_name,
                                       secret_json(options, *fresh, resource_version));
    if (written.ok()) {
      spdlog::info("Wrote the audit receiver's CA, certificates and token to Secret {}/{}",
                   options.ns, options.secret_name);
      return fresh;
    }
    if (written.error_code() != k8s::kStatusConflict)
      return Error{"writing Secret " + options.ns + "/" + options.secret_name + ": " +
                   written.error()};
    // Another replica wrote it first: use theirs.
  }
  return Error{"Secret " + options.ns + "/" + options.secret_name +
               " kept changing while it was being written"};
}

}  // namespace vigil::op
