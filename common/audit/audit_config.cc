#include "common/audit/audit_config.h"

#include <string>
#include <string_view>

namespace vigil::audit {
namespace {

// A YAML double-quoted scalar. Inputs are validated to have no control characters.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

bool has_control_or_space(std::string_view s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return true;
  return false;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r'))
    --e;
  return std::string(s.substr(b, e - b));
}

// Looks like one or more PEM blocks of `label` ("CERTIFICATE"; "" for any "... PRIVATE KEY").
bool looks_like_pem(std::string_view pem, std::string_view label) {
  const size_t begin = pem.find("-----BEGIN ");
  if (begin == std::string_view::npos) return false;
  const size_t line_end = pem.find("-----", begin + 11);
  if (line_end == std::string_view::npos) return false;
  const std::string_view found = pem.substr(begin + 11, line_end - begin - 11);
  if (label.empty() ? !found.ends_with("PRIVATE KEY") : found != label) return false;
  const std::string end_marker = "-----END " + std::string(found) + "-----";
  const size_t end = pem.find(end_marker, line_end + 5);
  if (end == std::string_view::npos) return false;
  // Something (the base64 body) between the two markers.
  return trim(pem.substr(line_end + 5, end - line_end - 5)).size() > 0;
}

// Checks an http(s) URL: scheme, host, optional port, a path. Sets an error message.
bool check_url(std::string_view url, bool allow_insecure, std::string& error) {
  if (url.empty()) {
    error = "the webhook URL is empty";
    return false;
  }
  if (has_control_or_space(url)) {
    error = "the webhook URL '" + std::string(url) + "' contains spaces or control characters";
    return false;
  }
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    if (!allow_insecure) {
      error = "the webhook URL '" + std::string(url) +
              "' is not https: audit events carry request bodies and would cross the network in "
              "clear (allow_insecure is for tests only)";
      return false;
    }
    rest = url.substr(7);
  } else {
    error = "the webhook URL '" + std::string(url) + "' must start with https://";
    return false;
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    error = "the webhook URL '" + std::string(url) +
            "' has user information; use a client certificate or a token";
    return false;
  }
  if (url.find('#') != std::string_view::npos) {
    error = "the webhook URL '" + std::string(url) + "' has a fragment";
    return false;
  }
  // host[:port], host may be an [IPv6] literal.
  std::string_view host = authority, port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "the webhook URL '" + std::string(url) + "' has an unterminated IPv6 address";
      return false;
    }
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        error = "the webhook URL '" + std::string(url) + "' has a malformed host";
        return false;
      }
      port = authority.substr(close + 2);
      if (port.empty()) port = "x";  // "host:" is malformed
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) port = "x";
  }
  if (host.empty() || host == "[]") {
    error = "the webhook URL '" + std::string(url) + "' has no host";
    return false;
  }
  if (!port.empty()) {
    long p = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || p > 65535) {
        p = -1;
        break;
      }
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535 || port.size() > 5) {
      error = "the webhook URL '" + std::string(url) + "' has an invalid port '" +
              std::string(port) + "'";
      return false;
    }
  }
  if (path.empty() || path == "/") {
    error = "the webhook URL '" + std::string(url) +
            "' has no path: Vigil receives audit events at " + std::string(kAuditPath) + " (or " +
            std::string(kAuditPathAlt) + ")";
    return false;
  }
  return true;
}

void append_list(std::string& out, std::string_view key, std::initializer_list<std::string_view> v,
                 std::string_view indent) {
  out += indent;
  out += key;
  out += ": [";
  bool first = true;
  for (auto s : v) {
    if (!first) out += ", ";
    first = false;
    out += quote(s);
  }
  out += "]\n";
}

}  // namespace

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return s.front() != '-' && s.back() != '-';
}

