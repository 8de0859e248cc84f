#include "agent/agent.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <utility>

#include "agent/alert_writer.h"
#include "agent/bundle_sync.h"
#include "agent/capture.h"
#include "agent/metrics.h"
#include "agent/node_reporter.h"
#include "agent/pod_metadata.h"
#include "agent/probe.h"
#include "agent/rule_files.h"
#include "agent/sink_sync.h"
#include "common/alerts/dispatcher.h"
#include "common/bundle/bundle.h"
#include "common/http/server.h"
#include "common/k8s/client_config.h"
#include "common/k8s/curl_client.h"
#include "common/k8s/resource.h"
#include "common/k8s/watcher.h"
#include "fmt/format.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace vigil::agent {
namespace {

void log_loaded(const LoadedRules& r, const AgentConfig& config) {
  for (const auto& w : r.warnings) spdlog::warn("{}", w);
  spdlog::info("Loaded {} syscall rules from {} file(s){}{}", r.syscall_rules, r.files.size(),
               config.default_rules ? " and the default rules" : "",
               r.other_rules > 0 ? fmt::format(" ({} rules of other sources are not evaluated "
                                               "by the agent)",
                                               r.other_rules)
                                 : "");
}

// The newest bundle ConfigMap the watch delivered, handed from the watcher thread to the main
// loop, which compiles it (compiling on the watcher thread would delay the watch).
class ClusterState {
 public:
  void offer(k8s::WatchEventType type, const std::string& json) {
    std::lock_guard lock(mu_);
    if (type == k8s::WatchEventType::kDeleted) {
      deleted_ = true;
      return;
    }
    pending_ = json;
    deleted_ = false;
  }
  // The ConfigMap to compile, if one arrived since the last call.
  std::optional<std::string> take(bool& deleted) {
    std::lock_guard lock(mu_);
    deleted = std::exchange(deleted_, false);
    return std::exchange(pending_, std::nullopt);
  }
  void offer_secret(k8s::WatchEventType type, const std::string& json) {
    std::lock_guard lock(mu_);
    pending_secret_ = type == k8s::WatchEventType::kDeleted ? std::string() : json;
  }
  std::optional<std::string> take_secret() {
    std::lock_guard lock(mu_);
    return std::exchange(pending_secret_, std::nullopt);
  }
  bool applied() const { return applied_.load(); }
  void set_applied(int64_t generation) {
    generation_.store(generation);
    applied_.store(true);
  }
  int64_t generation() const { return generation_.load(); }
  void count_refused() { refused_.fetch_add(1); }
  uint64_t refused() const { return refused_.load(); }
  BundleReport report;    // main thread only
  std::string configmap;  // main thread only: the newest bundle ConfigMap and credentials
  std::string secret;

 private:
  std::mutex mu_;
  std::optional<std::string> pending_;
  std::optional<std::string> pending_secret_;
  bool deleted_ = false;
  std::atomic<bool> applied_{false};
  std::atomic<int64_t> generation_{0};
  std::atomic<uint64_t> refused_{0};
};

// The bundle's AlertSinks into the dispatcher; a sink that cannot be built is left out (logged).
void apply_sinks(const ClusterState& cluster, const AgentConfig& config,
                 alerts::Dispatcher& dispatcher) {
  BundleSinks sinks = build_bundle_sinks(cluster.configmap, cluster.secret);
  if (!sinks.error.empty()) {
    spdlog::error("AlertSinks not updated: {}", sinks.error);
    return;
  }
  for (const auto& e : sinks.errors) spdlog::error("AlertSink left out: {}", e);
  spdlog::info("Delivering to {} AlertSink(s)", sinks.targets.size());
  dispatcher.configure(std::move(sinks.targets), config.ns);
}

void apply_bundle(ClusterState& cluster, const AgentConfig& config, Capture& capture,
                  NodeReporter& reporter, alerts::Dispatcher& dispatcher) {
  bool deleted = false;
  auto json = cluster.take(deleted);
  if (deleted) {
    spdlog::warn("The bundle ConfigMap {}/{} was deleted; the current rules stay in effect",
                 config.ns, bundle::kConfigMapName);
  }
  auto secret = cluster.take_secret();
  if (secret) cluster.secret = std::move(*secret);
  if (json) cluster.configmap = *json;
  if ((json || secret) && !cluster.configmap.empty()) apply_sinks(cluster, config, dispatcher);
  if (!json) return;
  const auto t0 = std::chrono::steady_clock::now();
  CompiledBundle b = compile_bundle(*json, config.ns);
  BundleReport& r = cluster.report;
  if (!b.error.empty()) {
    spdlog::error("Bundle generation {} refused; {}:\n{}", b.generation,
                  r.applied ? "generation " + std::to_string(r.generation) + " keeps running"
                            : "no rules run until a good bundle arrives",
                  b.error);
    r.error = "generation " + std::to_string(b.generation) + ": " + b.error;
    cluster.count_refused();
    reporter.set_bundle(r);
    return;
  }
  if (r.applied && b.hash == r.hash && b.generation == r.generation && r.error.empty()) return;
  const uint64_t gen = capture.swap_rules(b.rule_set);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  spdlog::info("Applied bundle generation {}: {} syscall rules (compiled in {} ms, rule set {})",
               b.generation, b.syscall_rules, ms, gen);
  for (const auto& t : capture.uncaptured_types()) {
    spdlog::warn("Rules use evt.type={} which the agent does not capture", t);
  }
  r.applied = true;
  r.generation = b.generation;
  r.hash = b.hash;
  r.applied_time =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  r.rules = std::move(b.rules);
  r.error.clear();
  cluster.set_applied(r.generation);
  reporter.set_bundle(r);
}

}  // namespace

