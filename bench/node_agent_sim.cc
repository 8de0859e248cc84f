// vigil-node-agent-sim: many simulated node agents for the cluster bench (bench/cluster_bench.sh).
//
// Each simulated node owns a NodeAgent object and reports the way the real agent's
// NodeReporter (agent/node_reporter.cc) does: PATCH .../status with a JSON merge patch of the
// whole status (api::to_status_patch_json): probe Running, the bundle in effect (generation,
// hash, appliedTime), one entry per syscall rule of that bundle (the rule's generation,
// programmed=true), Ready=True and lastHeartbeatTime. A node writes at once when its bundle
// changes (at most every --report-seconds) and otherwise every --heartbeat-seconds (with
// jitter, so the nodes do not write in step).
//
// One Watcher on the bundle ConfigMap serves every node: a new bundle generation is parsed
// once, and each node "compiles" it for --compile-ms (jittered per node) before it reports.
// The writes are spread over --threads worker threads (each owns every T-th node), so the nodes
// do not serialize on one connection. The client sends User-Agent --user-agent (default
// "vigil-node-agent-sim/0.1"), so the API server's audit log tells these writes apart from the
// operator's and the real agent's ("vigil/0.1").
//
// Not a Google Benchmark binary (bench/*_bench.cc are); built as its own target.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/api/v1alpha1/types.h"
#include "common/bundle/bundle.h"
#include "common/k8s/client_config.h"
#include "common/k8s/curl_client.h"
#include "common/k8s/resource.h"
#include "common/k8s/watcher.h"

namespace {

namespace api = vigil::api::v1alpha1;
namespace k8s = vigil::k8s;
namespace bundle = vigil::bundle;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Options {
  std::string kubeconfig;
  std::string ns = "vigil-system";
  int nodes = 99;
  std::string prefix = "sim-node-";
  int first = 0;  // index of the first node (names are PREFIX%03d)
  int heartbeat_seconds = 30;
  int report_seconds = 2;
  int threads = 8;
  int compile_ms = 5;
  int probe_programs = 24;
  std::string user_agent = "vigil-node-agent-sim/0.1";
  std::string log_level = "info";
};

void usage(FILE* out) {
  std::fputs(R"(Usage: vigil-node-agent-sim [flags]

Simulated Vigil node agents: creates N NodeAgents and reports their status as the real agent
does, from one watch of the operator's bundle ConfigMap. For bench/cluster_bench.sh.

  --kubeconfig PATH        kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS           the operator's namespace, where the bundle is (default vigil-system)
  --nodes N                simulated nodes (default 99)
  --prefix P               node name prefix (default sim-node-; names are P000, P001, ...)
  --first I                index of the first node (default 0)
  --heartbeat-seconds N    write status at least every N seconds, jittered -15% (default 30)
  --report-seconds N       and at most every N seconds when the bundle changed (default 2)
  --compile-ms N           simulated compile time per bundle, jittered x0.5..x1.5 (default 5)
  --threads N              writer threads (default 8)
  --user-agent UA          HTTP User-Agent (default vigil-node-agent-sim/0.1)
  --log-level LEVEL        trace, debug, info, warn, error (default info)
  --help

SIGINT/SIGTERM stop it (the NodeAgents stay). Every 10 s, and whenever every node has reported
a new bundle, it logs writes, failures and how long the nodes took.
)",
             out);
}

bool parse_int(std::string_view s, int& out, int min) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < min) return false;
  out = v;
  return true;
}

api::Time now_seconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

k8s::ResourceRef node_agents() { return {"vigil.dev", "v1alpha1", "nodeagents", false}; }

// A bundle as every simulated node sees it.
struct BundleView {
  int64_t generation = 0;
  std::string hash;
  std::vector<api::NodeRuleStatus> rules;  // syscall rules only, sorted by namespace, name
  Clock::time_point arrived;
  api::Time arrived_wall{};
  std::string error;  // the bundle did not parse
};

struct Node {
  std::string name;
  bool created = false;
  std::vector<api::Condition> conditions;
  bool written = false;
  std::shared_ptr<const BundleView> compiling;  // the newest bundle, "compiled" at compiled_at
  std::shared_ptr<const BundleView> applied;    // the bundle this node runs
  std::shared_ptr<const BundleView> reported;   // the bundle of the last successful write
  Clock::time_point compiled_at{};
  Clock::time_point last_write{};
  Clock::time_point next_heartbeat{};
  Clock::time_point retry_at{};
  milliseconds retry_delay{500};
};

