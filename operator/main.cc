// vigil-operator: flags -> config -> wiring. Everything else lives in operator/operator.cc.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

#include "common/k8s/client_config.h"
#include "common/k8s/curl_client.h"
#include "operator/operator.h"

namespace {

std::atomic<bool> g_stop{false};

constexpr const char* kUsage = R"(vigil-operator - Vigil's Kubernetes operator

Compiles SecurityRules and validates AlertSinks (status: Accepted, with line and column for rule
errors), and publishes every accepted rule and sink as the bundle the node agents load
(ConfigMap vigil-bundle and Secret vigil-bundle-credentials in its namespace). Sums the node
agents' reports (NodeAgent objects) into the rules' status (nodes programmed/targeted, alerts,
Programmed) and the sinks' (delivered, failed, dropped). Receives the API server's audit
webhook over HTTPS and runs the k8s_audit rules on it (every replica receives; the leader writes
the status), with a CA and certificates it generates into Secret vigil-audit-tls; `vigilctl
audit-config --from-cluster` renders the API server's side.

Usage: vigil-operator [flags]
  --kubeconfig PATH      kubeconfig to use (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS         the operator's namespace: its rules are cluster-wide, and the bundle
                         and the Lease live there (default: $POD_NAMESPACE or vigil-system)
  --leader-elect BOOL    elect a leader among replicas with a Lease (default true)
  --lease-name NAME      Lease name (default vigil-operator)
  --identity ID          leader-election identity (default: hostname and a random suffix)
  --health-addr H:P      health, readiness and metrics server (default 0.0.0.0:8081; port 0
                         picks a free one)
  --resync SECONDS       full reconcile interval without events (default 30)
  --node-stale-seconds N a NodeAgent without a heartbeat for N seconds is stale: its node
                         counts as targeted but not programmed (default 90)
  --status-qps QPS       status writes per second, rules and sinks together (default 20)
  --status-burst N       status writes allowed in a burst (default 50)
  --alert-status-seconds N
                         write a change that only moves a rule's alert counters (or a sink's
                         delivery counters) at most once per N seconds per object (default 10);
                         condition and node changes are written at once

Audit webhook receiver (kube-apiserver's audit events, evaluated with the k8s_audit rules):
  --audit-addr H:P       where to receive them over HTTPS at /k8s-audit and /k8s_audit
                         (default 0.0.0.0:8443; port 0 picks a free one; "off" disables)
  --audit-tls-secret NAME
                         Secret with the receiver's certificate (default vigil-audit-tls).
                         Created with a generated CA, serving and client certificates and a
                         token when absent; a Secret you made (tls.crt, tls.key, optional
                         ca.crt and client-ca.crt) is used as it is
  --audit-service NAME   the operator's Service, named in the certificate and the webhook URL
                         (default vigil-operator)
  --audit-service-port N the Service's port (default 443)
  --audit-tls-name NAME  one more DNS name or IP address for the certificate (repeatable)
  --audit-plain-http     serve plain HTTP (only behind a TLS-terminating proxy)
  --audit-allow-unauthenticated
                         accept requests without a client certificate or token (tests only)
  --audit-max-body-bytes N
                         larger requests get 413 (default 16777216)
  --cluster-name NAME    reported as ka.cluster.name
  --owner-service-account NAME
                         the ServiceAccount (in --namespace) that owns the objects the operator
                         creates, so uninstalling Vigil removes them (the manifests and the Helm
                         chart set vigil-operator; default: none)
  --log-level LEVEL      trace, debug, info, warn, error (default info)
  --help
)";

bool parse_bool(const std::string& v, bool& out) {
  if (v == "true" || v == "1") return out = true, true;
  if (v == "false" || v == "0") return out = false, true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  vigil::op::OperatorConfig config;
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns && *ns) config.ns = ns;
  std::optional<std::string> kubeconfig;
  std::string level = "info";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string v;
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      v = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (a == "--audit-plain-http" || a == "--audit-allow-unauthenticated") {
      // switches: no value
    } else if (a != "--help" && a != "-h") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vigil-operator: %s needs a value\n", a.c_str());
        return 2;
      }
      v = argv[++i];
    }
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--kubeconfig") {
      kubeconfig = v;
    } else if (a == "--namespace") {
      config.ns = v;
    } else if (a == "--leader-elect") {
      if (!parse_bool(v, config.leader_elect)) {
        std::fprintf(stderr, "vigil-operator: --leader-elect takes true or false\n");
        return 2;
      }
    } else if (a == "--lease-name") {
      config.lease_name = v;
    } else if (a == "--identity") {
      config.identity = v;
    } else if (a == "--health-addr") {
      auto colon = v.rfind(':');
      if (colon == std::string::npos) {
        std::fprintf(stderr, "vigil-operator: --health-addr takes HOST:PORT\n");
        return 2;
      }
      config.health_address = v.substr(0, colon);
      config.health_port = static_cast<uint16_t>(std::atoi(v.c_str() + colon + 1));
    } else if (a == "--resync") {
      config.resync = std::chrono::seconds(std::max(1, std::atoi(v.c_str())));
    } else if (a == "--node-stale-seconds" || a == "--status-burst" ||
               a == "--alert-status-seconds") {
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 86400) {
        std::fprintf(stderr, "vigil-operator: %s takes an integer from 1 to 86400\n", a.c_str());
        return 2;
      }
      if (a == "--node-stale-seconds") config.node_stale = std::chrono::seconds(n);
      if (a == "--status-burst") config.status_burst = static_cast<int>(n);
      if (a == "--alert-status-seconds") config.alert_status_interval = std::chrono::seconds(n);
    } else if (a == "--status-qps") {
      char* end = nullptr;
      const double qps = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(qps > 0) || qps > 10000) {
        std::fprintf(stderr, "vigil-operator: --status-qps takes a number above 0\n");
        return 2;
      }
      config.status_qps = qps;
    } else if (a == "--audit-addr") {
      if (v == "off") {
        config.audit_enabled = false;
        continue;
      }
      auto colon = v.rfind(':');
      char* end = nullptr;
      const long port =
          colon == std::string::npos ? -1 : std::strtol(v.c_str() + colon + 1, &end, 10);
      if (colon == std::string::npos || port < 0 || port > 65535 || *end != '\0') {
        std::fprintf(stderr, "vigil-operator: --audit-addr takes HOST:PORT or off\n");
        return 2;
      }
      config.audit_address = v.substr(0, colon);
      config.audit_port = static_cast<uint16_t>(port);
    } else if (a == "--audit-tls-secret") {
      config.audit_tls_secret = v;
    } else if (a == "--audit-service") {
      config.audit_service = v;
    } else if (a == "--audit-service-port") {
      config.audit_service_port = std::atoi(v.c_str());
      if (config.audit_service_port < 1 || config.audit_service_port > 65535) {
        std::fprintf(stderr, "vigil-operator: --audit-service-port takes a port number\n");
        return 2;
      }
    } else if (a == "--audit-tls-name") {
      config.audit_tls_names.push_back(v);
    } else if (a == "--audit-plain-http") {
      config.audit_tls = false;
    } else if (a == "--audit-allow-unauthenticated") {
      config.audit_allow_unauthenticated = true;
    } else if (a == "--audit-max-body-bytes") {
      char* end = nullptr;
      const long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 4096 || n > (1LL << 30)) {
        std::fprintf(stderr, "vigil-operator: --audit-max-body-bytes takes 4096 to 1073741824\n");
        return 2;
      }
      config.audit_max_body = static_cast<size_t>(n);
    } else if (a == "--owner-service-account") {
      config.owner_service_account = v;
    } else if (a == "--cluster-name") {
      config.cluster_name = v;
    } else if (a == "--log-level") {
      level = v;
    } else {
      std::fprintf(stderr, "vigil-operator: unknown flag %s\n\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  auto cfg = vigil::k8s::load_client_config(kubeconfig);
  if (!cfg.ok()) {
    spdlog::error("No Kubernetes client configuration: {}", cfg.error());
    return 1;
  }
  auto client = vigil::k8s::CurlClient::from_config(cfg.value());
  if (!client.ok()) {
    spdlog::error("Cannot create the Kubernetes client: {}", client.error());
    return 1;
  }
  std::signal(SIGINT, [](int) { g_stop = true; });
  std::signal(SIGTERM, [](int) { g_stop = true; });
  spdlog::info("Starting vigil-operator in namespace {}", config.ns);
  auto ran = vigil::op::run_operator(config, *client.value(), g_stop);
  if (!ran.ok()) {
    spdlog::error("{}", ran.error());
    return 1;
  }
  return 0;
}
