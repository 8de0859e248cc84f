#include "agent/metrics.h"

#include "agent/alert_writer.h"
#include "agent/capture.h"
#include "agent/probe.h"
#include "fmt/format.h"

namespace vigil::agent {
namespace {

// Prometheus label values escape backslash, quote and newline.
std::string label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string render_metrics(const Capture& capture, const AlertWriter& writer) {
  std::string out;
  const auto& c = capture.counters();
  auto it = std::back_inserter(out);

  header(out, "vigil_agent_events_total", "counter",
         "Records read from the ring buffer (one per captured syscall or process event).");
  fmt::format_to(it, "vigil_agent_events_total {}\n", c.records.load());
  header(out, "vigil_agent_evaluated_events_total", "counter",
         "Events evaluated against the rules.");
  fmt::format_to(it, "vigil_agent_evaluated_events_total {}\n", c.events.load());
  header(out, "vigil_agent_decode_errors_total", "counter", "Malformed records skipped.");
  fmt::format_to(it, "vigil_agent_decode_errors_total {}\n", c.decode_errors.load());

  const auto kernel = capture.probe().events_per_cpu();
  header(out, "vigil_agent_kernel_events_total", "counter",
         "Records the kernel wrote into the ring buffer, per CPU.");
  for (size_t i = 0; i < kernel.size(); ++i)
    fmt::format_to(it, "vigil_agent_kernel_events_total{{cpu=\"{}\"}} {}\n", i, kernel[i]);
  const auto drops = capture.probe().drops_per_cpu();
  header(out, "vigil_agent_drops_total", "counter",
         "Events lost in the kernel (ring buffer full), per CPU.");
  for (size_t i = 0; i < drops.size(); ++i)
    fmt::format_to(it, "vigil_agent_drops_total{{cpu=\"{}\"}} {}\n", i, drops[i]);

  header(out, "vigil_agent_ruleset_generation", "gauge",
         "Generation of the rule set in use (1 at start, +1 per reload).");
  fmt::format_to(it, "vigil_agent_ruleset_generation {}\n", c.generation.load());
  header(out, "vigil_agent_processes", "gauge", "Entries in the process table.");
  fmt::format_to(it, "vigil_agent_processes {}\n", c.processes.load());

  const AlertWriterStats ws = writer.stats();
  header(out, "vigil_agent_alerts_total", "counter", "Alerts raised, per rule.");
  for (const auto& [rule, n] : ws.by_rule)
    fmt::format_to(it, "vigil_agent_alerts_total{{rule=\"{}\"}} {}\n", label(rule), n);
  header(out, "vigil_agent_alerts_written_total", "counter", "Alerts written to every output.");
  fmt::format_to(it, "vigil_agent_alerts_written_total {}\n", ws.written);
  header(out, "vigil_agent_alerts_dropped_total", "counter",
         "Alerts dropped, by reason (queue_full: the outputs fell behind; write_error).");
  fmt::format_to(it, "vigil_agent_alerts_dropped_total{{reason=\"queue_full\"}} {}\n", ws.dropped);
  fmt::format_to(it, "vigil_agent_alerts_dropped_total{{reason=\"write_error\"}} {}\n",
                 ws.write_errors);

  const auto progs = capture.probe().program_stats();
  header(out, "vigil_bpf_program_run_time_ns_total", "counter",
         "Cumulative run time of each BPF program (needs sysctl kernel.bpf_stats_enabled=1).");
  for (const auto& p : progs)
    fmt::format_to(it, "vigil_bpf_program_run_time_ns_total{{program=\"{}\"}} {}\n", p.name,
                   p.run_time_ns);
  header(out, "vigil_bpf_program_runs_total", "counter",
         "Runs of each BPF program (needs sysctl kernel.bpf_stats_enabled=1).");
  for (const auto& p : progs)
    fmt::format_to(it, "vigil_bpf_program_runs_total{{program=\"{}\"}} {}\n", p.name, p.run_count);
  return out;
}

std::string render_cluster_metrics(const ClusterMetrics& m) {
  std::string out;
  auto it = std::back_inserter(out);
  auto one = [&](const char* name, const char* type, const char* help, auto v) {
    header(out, name, type, help);
    fmt::format_to(it, "{} {}\n", name, v);
  };
  one("vigil_agent_bundle_generation", "gauge", "Generation of the bundle in effect.",
      m.bundle_generation);
  one("vigil_agent_bundle_refused_total", "counter",
      "Bundles that did not compile (the previous one stayed in effect).", m.bundle_refused);
  one("vigil_agent_nodeagent_writes_total", "counter", "NodeAgent status writes.", m.report_writes);
  one("vigil_agent_nodeagent_failures_total", "counter",
      "Failed NodeAgent reads and writes (retried with backoff).", m.report_failures);
  one("vigil_agent_pods", "gauge", "Pods of this node known from the pod watch.", m.pods);
  one("vigil_agent_pod_containers", "gauge", "Container ids resolvable to a pod.",
      m.pod_containers);
  one("vigil_agent_pod_parse_errors_total", "counter", "Pod objects that did not parse.",
      m.pod_parse_errors);
  one("vigil_agent_pod_lookup_misses_total", "counter",
      "Container lookups that found no pod (not yet known, or not a pod's container).",
      m.pod_lookup_misses);
  header(out, "vigil_agent_sink_delivered_total", "counter", "Alerts delivered, per AlertSink.");
  for (const auto& k : m.sinks)
    fmt::format_to(it, "vigil_agent_sink_delivered_total{{sink=\"{}\"}} {}\n", label(k.name),
                   k.delivered);
  header(out, "vigil_agent_sink_failed_total", "counter",
         "Failed delivery attempts (retried), per AlertSink.");
  for (const auto& k : m.sinks)
    fmt::format_to(it, "vigil_agent_sink_failed_total{{sink=\"{}\"}} {}\n", label(k.name),
                   k.failed);
  header(out, "vigil_agent_sink_dropped_total", "counter",
         "Alerts given up, per AlertSink and reason (queue_full, retries_exhausted, rejected, "
         "sink_removed, shutdown).");
  for (const auto& k : m.sinks)
    for (const auto& [reason, n] : k.dropped)
      fmt::format_to(it, "vigil_agent_sink_dropped_total{{sink=\"{}\",reason=\"{}\"}} {}\n",
                     label(k.name), label(reason), n);
  header(out, "vigil_agent_sink_queued", "gauge", "Alerts waiting or in flight, per AlertSink.");
  for (const auto& k : m.sinks)
    fmt::format_to(it, "vigil_agent_sink_queued{{sink=\"{}\"}} {}\n", label(k.name), k.queued);
  return out;
}

}  // namespace vigil::agent
