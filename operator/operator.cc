#include "operator/operator.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/api/v1alpha1/types.h"
#include "common/base/bounded_json.h"
#include "common/bundle/bundle.h"
#include "common/http/server.h"
#include "common/k8s/events.h"
#include "common/k8s/leader_elector.h"
#include "common/k8s/resource.h"
#include "common/k8s/watcher.h"
#include "operator/bundle_publisher.h"
#include "operator/controllers/alert_sink_controller.h"
#include "operator/controllers/node_status.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/security_rule_controller.h"
#include "operator/controllers/status_write_limiter.h"

namespace vigil::op {

namespace api = vigil::api::v1alpha1;

namespace {

// Wakes the reconcile loop; a burst of notifications is one reconcile. Soft notifications (node
// agents' reports, which arrive all the time in a large cluster) wake it at most once per
// `soft_interval`, so heartbeats do not turn into a reconcile each.
class Trigger {
 public:
  explicit Trigger(std::chrono::milliseconds soft_interval) : soft_interval_(soft_interval) {}

  void notify() {
    std::lock_guard<std::mutex> lock(mu_);
    dirty_ = true;
    cv_.notify_one();
  }
  void notify_soft() {
    std::lock_guard<std::mutex> lock(mu_);
    soft_ = true;  // the waiting loop's tick picks it up once soft_ready_ has passed
  }
  // Waits for a notification (or `max_wait`), then for `quiet` without more; false on stop.
  bool wait(std::chrono::milliseconds quiet, std::chrono::milliseconds max_wait,
            const std::atomic<bool>& stop) {
    // `stop` is set from a signal handler, which cannot notify: wake up every tick to look at it.
    constexpr auto kTick = std::chrono::milliseconds(200);
    std::unique_lock<std::mutex> lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + max_wait;
    auto soft_due = [&] { return soft_ && std::chrono::steady_clock::now() >= soft_ready_; };
    while (!dirty_ && !soft_due() && !stop && std::chrono::steady_clock::now() < deadline)
      cv_.wait_for(lock, kTick);
    if (stop) return false;
    while (dirty_) {
      dirty_ = false;
      cv_.wait_for(lock, quiet, [&] { return stop.load(); });
      if (stop) return false;
    }
    soft_ = false;
    soft_ready_ = std::chrono::steady_clock::now() + soft_interval_;
    return true;
  }
  void wake_all() { cv_.notify_all(); }

 private:
  const std::chrono::milliseconds soft_interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool dirty_ = true;                                   // guarded by mu_; reconcile once at start
  bool soft_ = false;                                   // guarded by mu_
  std::chrono::steady_clock::time_point soft_ready_{};  // guarded by mu_
};

// The NodeAgents of the watch cache, parsed; an object is parsed again only when its
// resourceVersion changes (a large cluster has 100 agents with 1,000 rule entries each).
class NodeAgentCache {
 public:
  std::vector<std::shared_ptr<const api::NodeAgent>> refresh(const k8s::Watcher& watch) {
    std::map<std::string, Entry> next;
    std::vector<std::shared_ptr<const api::NodeAgent>> out;
    for (const auto& [key, obj] : watch.snapshot()) {
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.resource_version == obj.resource_version) {
        if (it->second.agent) out.push_back(it->second.agent);
        next.emplace(key, std::move(it->second));
        continue;
      }
      Entry e{obj.resource_version, nullptr};
      auto parsed = api::parse_node_agent(*obj.object);
      if (parsed.ok()) {
        e.agent = std::make_shared<const api::NodeAgent>(std::move(parsed.value()));
        out.push_back(e.agent);
      } else {
        // Logged once per version; the CRD validated it, so this is a newer schema or a bug.
        spdlog::warn("Ignored NodeAgent {} that does not parse: {}", key, parsed.error());
      }
      next.emplace(key, std::move(e));
    }
    entries_ = std::move(next);
    return out;
  }

