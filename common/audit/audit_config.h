#pragma once

// The API server's side of Vigil's audit routing: the audit policy (what kube-apiserver records,
// at which level) and the webhook kubeconfig (where it sends the events). Pure functions, no I/O:
// `vigilctl audit-config` prints them for an admin to place on the control-plane nodes, and the
// operator will publish them in a ConfigMap.

#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/k8s/client_config.h"

namespace vigil::audit {

// The operator receives audit events at both paths: /k8s-audit is Vigil's (and Falco's), and
// /k8s_audit is accepted too because Falco users often point the API server there by mistake.
inline constexpr std::string_view kAuditPath = "/k8s-audit";
inline constexpr std::string_view kAuditPathAlt = "/k8s_audit";

struct AuditPolicyOptions {
  // Namespaces whose (namespaced) requests are not recorded at all, e.g. a noisy CI namespace.
  // Must be DNS labels; the caller validates them (is_dns_label).
  std::vector<std::string> ignored_namespaces;
  // Also omit the ResponseStarted stage (watches, exec streams), so every request yields one event
  // at ResponseComplete (or Panic). RequestReceived is always omitted.
  bool response_complete_only = false;
  // omitManagedFields: true (managedFields are large and no rule looks at them).
  bool omit_managed_fields = true;
};

// An audit.k8s.io/v1 Policy. The API server applies the first rule that matches a request, so the
// rules are, in order:
//   None             watch by system:kube-proxy; get by group system:nodes; health, metrics,
//                    version and openapi URLs; events, leases, endpoints, endpointslices; the
//                    ignored namespaces
//   Metadata         secrets (any verb: never their data), tokenreviews, serviceaccounts/token
//   RequestResponse  pods/exec, pods/attach (create, and get: kubectl >= 1.30 uses WebSockets);
//                    create/update/patch of pods, services, configmaps, deployments, daemonsets,
//                    statefulsets, replicasets, jobs, cronjobs, (cluster)roles,
//                    (cluster)rolebindings
//   None             any other get, list or watch (read-only noise)
//   Metadata         everything else (deletes, other writes)
std::string render_audit_policy(const AuditPolicyOptions& options);

struct WebhookOptions {
  // The operator's Service: https://<service>.<ns>.svc:<port><path>, unless `url` is set.
  std::string service = "vigil-operator";
  std::string ns = "vigil-system";
  int port = 443;
  std::string path = std::string(kAuditPath);
  std::string url;  // the whole URL, path included (overrides the four fields above)

  std::string ca_pem;  // the CA bundle that signed the receiver's serving certificate (required
                       // for https)
  // How the API server authenticates to the receiver: a client certificate and key (both PEM),
  // or a bearer token, or neither.
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string token;

  bool allow_insecure = false;  // accept an http:// URL (tests only: audit events carry secrets'
                                // metadata and requests' bodies)
};

// The webhook kubeconfig (--audit-webhook-config-file): one cluster with the receiver's URL and
// certificate-authority-data, one user (client-certificate-data/client-key-data, or token), one
// context, current-context set. Errors name what is wrong: a URL that is not https (unless
// allow_insecure) or has no host or path, a CA or certificate that is not PEM, a key without a
// certificate, a key and a token both given.
Result<std::string> render_webhook_kubeconfig(const WebhookOptions& options);

// The URL render_webhook_kubeconfig points at (options.url, or the Service's).
std::string webhook_url(const WebhookOptions& options);

// True when the kubeconfig holds a credential (a client key or a token), so it must be 0600.
bool webhook_has_credentials(const WebhookOptions& options);

// A DNS-1123 label (Service and namespace names): [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
bool is_dns_label(std::string_view s);

// Standard base64 with padding (the one in common/k8s, beside base64_decode).
using k8s::base64_encode;

}  // namespace vigil::audit
