#include "agent/node_reporter.h"

#include <algorithm>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "agent/alert_writer.h"
#include "agent/capture.h"
#include "agent/probe.h"
#include "common/alerts/dispatcher.h"
#include "common/api/v1alpha1/types.h"
#include "common/k8s/client.h"
#include "common/k8s/resource.h"

namespace vigil::agent {

namespace api = vigil::api::v1alpha1;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using RuleKey = std::pair<std::string, std::string>;

namespace {

k8s::ResourceRef node_agents() { return {"vigil.dev", "v1alpha1", "nodeagents", false}; }

api::Time now_seconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

struct Counted {
  int64_t alerts = 0;
  std::optional<api::Time> last;
};

}  // namespace

struct NodeReporter::Impl {
  k8s::Client& client;
  NodeReporterOptions options;
  const Capture& capture;
  const AlertWriter& writer;

  mutable std::mutex mu;
  std::condition_variable cv;
  BundleReport bundle;      // guarded by mu
  bool dirty = true;        // guarded by mu
  bool stopping = false;    // guarded by mu
  NodeReporterStats stats;  // guarded by mu
  std::thread thread;

  // Reporter thread only.
  bool ensured = false;
  bool based = false;                                 // counters from the stored status taken
  std::map<RuleKey, Counted> base;                    // stored per-rule counters at start
  std::map<RuleKey, api::NodeSinkStatus> base_sinks;  // and per-sink ones
  std::string last_signature;
  Clock::time_point last_write{};
  Clock::time_point retry_at{};
  std::chrono::milliseconds retry_delay{500};
  std::vector<api::Condition> conditions;
  uint64_t events_at_write = 0;
  Clock::time_point events_time = Clock::now();
  int64_t events_per_second = 0;

  Impl(k8s::Client& c, NodeReporterOptions o, const Capture& cap, const AlertWriter& w)
      : client(c), options(std::move(o)), capture(cap), writer(w) {}