int run_agent(const AgentConfig& config) {
  auto level = spdlog::level::from_str(config.log_level);
  // Logs go to stderr; stdout carries alerts only. Every logger (probe, ...) shares the format.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "vigil-agent", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  spdlog::set_level(level);

  std::shared_ptr<const rules::RuleSet> initial_rules;
  if (config.cluster_mode()) {
    // The rules come from the bundle; capture starts at once (process table warm) with none.
    initial_rules = empty_rule_set();
    if (config.validate_only) {
      std::fprintf(stderr, "vigil-agent: --validate checks rule files; not in cluster mode\n");
      return 2;
    }
  } else {
    auto loaded = load_rules(config);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\nvigil-agent: the rules failed to compile; nothing was started\n",
                   loaded.error().c_str());
      return 1;
    }
    log_loaded(*loaded, config);
    if (config.validate_only) {
      std::printf("%zu syscall rules OK (%zu files%s)\n", loaded->syscall_rules,
                  loaded->files.size(), config.default_rules ? " and the default rules" : "");
      return 0;
    }
    if (loaded->syscall_rules == 0) {
      spdlog::warn("No syscall rule is enabled: the agent captures process state only");
    }
    initial_rules = loaded->rule_set;
  }

  // Cluster mode: the API client first, so a bad kubeconfig fails before BPF is loaded.
  std::unique_ptr<k8s::Client> client;
  if (config.cluster_mode()) {
    auto cfg = k8s::load_client_config(
        config.kubeconfig.empty() ? std::nullopt : std::optional<std::string>(config.kubeconfig));
    if (!cfg.ok()) {
      std::fprintf(stderr, "vigil-agent: no Kubernetes client configuration: %s\n",
                   cfg.error().c_str());
      return 1;
    }
    auto c = k8s::CurlClient::from_config(*cfg);
    if (!c.ok()) {
      std::fprintf(stderr, "vigil-agent: cannot create the Kubernetes client: %s\n",
                   c.error().c_str());
      return 1;
    }
    client = std::move(c).value();
    spdlog::info("Cluster mode: node {}, bundle {}/{}, API server from {}", config.node_name,
                 config.ns, bundle::kConfigMapName, cfg->source);
  }

  // Signals are handled synchronously by this thread; every thread started below inherits the
  // mask, so none of them is interrupted.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Cluster mode: alerts also go to the bundle's AlertSinks, delivered off the detection path.
  std::unique_ptr<alerts::Dispatcher> dispatcher;
  if (config.cluster_mode()) {
    alerts::DispatcherOptions dopts;
    dopts.spool_dir = config.spool_dir;
    dopts.hostname = config.hostname;
    dispatcher = std::make_unique<alerts::Dispatcher>(dopts);
  }
  AlertWriterOptions wopts;
  if (dispatcher) {
    alerts::Dispatcher* d = dispatcher.get();
    wopts.forward = [d](const alerts::Alert& a) { d->submit(a); };
  }
  wopts.to_stdout = config.stdout_alerts;
  wopts.stdout_format = config.stdout_format;
  wopts.file = config.output_file;
  wopts.queue_limit = config.alert_queue;
  auto writer = AlertWriter::start(wopts);
  if (!writer.ok()) {
    std::fprintf(stderr, "vigil-agent: %s\n", writer.error().c_str());
    return 1;
  }

  std::unique_ptr<PodMetadataCache> pods;
  if (client) pods = std::make_unique<PodMetadataCache>();
  auto capture = Capture::start(config, initial_rules, **writer, pods.get());
  if (!capture.ok()) {
    std::fprintf(stderr, "vigil-agent: %s\n", capture.error().c_str());
    return 3;
  }
  for (const auto& t : (*capture)->uncaptured_types()) {
    spdlog::warn(
        "Rules use evt.type={} which the agent does not capture; those conditions "
        "never match",
        t);
  }
  const auto& probe = (*capture)->probe();
  spdlog::info("Attached {} BPF programs{}", probe.attached().size(),
               probe.skipped().empty()
                   ? std::string()
                   : fmt::format(" ({} skipped: no such tracepoint on this kernel)",
                                 probe.skipped().size()));

  // Cluster mode: the bundle, this node's pods, and the NodeAgent report.
  ClusterState cluster;
  std::unique_ptr<k8s::Watcher> bundle_watch, pod_watch, secret_watch;
  std::unique_ptr<NodeReporter> reporter;
  if (client) {
    k8s::WatcherOptions bo;
    bo.resource = k8s::configmaps();
    bo.ns = config.ns;
    bo.field_selector = "metadata.name=" + std::string(bundle::kConfigMapName);
    bundle_watch = std::make_unique<k8s::Watcher>(
        *client, bo, [&cluster](k8s::WatchEventType type, const std::string& json) {
          cluster.offer(type, json);
        });
    k8s::WatcherOptions po;
    po.resource = k8s::pods();
    po.field_selector = "spec.nodeName=" + config.node_name;
    PodMetadataCache* cache = pods.get();
    pod_watch = std::make_unique<k8s::Watcher>(
        *client, po, [cache](k8s::WatchEventType type, const std::string& json) {
          cache->on_pod_event(type, json);
        });
    k8s::WatcherOptions so;
    so.resource = k8s::secrets();
    so.ns = config.ns;
    so.field_selector = "metadata.name=" + std::string(bundle::kSecretName);
    secret_watch = std::make_unique<k8s::Watcher>(
        *client, so, [&cluster](k8s::WatchEventType type, const std::string& json) {
          cluster.offer_secret(type, json);
        });
    NodeReporterOptions ro;
    ro.node_name = config.node_name;
    ro.dispatcher = dispatcher.get();
    ro.heartbeat = std::chrono::seconds(config.heartbeat_seconds);
    ro.min_interval = std::chrono::seconds(config.report_seconds);
    reporter = std::make_unique<NodeReporter>(*client, ro, **capture, **writer);
    reporter->set_bundle(BundleReport{});
    // The credentials first, so the first bundle finds its sinks' Secret values.
    secret_watch->start();
    secret_watch->wait_for_sync(std::chrono::seconds(5));
    bundle_watch->start();
    pod_watch->start();
    reporter->start();
  }

  std::unique_ptr<http::HttpServer> server;
  if (config.health_enabled) {
    Capture* cap = capture->get();
    AlertWriter* w = writer->get();
    http::ServerOptions sopts;
    sopts.address = config.health_address;
    sopts.port = config.health_port;
    sopts.body_limit = 4096;
    sopts.name = "agent-health";
    auto healthz = [cap](const http::Request&) {
      http::Response r;
      const bool ok = cap->healthy(5000);
      r.status = ok ? 200 : 503;
      r.body = ok ? "ok\n" : "capture thread stalled\n";
      return r;
    };
    ClusterState* cs = client ? &cluster : nullptr;
    auto readyz = [cap, cs](const http::Request&) {
      http::Response r;
      const bool capturing = cap->healthy(5000);
      const bool bundled = !cs || cs->applied();
      r.status = capturing && bundled ? 200 : 503;
      r.body = !capturing ? "capture thread stalled\n"
               : !bundled ? "no bundle applied yet\n"
                          : "ok\n";
      return r;
    };
    auto started = http::HttpServer::start(
        sopts,
        {http::route("GET", "/healthz", healthz), http::route("GET", "/readyz", readyz),
         http::route("GET", "/metrics",
                     [cap, w, cs, &pods, &reporter, disp = dispatcher.get()](const http::Request&) {
                       http::Response r;
                       r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                       r.body = render_metrics(*cap, *w);
                       if (cs) {
                         ClusterMetrics m;
                         m.bundle_generation = cs->generation();
                         m.bundle_refused = cs->refused();
                         const auto rs = reporter->stats();
                         m.report_writes = rs.writes;
                         m.report_failures = rs.failures;
                         const auto ps = pods->stats();
                         m.pods = ps.pods;
                         m.pod_containers = ps.containers;
                         m.pod_parse_errors = ps.parse_errors;
                         m.pod_lookup_misses = ps.lookup_misses;
                         if (disp) {
                           for (const auto& d : disp->stats()) {
                             m.sinks.push_back(ClusterMetrics::Sink{
                                 d.ns + "/" + d.name, d.delivered, d.failed, d.queued, d.dropped});
                           }
                         }
                         r.body += render_cluster_metrics(m);
                       }
                       return r;
                     })});
    if (!started.ok()) {
      std::fprintf(stderr, "vigil-agent: starting the health server on %s:%u failed: %s\n",
                   config.health_address.c_str(), config.health_port, started.error().c_str());
      return 1;
    }
    server = std::move(started).value();
  }
  spdlog::info("Capturing{}, health and metrics on {}",
               client ? " (rules arrive with the bundle)" : "",
               server ? fmt::format("http://{}:{}/", config.health_address, server->port())
                      : std::string("(off)"));

  uint64_t fingerprint = rule_files_fingerprint(config);
  auto last_check = std::chrono::steady_clock::now();
  uint64_t pod_errors = 0;
  int exit_code = 0;
  for (;;) {
    timespec timeout = client ? timespec{0, 100 * 1000 * 1000} : timespec{1, 0};
    const int sig = sigtimedwait(&sigs, nullptr, &timeout);
    bool reload = false;
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("Received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (client) {
      // Cluster mode: a new bundle replaces the rules; files and SIGHUP do not apply.
      if (sig == SIGHUP) spdlog::info("Received SIGHUP; in cluster mode rules follow the bundle");
      apply_bundle(cluster, config, **capture, *reporter, *dispatcher);
      const auto t = std::chrono::steady_clock::now();
      if (t - last_check >= std::chrono::seconds(5)) {
        last_check = t;
        pods->expire();  // ids of deleted pods past their grace period
        const uint64_t errors = pods->stats().parse_errors;
        if (errors > pod_errors) {
          spdlog::warn("{} pod object(s) from the watch did not parse; the last: {}",
                       errors - pod_errors, pods->last_error());
          pod_errors = errors;
        }
      }
      continue;
    }
    if (sig == SIGHUP) {
      spdlog::info("Received SIGHUP, reloading rules");
      reload = true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!reload && config.rules_poll_seconds > 0 &&
        now - last_check >= std::chrono::seconds(config.rules_poll_seconds)) {
      last_check = now;
      const uint64_t fp = rule_files_fingerprint(config);
      if (fp != fingerprint) {
        spdlog::info("Rule files changed, reloading rules");
        reload = true;
      }
    }
    if (!reload) continue;
    fingerprint = rule_files_fingerprint(config);
    auto next = load_rules(config);
    if (!next.ok()) {
      spdlog::error("Reloading rules failed; the previous rules stay in effect:\n{}", next.error());
      continue;
    }
    for (const auto& w : next->warnings) spdlog::warn("{}", w);
    const uint64_t gen = (*capture)->swap_rules(next->rule_set);
    spdlog::info("Reloaded rules: {} syscall rules, generation {}", next->syscall_rules, gen);
    for (const auto& t : (*capture)->uncaptured_types()) {
      spdlog::warn("Rules use evt.type={} which the agent does not capture", t);
    }
  }

  if (client) {
    bundle_watch->stop();
    secret_watch->stop();
    pod_watch->stop();
  }
  (*capture)->stop();
  (*writer)->stop();
  if (dispatcher) {
    // A moment to deliver what is queued; the rest stays in the spool for the next start.
    dispatcher->flush(std::chrono::seconds(2));
    dispatcher->stop();
  }
  if (reporter) reporter->stop();  // last: the final report has the final counters
  if (server) server->stop();
  return exit_code;
}

}  // namespace vigil::agent
