#pragma once

// Cluster mode's report: the agent creates its NodeAgent (cluster-scoped, named after the node,
// owned by the Node so it goes away with it) and keeps its status current: probe state, the
// bundle in effect (and why a newer one was refused), events/s, drops, and per-rule and
// per-sink counters. Written at once when something that matters changes (at most every
// `min_interval`), otherwise every `heartbeat` so the operator can tell a live node from a
// stale one. Counters continue from the stored ones when the agent restarts, so a rule's
// alert count on a node only ever grows. Runs on a thread of its own; never blocks capture.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/bundle_sync.h"

namespace vigil::k8s {
class Client;
}
namespace vigil::alerts {
class Dispatcher;
}

namespace vigil::agent {

class AlertWriter;
class Capture;

struct NodeReporterOptions {
  std::string node_name;
  std::chrono::milliseconds heartbeat{30000};
  std::chrono::milliseconds min_interval{2000};
  std::chrono::milliseconds tick{250};
  const alerts::Dispatcher* dispatcher = nullptr;  // per-sink counters; not owned
};

// What the main loop tells the reporter about bundles.
struct BundleReport {
  bool applied = false;  // a bundle is running
  int64_t generation = 0;
  std::string hash;
  std::chrono::sys_seconds applied_time{};
  std::vector<BundleRuleState> rules;  // of the running bundle
  std::string error;                   // why the newest bundle was refused; "" when it runs
};

struct NodeReporterStats {
  uint64_t writes = 0;
  uint64_t failures = 0;
  uint64_t creates = 0;
  std::string last_error;
};

class NodeReporter {
 public:
  NodeReporter(k8s::Client& client, NodeReporterOptions options, const Capture& capture,
               const AlertWriter& writer);
  ~NodeReporter();
  NodeReporter(const NodeReporter&) = delete;
  NodeReporter& operator=(const NodeReporter&) = delete;

  void start();
  // Writes a last status (Ready=False, rules no longer programmed, counters kept) and joins.
  void stop();
  void set_bundle(BundleReport report);  // thread-safe; reported at once (rate-bounded)
  NodeReporterStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::agent