  void run();
  bool ensure_object();
  api::NodeAgentStatus build(bool final_report);
  bool write(const api::NodeAgentStatus& status);
  void fail(const std::string& what, const std::string& error, int code) {
    std::string message = what + ": " + error;
    std::lock_guard lock(mu);
    ++stats.failures;
    // Logged when the error changes, not on every retry.
    if (message != stats.last_error) spdlog::warn("{} (HTTP {}); retrying", message, code);
    stats.last_error = std::move(message);
  }
};

bool NodeReporter::Impl::ensure_object() {
  auto got = client.get(node_agents(), "", options.node_name);
  if (got.ok()) {
    if (!based) {
      auto parsed = api::parse_node_agent(*got);
      if (parsed.ok()) {
        for (const auto& r : parsed->status.rules) {
          base[{r.namespace_, r.name}] = Counted{r.alerts, r.last_triggered};
        }
        for (const auto& k : parsed->status.sinks) base_sinks[{k.namespace_, k.name}] = k;
        conditions = parsed->status.conditions;
      } else {
        spdlog::warn("NodeAgent {}: stored status does not parse ({}); counters start at 0",
                     options.node_name, parsed.error());
      }
      based = true;
    }
    ensured = true;
    return true;
  }
  if (got.error_code() != k8s::kStatusNotFound) {
    fail("reading NodeAgent " + options.node_name, got.error(), got.error_code());
    return false;
  }
  Json obj = {
      {"apiVersion", std::string(api::kApiVersion)},
      {"kind", "NodeAgent"},
      {"metadata",
       {{"name", options.node_name},
        {"labels",
         {{"app.kubernetes.io/name", "vigil-agent"}, {"app.kubernetes.io/part-of", "vigil"}}}}},
      {"spec", {{"nodeName", options.node_name}}}};
  // Owned by the Node: deleting the node deletes its NodeAgent. Optional (no Node, no RBAC).
  auto node = client.get(k8s::nodes(), "", options.node_name);
  if (node.ok()) {
    Json n = Json::parse(*node, nullptr, false);
    if (n.is_object() && n.contains("metadata") && n["metadata"].is_object() &&
        n["metadata"].contains("uid") && n["metadata"]["uid"].is_string()) {
      obj["metadata"]["ownerReferences"] = Json::array({Json{{"apiVersion", "v1"},
                                                             {"kind", "Node"},
                                                             {"name", options.node_name},
                                                             {"uid", n["metadata"]["uid"]}}});
    }
  }
  auto created = client.create(node_agents(), "", obj.dump());
  if (!created.ok() && created.error_code() != k8s::kStatusConflict) {
    fail("creating NodeAgent " + options.node_name, created.error(), created.error_code());
    return false;
  }
  if (created.ok()) {
    std::lock_guard lock(mu);
    ++stats.creates;
    spdlog::info("Created NodeAgent {}", options.node_name);
  }
  based = true;
  ensured = true;
  return true;
}

api::NodeAgentStatus NodeReporter::Impl::build(bool final_report) {
  BundleReport b;
  {
    std::lock_guard lock(mu);
    b = bundle;
  }
  const api::Time now = now_seconds();
  api::NodeAgentStatus s;
  const auto attached = capture.probe().attached().size();
  const bool healthy = capture.healthy(5000);
  s.probe.state = healthy ? api::ProbeState::kRunning : api::ProbeState::kFailed;
  s.probe.programs = static_cast<int32_t>(attached);
  s.probe.message = healthy ? std::to_string(attached) + " BPF programs attached"
                            : "the capture thread is not running";
  if (final_report) {
    s.probe.state = api::ProbeState::kStarting;
    s.probe.message = "the agent stopped";
  }
  s.bundle.generation = b.generation;
  s.bundle.hash = b.hash;
  if (b.applied) s.bundle.applied_time = b.applied_time;
  s.bundle.error = b.error;

  const AlertWriterStats ws = writer.stats();
  int64_t total = 0;
  for (const auto& r : b.rules) {
    if (r.source != "syscall") continue;  // audit rules run in the operator
    api::NodeRuleStatus e;
    e.namespace_ = r.ns;
    e.name = r.name;
    e.generation = r.generation;
    // The last report keeps each rule's state; its probe state (not Running) is what tells the
    // operator this node no longer runs anything.
    e.programmed = r.programmed;
    e.error = r.error;
    auto bi = base.find({r.ns, r.name});
    if (bi != base.end()) {
      e.alerts = bi->second.alerts;
      e.last_triggered = bi->second.last;
    }
    auto wi = ws.by_object.find({r.ns, r.name});
    if (wi != ws.by_object.end()) {
      e.alerts += static_cast<int64_t>(wi->second.alerts);
      if (wi->second.last_time_ns > 0) {
        const api::Time t{std::chrono::seconds(wi->second.last_time_ns / 1000000000)};
        if (!e.last_triggered || *e.last_triggered < t) e.last_triggered = t;
      }
    }
    total += e.alerts;
    // Listed only when there is something to say: the operator counts a node that runs the
    // bundle and lists nothing for a rule as programmed, so a heartbeat stays small however
    // many rules there are.
    if (e.alerts > 0 || !e.error.empty() || !e.programmed) s.rules.push_back(std::move(e));
  }
  s.alerts = total;
  if (options.dispatcher) {
    for (const auto& d : options.dispatcher->stats()) {
      if (d.removing) continue;
      api::NodeSinkStatus k;
      k.namespace_ = d.ns;
      k.name = d.name;
      k.delivered = static_cast<int64_t>(d.delivered);
      k.failed = static_cast<int64_t>(d.failed);
      k.dropped = static_cast<int64_t>(d.dropped_total());
      if (auto b = base_sinks.find({d.ns, d.name}); b != base_sinks.end()) {
        // Counters continue from before a restart, as the rules' do.
        k.delivered += b->second.delivered;
        k.failed += b->second.failed;
        k.dropped += b->second.dropped;
        k.last_delivery_time = b->second.last_delivery_time;
      }
      k.state = alerts::to_string(d.state);
      k.last_error = d.last_error;
      if (d.last_delivery_time)
        k.last_delivery_time =
            std::chrono::time_point_cast<std::chrono::seconds>(*d.last_delivery_time);
      s.sinks.push_back(std::move(k));
    }
  }
  int64_t drops = 0;
  for (uint64_t d : capture.probe().drops_per_cpu()) drops += static_cast<int64_t>(d);
  s.drops = drops;
  s.events_per_second = events_per_second;

  api::Condition ready{
      std::string(api::kConditionReady), api::ConditionStatus::kTrue, 0, {}, "Running", ""};
  if (final_report) {
    ready.status = api::ConditionStatus::kFalse;
    ready.reason = "Stopped";
    ready.message = "the agent stopped";
  } else if (!healthy) {
    ready.status = api::ConditionStatus::kFalse;
    ready.reason = "CaptureStalled";
    ready.message = "the capture thread is not running";
  } else if (!b.error.empty()) {
    ready.status = api::ConditionStatus::kFalse;
    ready.reason = "BundleError";
    ready.message = b.applied ? "the newest bundle was refused; generation " +
                                    std::to_string(b.generation) + " keeps running"
                              : "no bundle could be applied";
  } else if (!b.applied) {
    ready.status = api::ConditionStatus::kFalse;
    ready.reason = "WaitingForBundle";
    ready.message = "no bundle received from the operator yet";
  } else {
    ready.message = "capturing with bundle generation " + std::to_string(b.generation);
  }
  api::set_condition(conditions, ready, now);
  s.conditions = conditions;
  s.last_heartbeat_time = now;
  return s;
}

bool NodeReporter::Impl::write(const api::NodeAgentStatus& status) {
  auto patched =
      client.patch_status(node_agents(), "", options.node_name, api::to_status_patch_json(status));
  if (!patched.ok()) {
    if (patched.error_code() == k8s::kStatusNotFound) ensured = false;  // deleted: recreate
    fail("writing NodeAgent " + options.node_name + " status", patched.error(),
         patched.error_code());
    return false;
  }
  std::lock_guard lock(mu);
  ++stats.writes;
  stats.last_error.clear();
  return true;
}

void NodeReporter::Impl::run() {
  for (;;) {
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, options.tick, [&] { return stopping || dirty; });
      if (stopping) break;
      dirty = false;
    }
    const auto now = Clock::now();
    if (now < retry_at) continue;
    if (!ensured && !ensure_object()) {
      retry_at = now + retry_delay;
      retry_delay = std::min(retry_delay * 2, std::chrono::milliseconds(30000));
      continue;
    }
    api::NodeAgentStatus s = build(false);
    // What matters for "changed": everything but the heartbeat time and the event rate.
    api::NodeAgentStatus sig = s;
    sig.last_heartbeat_time.reset();
    sig.events_per_second = 0;
    for (auto& c : sig.conditions) c.last_transition_time = {};
    const std::string signature = api::to_status_patch_json(sig);
    const bool changed = signature != last_signature;
    const auto since = now - last_write;
    if (!(changed && since >= options.min_interval) && since < options.heartbeat) continue;
    // The event rate over the interval since the previous write.
    const uint64_t events = capture.counters().events.load(std::memory_order_relaxed);
    const double secs = std::chrono::duration<double>(now - events_time).count();
    if (secs > 0.5) {
      events_per_second = static_cast<int64_t>(double(events - events_at_write) / secs);
      s.events_per_second = events_per_second;
    }
    if (write(s)) {
      last_signature = signature;
      last_write = now;
      events_at_write = events;
      events_time = now;
      retry_delay = std::chrono::milliseconds(500);
    } else {
      retry_at = now + retry_delay;
      retry_delay = std::min(retry_delay * 2, std::chrono::milliseconds(30000));
    }
  }
  // A last word, so the operator stops counting this node at once rather than after it goes
  // stale.
  if (ensured) write(build(true));
}

NodeReporter::NodeReporter(k8s::Client& client, NodeReporterOptions options, const Capture& capture,
                           const AlertWriter& writer)
    : impl_(std::make_unique<Impl>(client, std::move(options), capture, writer)) {}

NodeReporter::~NodeReporter() { stop(); }

void NodeReporter::start() {
  Impl* im = impl_.get();
  im->thread = std::thread([im] { im->run(); });
}

void NodeReporter::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void NodeReporter::set_bundle(BundleReport report) {
  {
    std::lock_guard lock(impl_->mu);
    impl_->bundle = std::move(report);
    impl_->dirty = true;
  }
  impl_->cv.notify_all();
}

NodeReporterStats NodeReporter::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace vigil::agent