 private:
  struct Entry {
    std::string resource_version;
    std::shared_ptr<const api::NodeAgent> agent;  // null: did not parse
  };
  std::map<std::string, Entry> entries_;
};

struct Metrics {
  std::atomic<uint64_t> reconciles{0}, status_writes{0}, status_failures{0}, bundle_publishes{0},
      bundle_errors{0};
  std::atomic<uint64_t> rules{0}, rules_accepted{0}, sinks{0}, sinks_accepted{0};
  std::atomic<uint64_t> node_agents{0}, node_agents_stale{0}, status_deferred{0};
  std::atomic<int64_t> bundle_generation{0};
  std::atomic<bool> leader{false};
};

std::string metrics_text(const Metrics& m) {
  std::string out;
  auto gauge = [&](const char* name, const char* help, double v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
           " " + std::to_string(v) + "\n";
  };
  auto counter = [&](const char* name, const char* help, double v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  gauge("vigil_operator_leader", "1 when this replica is the leader.", m.leader ? 1 : 0);
  gauge("vigil_operator_security_rules", "SecurityRules seen.", double(m.rules));
  gauge("vigil_operator_security_rules_accepted", "SecurityRules that compile.",
        double(m.rules_accepted));
  gauge("vigil_operator_alert_sinks", "AlertSinks seen.", double(m.sinks));
  gauge("vigil_operator_alert_sinks_accepted", "AlertSinks accepted.", double(m.sinks_accepted));
  gauge("vigil_operator_node_agents", "NodeAgents seen.", double(m.node_agents));
  gauge("vigil_operator_node_agents_stale",
        "NodeAgents whose last heartbeat is older than the stale threshold.",
        double(m.node_agents_stale));
  gauge("vigil_operator_bundle_generation", "Generation of the published bundle.",
        double(m.bundle_generation));
  counter("vigil_operator_reconciles_total", "Reconcile passes.", double(m.reconciles));
  counter("vigil_operator_status_writes_total", "Status subresource writes.",
          double(m.status_writes));
  counter("vigil_operator_status_write_failures_total", "Failed status writes (retried).",
          double(m.status_failures));
  counter("vigil_operator_status_writes_deferred_total",
          "Status changes left pending by the write budget (written on a later pass).",
          double(m.status_deferred));
  counter("vigil_operator_bundle_publishes_total", "Bundle ConfigMap writes.",
          double(m.bundle_publishes));
  counter("vigil_operator_bundle_errors_total", "Failed bundle writes (retried).",
          double(m.bundle_errors));
  return out;
}

std::vector<std::string> objects_of(const k8s::Watcher& w) {
  std::vector<std::string> out;
  for (const auto& [key, obj] : w.snapshot()) out.push_back(*obj.object);
  return out;
}

// Seeds the history from the bundle ConfigMap as published before this process started. False
// when it could not be read (retried on the next pass); true when it was, or does not exist.
bool load_bundle_history(k8s::Client& client, const std::string& ns, BundleHistory& history) {
  auto cm = client.get(k8s::configmaps(), ns, bundle::kConfigMapName);
  if (!cm.ok()) return cm.error_code() == k8s::kStatusNotFound;
  const nlohmann::json doc = parse_bounded_json(*cm);
  if (!doc.is_object()) return true;
  const std::string rules = doc.contains("data") && doc["data"].is_object()
                                ? doc["data"].value(std::string(bundle::kRulesKey), std::string())
                                : std::string();
  int64_t generation = 0;
  if (doc.contains("metadata") && doc["metadata"].is_object() &&
      doc["metadata"].contains("annotations") && doc["metadata"]["annotations"].is_object()) {
    const std::string g = doc["metadata"]["annotations"].value(
        std::string(bundle::kGenerationAnnotation), std::string("0"));
    std::from_chars(g.data(), g.data() + g.size(), generation);
  }
  auto objects = bundle::parse_bundle_rules(rules);
  if (!objects.ok() || generation <= 0) return true;
  std::vector<BundleHistory::Published> in_bundle;
  for (const auto& o : *objects) in_bundle.push_back({o.ns, o.name, o.generation});
  history.record(in_bundle, generation);
  spdlog::info("Bundle generation {} ({} rules) is what the nodes may already run", generation,
               in_bundle.size());
  return true;
}

}  // namespace

Result<bool> run_operator(const OperatorConfig& config, k8s::Client& client,
                          const std::atomic<bool>& stop) {
  Metrics metrics;
  Trigger trigger(config.node_report_debounce);
  auto on_change = [&](k8s::WatchEventType, const std::string&) { trigger.notify(); };
  k8s::Watcher rules_watch(client, k8s::WatcherOptions{security_rules(), ""}, on_change);
  k8s::Watcher sinks_watch(client, k8s::WatcherOptions{alert_sinks(), ""}, on_change);
  k8s::Watcher nodes_watch(client, k8s::WatcherOptions{node_agents(), ""},
                           [&](k8s::WatchEventType, const std::string&) { trigger.notify_soft(); });

  auto server = http::HttpServer::start(
      http::ServerOptions{config.health_address, config.health_port, 4096, 16 << 10,
                          std::chrono::milliseconds(5000), std::chrono::milliseconds(5000),
                          std::chrono::milliseconds(30000), 64, 1, "health"},
      {http::route("GET", "/healthz",
                   [](const http::Request&) {
                     return http::Response{200, "text/plain", "ok\n", {}};
                   }),
       http::route("GET", "/readyz",
                   [&](const http::Request&) {
                     bool ready = rules_watch.has_synced() && sinks_watch.has_synced() &&
                                  nodes_watch.has_synced();
                     return http::Response{ready ? 200 : 503,
                                           "text/plain",
                                           ready ? "ok\n" : "caches not synced\n",
                                           {}};
                   }),
       http::route("GET", "/metrics", [&](const http::Request&) {
         return http::Response{200, "text/plain; version=0.0.4", metrics_text(metrics), {}};
       })});
  if (!server.ok()) return Error{"health server: " + server.error()};
  spdlog::info("Serving health and metrics on {}:{}", config.health_address,
               server.value()->port());

  std::unique_ptr<k8s::LeaderElector> elector;
  if (config.leader_elect) {
    k8s::LeaderElectionConfig lc;
    lc.lease_namespace = config.ns;
    lc.lease_name = config.lease_name;
    lc.identity = config.identity.empty() ? k8s::default_leader_identity() : config.identity;
    lc.lease_duration = config.lease_duration;
    lc.renew_deadline = config.renew_deadline;
    lc.retry_period = config.retry_period;
    // The callbacks outlive `lc` (a block local): they capture the identity by value.
    auto e = k8s::LeaderElector::create(
        client, lc,
        k8s::LeaderCallbacks{[&, id = lc.identity] {
                               spdlog::info("Became the leader ({})", id);
                               metrics.leader = true;
                               trigger.notify();
                             },
                             [&, id = lc.identity] {
                               spdlog::info("Stopped leading ({})", id);
                               metrics.leader = false;
                             },
                             nullptr});
    if (!e.ok()) return Error{"leader election: " + e.error()};
    elector = std::move(e.value());
  } else {
    metrics.leader = true;
  }

  rules_watch.start();
  sinks_watch.start();
  nodes_watch.start();
  if (elector) elector->start();

  k8s::EventRecorder events(client, "vigil-operator");
  SecurityRuleController rule_controller(client, config.ns, &events);
  AlertSinkController sink_controller(client);
  BundlePublisher publisher(client, config.ns);
  NodeAgentCache agent_cache;
  BundleHistory bundle_history;
  bool history_loaded = false;
  StatusWriteLimiter limiter(
      StatusWriteLimits{
          config.status_qps, config.status_burst,
          std::chrono::duration_cast<std::chrono::milliseconds>(config.alert_status_interval)},
      std::chrono::steady_clock::now());

  using std::chrono::milliseconds;
  // Wake up on our own often enough to notice a node going stale.
  const milliseconds idle_wait = std::min(
      std::chrono::duration_cast<milliseconds>(config.resync),
      std::max(milliseconds(500), std::chrono::duration_cast<milliseconds>(config.node_stale) / 3));
  milliseconds next_wait = idle_wait;
  while (trigger.wait(config.debounce, next_wait, stop)) {
    next_wait = idle_wait;
    if (!rules_watch.has_synced() || !sinks_watch.has_synced() || !nodes_watch.has_synced()) {
      // Reconciling a partial view would write wrong statuses and drop rules from the bundle.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      trigger.notify();
      continue;
    }
    const bool leader = elector ? elector->is_leader() : true;
    if (!history_loaded) {
      // Which bundle the nodes may already run: the one published before this process started.
      history_loaded = load_bundle_history(client, config.ns, bundle_history);
    }
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    const NodeStatusIndex nodes(agent_cache.refresh(nodes_watch), now, config.node_stale);
    const auto clock = std::chrono::steady_clock::now();
    limiter.prune(clock);
    const StatusInputs inputs{&nodes, &bundle_history, &limiter, clock};
    auto rules = rule_controller.reconcile(objects_of(rules_watch), leader, now, inputs);
    auto sinks = sink_controller.reconcile(objects_of(sinks_watch), leader, now, inputs);
    if (auto retry = limiter.take_retry_at()) {
      // Pending changes: come back when the budget allows them.
      next_wait =
          std::clamp(std::chrono::ceil<milliseconds>(*retry - clock), milliseconds(0), next_wait);
    }
    ++metrics.reconciles;
    metrics.node_agents = nodes.agent_count();
    metrics.node_agents_stale = nodes.stale_count();
    metrics.status_deferred += rules.status_deferred + sinks.status_deferred;
    metrics.rules = rules.rules;
    metrics.rules_accepted = rules.accepted;
    metrics.sinks = sinks.sinks;
    metrics.sinks_accepted = sinks.accepted;
    metrics.status_writes += rules.status_writes + sinks.status_writes;
    metrics.status_failures += rules.status_failures + sinks.status_failures;
    if (rules.status_failures + sinks.status_failures > 0) trigger.notify();  // retry soon
    if (!leader) continue;
    std::vector<BundleHistory::Published> in_bundle;
    in_bundle.reserve(rules.bundle_rules.size());
    for (const auto& r : rules.bundle_rules) in_bundle.push_back({r.ns, r.name, r.generation});
    auto published = publisher.publish(std::move(rules.bundle_rules), std::move(sinks.bundle_sinks),
                                       sinks.credentials);
    if (!published.ok()) {
      ++metrics.bundle_errors;
      spdlog::warn("Failed to publish the bundle: {}", published.error());
      trigger.notify();
      continue;
    }
    metrics.bundle_generation = published->generation;
    if (published->changed) ++metrics.bundle_publishes;
    bundle_history.record(in_bundle, published->generation);
  }

  spdlog::info("Shutting down");
  if (elector) elector->stop();  // releases the Lease so a standby takes over at once
  rules_watch.stop();
  sinks_watch.stop();
  nodes_watch.stop();
  server.value()->stop();
  return true;
}

}  // namespace vigil::op