class Simulator {
 public:
  Simulator(k8s::Client& client, Options options) : client_(client), options_(std::move(options)) {
    for (int i = 0; i < options_.nodes; ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%03d", options_.first + i);
      nodes_.push_back(Node{options_.prefix + buf});
    }
  }

  void start() {
    k8s::WatcherOptions wo;
    wo.resource = k8s::configmaps();
    wo.ns = options_.ns;
    wo.field_selector = "metadata.name=" + std::string(bundle::kConfigMapName);
    watcher_ = std::make_unique<k8s::Watcher>(
        client_, wo, [this](k8s::WatchEventType type, const std::string& json) {
          if (type != k8s::WatchEventType::kDeleted) on_bundle(json);
        });
    watcher_->start();
    for (int t = 0; t < options_.threads; ++t) {
      workers_.emplace_back([this, t] { work(t); });
    }
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (watcher_) watcher_->stop();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  void log_stats() {
    std::shared_ptr<const BundleView> b;
    {
      std::lock_guard lock(mu_);
      b = bundle_;
    }
    spdlog::info(
        "{} nodes: {} writes, {} creates, {} failures; bundle generation {} ({} syscall "
        "rules), {} nodes reported it",
        nodes_.size(), writes_.load(), creates_.load(), failures_.load(), b ? b->generation : 0,
        b ? b->rules.size() : 0, reported_current_.load());
  }

 private:
  void on_bundle(const std::string& json) {
    const Json cm = Json::parse(json, nullptr, false);
    if (!cm.is_object()) return;
    auto view = std::make_shared<BundleView>();
    view->arrived = Clock::now();
    view->arrived_wall = now_seconds();
    const Json& meta = cm.value("metadata", Json::object());
    const Json ann = meta.is_object() ? meta.value("annotations", Json::object()) : Json::object();
    if (ann.is_object()) {
      const std::string g = ann.value(std::string(bundle::kGenerationAnnotation), std::string());
      int64_t v = 0;
      auto [p, ec] = std::from_chars(g.data(), g.data() + g.size(), v);
      if (ec == std::errc() && p == g.data() + g.size()) view->generation = v;
      view->hash = ann.value(std::string(bundle::kHashAnnotation), std::string());
    }
    {
      std::lock_guard lock(mu_);
      if (bundle_ && bundle_->generation == view->generation && bundle_->hash == view->hash) {
        return;  // a resync or an unrelated change: same bundle
      }
    }
    std::string rules_text;
    if (cm.contains("data") && cm["data"].is_object()) {
      rules_text = cm["data"].value(std::string(bundle::kRulesKey), std::string());
    }
    auto objects = bundle::parse_bundle_rules(rules_text);
    if (!objects.ok()) {
      view->error = "the bundle's rules do not parse: " + objects.error();
    } else {
      for (const auto& o : *objects) {
        // As the real agent: only syscall rules get an entry (k8s_audit rules run in the
        // operator). spec.source defaults to syscall.
        const Json spec = Json::parse(o.spec_json, nullptr, false);
        std::string source = "syscall";
        if (spec.is_object() && spec.contains("source") && spec["source"].is_string()) {
          source = spec["source"].get<std::string>();
        }
        if (source != "syscall") continue;
        api::NodeRuleStatus r;
        r.namespace_ = o.ns;
        r.name = o.name;
        r.generation = o.generation;
        r.programmed = true;
        view->rules.push_back(std::move(r));
      }
      std::sort(view->rules.begin(), view->rules.end(), [](const auto& a, const auto& b) {
        return std::tie(a.namespace_, a.name) < std::tie(b.namespace_, b.name);
      });
    }
    spdlog::info("Bundle generation {} ({} syscall rules){}", view->generation, view->rules.size(),
                 view->error.empty() ? "" : ": " + view->error);
    {
      std::lock_guard lock(mu_);
      bundle_ = std::move(view);
      reported_current_ = 0;
    }
    cv_.notify_all();
  }

  bool ensure(Node& n) {
    Json obj = {{"apiVersion", std::string(api::kApiVersion)},
                {"kind", "NodeAgent"},
                {"metadata",
                 {{"name", n.name},
                  {"labels",
                   {{"app.kubernetes.io/name", "vigil-agent"},
                    {"app.kubernetes.io/part-of", "vigil"},
                    {"vigil.dev/simulated", "true"}}}}},
                {"spec", {{"nodeName", n.name}}}};
    auto created = client_.create(node_agents(), "", obj.dump());
    if (!created.ok() && created.error_code() != k8s::kStatusConflict) {
      fail(n, "creating NodeAgent", created.error(), created.error_code());
      return false;
    }
    if (created.ok()) ++creates_;
    n.created = true;
    return true;
  }

  api::NodeAgentStatus build(Node& n, const BundleView* b, bool applied) {
    const api::Time now = now_seconds();
    api::NodeAgentStatus s;
    s.probe.state = api::ProbeState::kRunning;
    s.probe.programs = options_.probe_programs;
    s.probe.message = std::to_string(options_.probe_programs) + " BPF programs attached";
    api::Condition ready{
        std::string(api::kConditionReady), api::ConditionStatus::kTrue, 0, {}, "Running", ""};
    if (applied && b) {
      s.bundle.generation = b->generation;
      s.bundle.hash = b->hash;
      s.bundle.applied_time = now;
      s.bundle.error = b->error;
      // As the real agent: only rules with something to say (alerts, an error) are listed; the
      // operator counts the rest as programmed from the bundle generation.
      for (const auto& r : b->rules)
        if (r.alerts > 0 || !r.error.empty() || !r.programmed) s.rules.push_back(r);
      s.events_per_second = 1000 + static_cast<int64_t>(std::hash<std::string>{}(n.name) % 2000);
      if (!b->error.empty()) {
        ready.status = api::ConditionStatus::kFalse;
        ready.reason = "BundleError";
        ready.message = "no bundle could be applied";
      } else {
        ready.message = "capturing with bundle generation " + std::to_string(b->generation);
      }
    } else {
      ready.status = api::ConditionStatus::kFalse;
      ready.reason = "WaitingForBundle";
      ready.message = "no bundle received from the operator yet";
    }
    api::set_condition(n.conditions, ready, now);
    s.conditions = n.conditions;
    s.last_heartbeat_time = now;
    return s;
  }

  void fail(Node& n, const std::string& what, const std::string& error, int code) {
    ++failures_;
    const auto now = Clock::now();
    n.retry_at = now + n.retry_delay;
    n.retry_delay = std::min(n.retry_delay * 2, milliseconds(30000));
    std::lock_guard lock(log_mu_);
    if (error != last_error_) {
      spdlog::warn("{} {}: {} (HTTP {}); retrying", what, n.name, error, code);
      last_error_ = error;
    }
  }

  // Writes a node's status if it is due; returns when it should next be looked at.
  Clock::time_point visit(Node& n, const std::shared_ptr<const BundleView>& b, std::mt19937& rng) {
    const auto now = Clock::now();
    if (now < n.retry_at) return n.retry_at;
    if (!n.created && !ensure(n)) return n.retry_at;
    // A new bundle: this node compiles it first and keeps reporting the old one meanwhile.
    if (b && n.compiling != b) {
      n.compiling = b;
      std::uniform_real_distribution<double> jitter(0.5, 1.5);
      n.compiled_at = std::max(now, b->arrived) +
                      milliseconds(static_cast<int64_t>(options_.compile_ms * jitter(rng)));
    }
    if (b && n.applied != b && now >= n.compiled_at) n.applied = b;
    const bool changed = !n.written || n.applied != n.reported;
    Clock::time_point due = n.next_heartbeat;
    if (changed) due = std::min(due, n.last_write + std::chrono::seconds(options_.report_seconds));
    if (b && n.applied != b) due = std::min(due, n.compiled_at);
    if (now < due) return due;

    const auto applied = n.applied;
    const api::NodeAgentStatus s = build(n, applied.get(), applied != nullptr);
    auto patched = client_.patch_status(node_agents(), "", n.name, api::to_status_patch_json(s));
    if (!patched.ok()) {
      if (patched.error_code() == k8s::kStatusNotFound) n.created = false;
      fail(n, "writing NodeAgent status", patched.error(), patched.error_code());
      return n.retry_at;
    }
    ++writes_;
    n.retry_delay = milliseconds(500);
    const auto done = Clock::now();
    n.written = true;
    n.last_write = done;
    std::uniform_real_distribution<double> hb(0.85, 1.0);
    n.next_heartbeat =
        done + milliseconds(static_cast<int64_t>(options_.heartbeat_seconds * 1000 * hb(rng)));
    if (n.reported != applied) {
      n.reported = applied;
      if (applied && applied == b && reported_current_.fetch_add(1) + 1 == nodes_.size()) {
        const auto ms = std::chrono::duration_cast<milliseconds>(done - b->arrived).count();
        spdlog::info("All {} nodes reported bundle generation {} within {} ms of its arrival",
                     nodes_.size(), b->generation, ms);
      }
    }
    Clock::time_point next = n.next_heartbeat;
    if (b && n.applied != b) next = std::min(next, std::max(n.compiled_at, done));
    return next;
  }

  void work(int t) {
    std::mt19937 rng(static_cast<unsigned>(std::random_device{}()) + static_cast<unsigned>(t));
    // Every node writes once at start (WaitingForBundle, or the bundle if it is already
    // there); the jittered heartbeats then spread the nodes out.
    for (;;) {
      std::shared_ptr<const BundleView> b;
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        b = bundle_;
      }
      Clock::time_point next = Clock::now() + milliseconds(1000);
      for (size_t i = t; i < nodes_.size(); i += options_.threads) {
        next = std::min(next, visit(nodes_[i], b, rng));
        std::lock_guard lock(mu_);
        if (stopping_) return;
        if (bundle_ != b) break;  // a newer bundle: start over with it
      }
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next, [&] { return stopping_ || bundle_ != b; });
      if (stopping_) return;
    }
  }

  k8s::Client& client_;
  const Options options_;
  std::vector<Node> nodes_;  // node i belongs to worker i % threads
  std::unique_ptr<k8s::Watcher> watcher_;
  std::vector<std::thread> workers_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                     // guarded by mu_
  std::shared_ptr<const BundleView> bundle_;  // guarded by mu_

  std::atomic<uint64_t> writes_{0}, creates_{0}, failures_{0};
  std::atomic<size_t> reported_current_{0};
  std::mutex log_mu_;
  std::string last_error_;  // guarded by log_mu_
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vigil-node-agent-sim: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      out = argv[++i];
    };
    auto number = [&](int& out, int min) {
      std::string v;
      value(v);
      if (!parse_int(v, out, min)) {
        std::fprintf(stderr, "vigil-node-agent-sim: bad value for %s: %s\n", a.data(), v.c_str());
        std::exit(2);
      }
    };
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--kubeconfig") {
      value(o.kubeconfig);
    } else if (a == "--namespace") {
      value(o.ns);
    } else if (a == "--nodes") {
      number(o.nodes, 0);
    } else if (a == "--prefix") {
      value(o.prefix);
    } else if (a == "--first") {
      number(o.first, 0);
    } else if (a == "--heartbeat-seconds") {
      number(o.heartbeat_seconds, 1);
    } else if (a == "--report-seconds") {
      number(o.report_seconds, 0);
    } else if (a == "--compile-ms") {
      number(o.compile_ms, 0);
    } else if (a == "--threads") {
      number(o.threads, 1);
    } else if (a == "--user-agent") {
      value(o.user_agent);
    } else if (a == "--log-level") {
      value(o.log_level);
    } else {
      std::fprintf(stderr, "vigil-node-agent-sim: unknown flag %s\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ sim: %v");

  auto cfg = k8s::load_client_config(
      o.kubeconfig.empty() ? std::nullopt : std::optional<std::string>(o.kubeconfig));
  if (!cfg.ok()) {
    std::fprintf(stderr, "vigil-node-agent-sim: no Kubernetes client configuration: %s\n",
                 cfg.error().c_str());
    return 1;
  }
  k8s::CurlClientOptions copts;
  copts.user_agent = o.user_agent;
  copts.max_idle_connections = static_cast<size_t>(o.threads) + 2;
  auto client = k8s::CurlClient::from_config(*cfg, copts);
  if (!client.ok()) {
    std::fprintf(stderr, "vigil-node-agent-sim: cannot create the Kubernetes client: %s\n",
                 client.error().c_str());
    return 1;
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  o.threads = std::max(1, std::min(o.threads, std::max(1, o.nodes)));
  spdlog::info("{} simulated nodes {}{:03d}..., {} writer threads, bundle {}/{}", o.nodes, o.prefix,
               o.first, o.threads, o.ns, bundle::kConfigMapName);
  Simulator sim(**client, o);
  sim.start();
  for (;;) {
    timespec ts{10, 0};
    const int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) break;
    sim.log_stats();
  }
  sim.stop();
  sim.log_stats();
  return 0;
}
