#pragma once

// The audit receiver's TLS material and the API server's credentials for it, kept in one Secret
// in the operator's namespace (every replica uses the same):
//   ca.crt, ca.key          a CA the operator generated (absent for a user-managed Secret)
//   tls.crt, tls.key        the receiver's serving certificate (SANs: the Service's DNS names)
//   client.crt, client.key  the API server's client certificate, signed by ca.key
//   client-ca.crt           optional: further CAs whose client certificates are accepted
//   token                   a bearer token the receiver also accepts
//   webhook-kubeconfig.yaml the API server's --audit-webhook-config-file, with the CA and the
//                           client certificate embedded
// A Secret the operator did not create (no vigil.dev/generated annotation) is used as it is:
// tls.crt and tls.key are required, the rest optional. A generated one is renewed when it
// expires within 30 days or lacks a needed name.

#include <chrono>
#include <string>
#include <vector>

#include "common/base/result.h"

namespace vigil::k8s {
class Client;
}

namespace vigil::op {

struct AuditTlsOptions {
  std::string ns = "vigil-system";
  std::string secret_name = "vigil-audit-tls";
  std::string service = "vigil-operator";  // the receiver's Service, for the SANs and the URL
  int service_port = 443;
  std::vector<std::string> extra_names;  // more SANs: DNS names or IP addresses
  std::chrono::hours validity{24 * 365};
  std::chrono::hours renew_before{24 * 30};
  std::string owner_references_json;  // the Secret's metadata.ownerReferences ("" for none)
};

struct AuditTlsMaterial {
  std::string ca_pem;    // what the API server must trust (ca.crt)
  std::string cert_pem;  // serving
  std::string key_pem;
  std::string client_ca_pem;  // CAs whose client certificates are accepted
  std::string token;
  std::string webhook_kubeconfig;  // "" for a user-managed Secret without ca.crt
  bool generated = false;
  // Generated Secrets only: what renewing needs and what the kubeconfig embeds.
  std::string ca_key_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
};

// The DNS names the serving certificate carries: service, service.ns, service.ns.svc,
// service.ns.svc.cluster.local, plus extra_names.
std::vector<std::string> audit_tls_names(const AuditTlsOptions& options);

// Reads the Secret, or creates (or renews) it. Safe with several replicas starting at once: the
// one whose create loses the race reads the winner's.
Result<AuditTlsMaterial> ensure_audit_tls(k8s::Client& client, const AuditTlsOptions& options);

// Generates material (no I/O): a serving certificate, and a CA, a client certificate and a token
// unless `previous` has ones that are good beyond options.renew_before (then they stay, so the
// API server's webhook kubeconfig keeps working across a renewal).
Result<AuditTlsMaterial> generate_audit_tls(const AuditTlsOptions& options,
                                            const AuditTlsMaterial* previous = nullptr);

}  // namespace vigil::op
