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
Programmed) and the sinks' (delivered, failed, dropped).

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