std::string render_audit_policy(const AuditPolicyOptions& options) {
  std::string y;
  y += "# Vigil's audit policy (generated by vigilctl audit-config). The API server applies the\n";
  y += "# FIRST rule that matches a request; a request no rule matches is not recorded.\n";
  y += "apiVersion: audit.k8s.io/v1\n";
  y += "kind: Policy\n";
  if (options.response_complete_only) {
    y += "omitStages: [\"RequestReceived\", \"ResponseStarted\"]\n";
  } else {
    y += "omitStages: [\"RequestReceived\"]\n";
  }
  if (options.omit_managed_fields) y += "omitManagedFields: true\n";
  y += "rules:\n";

  y += "# ---- read-only noise from the control plane and the nodes\n";
  y += "- level: None\n";
  append_list(y, "users", {"system:kube-proxy"}, "  ");
  append_list(y, "verbs", {"watch"}, "  ");
  y += "- level: None\n";
  append_list(y, "userGroups", {"system:nodes"}, "  ");
  append_list(y, "verbs", {"get"}, "  ");
  y += "- level: None\n";
  append_list(y, "nonResourceURLs",
              {"/healthz*", "/livez*", "/readyz*", "/metrics", "/version", "/openapi*"}, "  ");
  y += "- level: None\n";
  y += "  resources:\n";
  y += "  - group: \"\"\n";
  y += "    resources: [\"events\", \"endpoints\"]\n";
  y += "  - group: \"events.k8s.io\"\n";
  y += "    resources: [\"events\"]\n";
  y += "  - group: \"coordination.k8s.io\"\n";
  y += "    resources: [\"leases\"]\n";
  y += "  - group: \"discovery.k8s.io\"\n";
  y += "    resources: [\"endpointslices\"]\n";
  if (!options.ignored_namespaces.empty()) {
    y += "# ---- namespaces not audited\n";
    y += "- level: None\n";
    y += "  namespaces: [";
    for (size_t i = 0; i < options.ignored_namespaces.size(); ++i) {
      if (i) y += ", ";
      y += quote(options.ignored_namespaces[i]);
    }
    y += "]\n";
  }

  y += "# ---- credentials: who touched them, never their content\n";
  y += "- level: Metadata\n";
  y += "  resources:\n";
  y += "  - group: \"\"\n";
  y += "    resources: [\"secrets\", \"serviceaccounts/token\"]\n";
  y += "  - group: \"authentication.k8s.io\"\n";
  y += "    resources: [\"tokenreviews\"]\n";

  y += "# ---- exec and attach into pods (kubectl >= 1.30 connects with a WebSocket GET)\n";
  y += "- level: RequestResponse\n";
  append_list(y, "verbs", {"create", "get"}, "  ");
  y += "  resources:\n";
  y += "  - group: \"\"\n";
  y += "    resources: [\"pods/exec\", \"pods/attach\"]\n";

  y += "# ---- writes of the workloads, services, configuration and RBAC Vigil's rules inspect\n";
  y += "- level: RequestResponse\n";
  append_list(y, "verbs", {"create", "update", "patch"}, "  ");
  y += "  resources:\n";
  y += "  - group: \"\"\n";
  y += "    resources: [\"pods\", \"services\", \"configmaps\"]\n";
  y += "  - group: \"apps\"\n";
  y += "    resources: [\"deployments\", \"daemonsets\", \"statefulsets\", \"replicasets\"]\n";
  y += "  - group: \"batch\"\n";
  y += "    resources: [\"jobs\", \"cronjobs\"]\n";
  y += "  - group: \"rbac.authorization.k8s.io\"\n";
  y += "    resources: [\"roles\", \"rolebindings\", \"clusterroles\", \"clusterrolebindings\"]\n";

  y += "# ---- any other read\n";
  y += "- level: None\n";
  append_list(y, "verbs", {"get", "list", "watch"}, "  ");

  y += "# ---- everything else (deletes, other writes): who did what to which object\n";
  y += "- level: Metadata\n";
  return y;
}

