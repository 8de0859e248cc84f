#pragma once

// The agent's /metrics in the Prometheus text format.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vigil::agent {

class Capture;
class AlertWriter;

std::string render_metrics(const Capture& capture, const AlertWriter& writer);

// Cluster mode's figures, appended to the above.
struct ClusterMetrics {
  int64_t bundle_generation = 0;   // applied
  uint64_t bundle_refused = 0;     // bundles that did not compile
  uint64_t report_writes = 0;      // NodeAgent status writes
  uint64_t report_failures = 0;    // failed NodeAgent reads and writes (retried)
  uint64_t pods = 0;               // pods of this node known
  uint64_t pod_containers = 0;     // container ids resolvable to a pod
  uint64_t pod_parse_errors = 0;   // pod objects that did not parse
  uint64_t pod_lookup_misses = 0;  // containers looked up with no pod (yet)
  // Per AlertSink ("ns/name"): delivered, failed attempts, queued, and dropped by reason.
  struct Sink {
    std::string name;
    uint64_t delivered = 0;
    uint64_t failed = 0;
    uint64_t queued = 0;
    std::map<std::string, uint64_t> dropped;
  };
  std::vector<Sink> sinks;
};
std::string render_cluster_metrics(const ClusterMetrics& m);

}  // namespace vigil::agent
