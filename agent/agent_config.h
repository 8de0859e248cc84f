#pragma once

// vigil-agent's configuration: parsed and validated once from the command line into a plain
// immutable struct, passed by const& (STYLE.md).

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/result.h"

namespace vigil::agent {

enum class OutputFormat { kText, kJson };

struct AgentConfig {
  // Rule files or directories (*.yaml, *.yml inside, sorted). Empty: Vigil's default rules.
  std::vector<std::string> rule_paths;
  bool default_rules = true;  // load the embedded default rules in addition to rule_paths?
  bool builtin_library = true;

  OutputFormat stdout_format = OutputFormat::kText;
  bool stdout_alerts = true;
  std::string output_file;  // JSON lines; empty: none

  std::string health_address = "127.0.0.1";
  uint16_t health_port = 8765;  // 0: pick a free port (printed at start)
  bool health_enabled = true;

  uint32_t ring_bytes = 8u << 20;
  uint32_t wakeup_bytes = 256u << 10;
  int poll_timeout_ms = 10;
  uint32_t alert_queue = 10000;      // alerts waiting for the outputs
  uint32_t drop_alert_seconds = 10;  // at most one drop alert per this many seconds
  uint32_t rules_poll_seconds = 2;   // how often rule files are checked for changes (0: never)

  std::string hostname;  // evt.hostname; default gethostname()
  std::string log_level = "info";
  bool validate_only = false;  // --validate: compile the rules, print a summary, exit

  // Cluster mode (--kubeconfig or --in-cluster): rules come from the operator's bundle, pods of
  // this node give containers their Kubernetes metadata, and the NodeAgent reports status.
  std::string kubeconfig;
  bool in_cluster = false;
  std::string node_name;            // default $NODE_NAME, else the hostname
  std::string ns = "vigil-system";  // the operator's namespace (bundle ConfigMap)
  uint32_t heartbeat_seconds = 30;  // NodeAgent status written at least this often
  uint32_t report_seconds = 2;      // and at most this often when something changed
  // Where queued alerts of the AlertSinks survive a restart; "" for none.
  std::string spool_dir = "/var/lib/vigil/spool";
  bool cluster_mode() const { return in_cluster || !kubeconfig.empty(); }
};

inline constexpr const char* kAgentUsage =
    "Usage: vigil-agent [OPTIONS]\n"
    "\n"
    "Vigil's node agent: captures syscalls with eBPF, evaluates rules and prints alerts. Without\n"
    "--rules it runs Vigil's default rules (compiled in); with --kubeconfig or --in-cluster it\n"
    "runs the rules of the operator's bundle. Needs root (CAP_BPF, CAP_PERFMON).\n"
    "\n"
    "Rules:\n"
    "  --rules PATH...        rule files or directories of *.yaml (Falco rules or SecurityRule\n"
    "                         YAML); repeatable. Reloaded on SIGHUP and when a file changes.\n"
    "  --default-rules        also load the default rules when --rules is given\n"
    "  --no-default-rules     never load the default rules\n"
    "  --no-builtin           do not load Vigil's built-in macro and list library\n"
    "  --validate             compile the rules, print a summary and exit (no capture)\n"
    "\n"
    "Alerts:\n"
    "  --output text|json     format of alerts on standard output (default text)\n"
    "  --no-stdout            do not print alerts on standard output\n"
    "  --output-file FILE     also append alerts to FILE as Falco JSON lines\n"
    "  --drop-alert-seconds N at most one drop alert every N seconds (default 10)\n"
    "\n"
    "Capture:\n"
    "  --ring-bytes N         ring buffer size (default 8388608; K/M suffixes allowed)\n"
    "  --wakeup-bytes N       wake the reader once N bytes wait (default 262144)\n"
    "\n"
    "Cluster mode (rules from the operator's bundle, status in a NodeAgent object):\n"
    "  --kubeconfig FILE      run in cluster mode with this kubeconfig\n"
    "  --in-cluster           run in cluster mode with the pod's service account\n"
    "  --node-name NAME       this node's name (default $NODE_NAME, else the hostname)\n"
    "  --namespace NS         the operator's namespace, where the bundle is (default "
    "vigil-system)\n"
    "  --heartbeat-seconds N  write NodeAgent status at least every N seconds (default 30)\n"
    "  --report-seconds N     and at most every N seconds when something changed (default 2)\n"
    "  --spool-dir DIR        keep queued alerts of the AlertSinks here across restarts\n"
    "                         (default /var/lib/vigil/spool; 'off' keeps them in memory only)\n"
    "  In cluster mode alerts go to the bundle's AlertSinks; --output prints them here too.\n"
    "\n"
    "Service:\n"
    "  --health-addr HOST:PORT  /healthz and /metrics (default 127.0.0.1:8765; port 0 picks one;\n"
    "                         'off' disables)\n"
    "  --rules-poll-seconds N check rule files for changes every N seconds (default 2; 0 off)\n"
    "  --hostname NAME        hostname in alerts (default: this host's name)\n"
    "  --log-level LEVEL      trace, debug, info, warn, error (default info)\n"
    "  -h, --help             this help\n"
    "\n"
    "Signals: SIGHUP reloads the rules (capture continues); SIGINT/SIGTERM stop.\n";

// Parses argv (without argv[0]). An Error's message is ready to print (the caller adds usage).
// `--help` gives an Error with code 0 and an empty message.
Result<AgentConfig> parse_agent_args(const std::vector<std::string>& args);

}  // namespace vigil::agent