std::string webhook_url(const WebhookOptions& o) {
  if (!o.url.empty()) return o.url;
  std::string path = o.path.empty() ? std::string(kAuditPath) : o.path;
  if (!path.starts_with("/")) path = "/" + path;
  return "https://" + o.service + "." + o.ns + ".svc:" + std::to_string(o.port) + path;
}

bool webhook_has_credentials(const WebhookOptions& o) {
  return !o.client_key_pem.empty() || !trim(o.token).empty();
}

Result<std::string> render_webhook_kubeconfig(const WebhookOptions& o) {
  if (o.url.empty()) {
    if (!is_dns_label(o.service))
      return make_error("the Service name '" + o.service +
                        "' is not a DNS label (lower-case letters, digits and '-', at most 63)");
    if (!is_dns_label(o.ns))
      return make_error("the namespace '" + o.ns +
                        "' is not a DNS label (lower-case letters, digits and '-', at most 63)");
    if (o.port < 1 || o.port > 65535)
      return make_error("the port " + std::to_string(o.port) + " is not between 1 and 65535");
  }
  const std::string url = webhook_url(o);
  std::string err;
  if (!check_url(url, o.allow_insecure, err)) return make_error(err);
  const bool https = url.starts_with("https://");

  if (https && trim(o.ca_pem).empty())
    return make_error(
        "no CA bundle: the API server must verify the receiver's serving certificate (give the CA "
        "that signed it)");
  if (!trim(o.ca_pem).empty() && !looks_like_pem(o.ca_pem, "CERTIFICATE"))
    return make_error(
        "the CA bundle is not PEM (expected -----BEGIN CERTIFICATE----- ... -----END "
        "CERTIFICATE-----)");

  const bool has_cert = !trim(o.client_cert_pem).empty();
  const bool has_key = !trim(o.client_key_pem).empty();
  const std::string token = trim(o.token);
  if (has_cert != has_key)
    return make_error(has_cert ? "a client certificate needs its key"
                               : "a client key needs its certificate");
  if (has_cert && !token.empty())
    return make_error("give either a client certificate and key or a token, not both");
  if (has_cert && !looks_like_pem(o.client_cert_pem, "CERTIFICATE"))
    return make_error(
        "the client certificate is not PEM (expected -----BEGIN CERTIFICATE----- ... -----END "
        "CERTIFICATE-----)");
  if (has_key && !looks_like_pem(o.client_key_pem, ""))
    return make_error(
        "the client key is not a PEM private key (expected -----BEGIN ... PRIVATE KEY-----)");
  if (!o.token.empty() && token.empty()) return make_error("the token is empty");
  if (has_control_or_space(token))
    return make_error("the token contains spaces or control characters");

  std::string y;
  y += "# The API server's audit webhook (--audit-webhook-config-file), generated by vigilctl\n";
  y += "# audit-config: where kube-apiserver POSTs its audit EventLists.\n";
  y += "apiVersion: v1\n";
  y += "kind: Config\n";
  y += "clusters:\n";
  y += "- name: vigil-audit\n";
  y += "  cluster:\n";
  y += "    server: " + quote(url) + "\n";
  if (!trim(o.ca_pem).empty())
    y += "    certificate-authority-data: " + base64_encode(o.ca_pem) + "\n";
  y += "users:\n";
  y += "- name: kube-apiserver\n";
  if (has_cert) {
    y += "  user:\n";
    y += "    client-certificate-data: " + base64_encode(o.client_cert_pem) + "\n";
    y += "    client-key-data: " + base64_encode(o.client_key_pem) + "\n";
  } else if (!token.empty()) {
    y += "  user:\n";
    y += "    token: " + quote(token) + "\n";
  } else {
    y += "  user: {}\n";
  }
  y += "contexts:\n";
  y += "- name: vigil-audit\n";
  y += "  context:\n";
  y += "    cluster: vigil-audit\n";
  y += "    user: kube-apiserver\n";
  y += "current-context: vigil-audit\n";
  return y;
}

}  // namespace vigil::audit
