#include "operator/operator.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/alerts/dispatcher.h"
#include "common/api/v1alpha1/types.h"
#include "common/audit/audit_config.h"
#include "common/base/bounded_json.h"
#include "common/bundle/bundle.h"
#include "common/http/server.h"
#include "common/k8s/events.h"
#include "common/k8s/leader_elector.h"
#include "common/k8s/resource.h"
#include "common/k8s/watcher.h"
#include "operator/audit/audit_receiver.h"
#include "operator/audit/audit_tls.h"
#include "operator/audit/receiver_report.h"
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

// What an admin needs on the API server's side, for everyone to read (no credentials): the
// audit policy, the CA bundle and the URL. The kubeconfig with the client credential stays in
// the TLS Secret. True when the ConfigMap holds `data` (written or already so).
bool publish_audit_config(k8s::Client& client, const std::string& ns,
                          const std::map<std::string, std::string>& data,
                          const std::string& owners) {
  constexpr const char* kName = "vigil-audit-config";
  nlohmann::json cm{{"apiVersion", "v1"},
                    {"kind", "ConfigMap"},
                    {"metadata",
                     {{"name", kName},
                      {"namespace", ns},
                      {"labels", {{"app.kubernetes.io/managed-by", "vigil-operator"}}}}},
                    {"data", data}};
  if (!owners.empty()) cm["metadata"]["ownerReferences"] = nlohmann::json::parse(owners);
  auto got = client.get(k8s::configmaps(), ns, kName);
  if (got.ok()) {
    const nlohmann::json cur = parse_bounded_json(*got);
    if (cur.is_object() && cur.contains("data") && cur["data"] == cm["data"]) return true;
    if (cur.is_object() && cur.contains("metadata") && cur["metadata"].is_object())
      cm["metadata"]["resourceVersion"] = cur["metadata"].value("resourceVersion", std::string());
    auto w = client.update(k8s::configmaps(), ns, kName, cm.dump());
    if (!w.ok()) spdlog::warn("Cannot update ConfigMap {}/{}: {}", ns, kName, w.error());
    return w.ok();
  }
  if (got.error_code() != k8s::kStatusNotFound) return false;
  auto w = client.create(k8s::configmaps(), ns, cm.dump());
  if (!w.ok()) spdlog::warn("Cannot create ConfigMap {}/{}: {}", ns, kName, w.error());
  return w.ok();
}

std::string local_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "vigil-operator";
  return buf;
}

}  // namespace

Result<bool> run_operator(const OperatorConfig& config, k8s::Client& client,
                          const std::atomic<bool>& stop) {
  // The owner of what this operator creates: looked up once (its uid is what the reference needs).
  std::string owners;
  if (!config.owner_service_account.empty()) {
    auto sa = client.get(k8s::service_accounts(), config.ns, config.owner_service_account);
    if (!sa.ok())
      return Error{"--owner-service-account: ServiceAccount " + config.ns + "/" +
                   config.owner_service_account + ": " + sa.error()};
    const nlohmann::json doc = parse_bounded_json(*sa);
    const std::string uid =
        doc.is_object() && doc.contains("metadata") && doc["metadata"].is_object()
            ? doc["metadata"].value("uid", std::string())
            : std::string();
    if (uid.empty()) return Error{"ServiceAccount " + config.owner_service_account + " has no uid"};
    owners = nlohmann::json::array({{{"apiVersion", "v1"},
                                     {"kind", "ServiceAccount"},
                                     {"name", config.owner_service_account},
                                     {"uid", uid}}})
                 .dump();
  }
  Metrics metrics;
  Trigger trigger(config.node_report_debounce);
  auto on_change = [&](k8s::WatchEventType, const std::string&) { trigger.notify(); };
  k8s::Watcher rules_watch(client, k8s::WatcherOptions{security_rules(), ""}, on_change);
  k8s::Watcher sinks_watch(client, k8s::WatcherOptions{alert_sinks(), ""}, on_change);
  k8s::Watcher nodes_watch(client, k8s::WatcherOptions{node_agents(), ""},
                           [&](k8s::WatchEventType, const std::string&) { trigger.notify_soft(); });
  k8s::WatcherOptions receivers_options{k8s::configmaps(), config.ns};
  receivers_options.label_selector = std::string(kReceiverLabel) + "=true";
  k8s::Watcher receivers_watch(
      client, receivers_options,
      [&](k8s::WatchEventType, const std::string&) { trigger.notify_soft(); });

  // The audit webhook receiver: TLS material, the evaluator, its own sink dispatcher, and the
  // report of what it did.
  const std::string identity =
      config.identity.empty() ? k8s::default_leader_identity() : config.identity;
  const std::string hostname = local_hostname();
  std::unique_ptr<alerts::Dispatcher> audit_dispatcher;
  std::unique_ptr<AuditReceiver> receiver;
  std::unique_ptr<http::HttpServer> audit_server;
  std::unique_ptr<ReceiverReporter> reporter;
  std::map<std::string, std::string> audit_config_data;
  AuditTlsOptions tls_options;
  std::optional<AuditTlsMaterial> tls_material;
  if (config.audit_enabled) {
    AuditReceiverOptions ro;
    ro.max_body_bytes = config.audit_max_body;
    ro.cluster_name = config.cluster_name;
    ro.hostname = hostname;
    ro.allow_unauthenticated = config.audit_allow_unauthenticated;
    http::ServerOptions so;
    so.address = config.audit_address;
    so.port = config.audit_port;
    so.body_limit = config.audit_max_body;
    so.read_timeout = std::chrono::milliseconds(25000);  // the API server gives up after 30 s
    so.write_timeout = std::chrono::milliseconds(10000);
    so.idle_timeout = std::chrono::milliseconds(90000);
    so.threads = 2;
    so.name = "audit";
    audit::AuditPolicyOptions policy;
    audit_config_data["audit-policy.yaml"] = audit::render_audit_policy(policy);
    if (config.audit_tls) {
      tls_options.ns = config.ns;
      tls_options.secret_name = config.audit_tls_secret;
      tls_options.service = config.audit_service;
      tls_options.service_port = config.audit_service_port;
      tls_options.extra_names = config.audit_tls_names;
      tls_options.owner_references_json = owners;
      auto material = ensure_audit_tls(client, tls_options);
      if (!material.ok()) return Error{"audit receiver TLS: " + material.error()};
      tls_material = *material;
      so.tls =
          http::TlsOptions{material->cert_pem, material->key_pem, material->client_ca_pem, false};
      if (!material->token.empty()) ro.tokens.push_back(material->token);
      if (!material->ca_pem.empty()) audit_config_data["ca.crt"] = material->ca_pem;
      audit::WebhookOptions w;
      w.service = config.audit_service;
      w.ns = config.ns;
      w.port = config.audit_service_port;
      audit_config_data["webhook-url"] = audit::webhook_url(w);
      audit_config_data["credentials"] =
          "Secret " + config.ns + "/" + config.audit_tls_secret +
          " key webhook-kubeconfig.yaml holds the API server's --audit-webhook-config-file "
          "(vigilctl audit-config --from-cluster writes it)";
    }
    audit_dispatcher =
        std::make_unique<alerts::Dispatcher>(alerts::DispatcherOptions{.hostname = hostname});
    receiver = std::make_unique<AuditReceiver>(std::move(ro), audit_dispatcher.get());
    auto handler = [r = receiver.get()](const http::Request& req) { return r->handle(req); };
    // Callers are authenticated before their body is read.
    so.before_body = [r = receiver.get()](const http::Request& req) { return r->check_head(req); };
    auto started = http::HttpServer::start(
        so, {http::route("POST", std::string(audit::kAuditPath), handler),
             http::route("POST", std::string(audit::kAuditPathAlt), handler)});
    if (!started.ok()) return Error{"audit receiver: " + started.error()};
    audit_server = std::move(started.value());
    spdlog::info("Serving the audit webhook on {}://{}:{} at {} and {}",
                 config.audit_tls ? "https" : "http", config.audit_address, audit_server->port(),
                 audit::kAuditPath, audit::kAuditPathAlt);
    reporter = std::make_unique<ReceiverReporter>(
        client,
        ReceiverReporter::Options{config.ns, identity, config.receiver_report_interval,
                                  std::chrono::seconds(30), owners},
        *receiver, [d = audit_dispatcher.get()] { return d->stats(); });
  }

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
         std::string text = metrics_text(metrics);
         if (receiver) text += receiver->metrics_text();
         return http::Response{200, "text/plain; version=0.0.4", std::move(text), {}};
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
    lc.owner_references_json = owners;
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
  receivers_watch.start();
  if (elector) elector->start();
  if (reporter) reporter->start();
  std::string receiver_rules_signature = "-", receiver_sinks_signature = "-";
  bool audit_config_published = false;
  // The TLS Secret is looked at again now and then: renewed before expiry (by this or another
  // replica) or replaced by its owner (cert-manager, an admin), it is served without a restart.
  constexpr auto kTlsRecheck = std::chrono::minutes(10);
  auto next_tls_check = std::chrono::steady_clock::now() + kTlsRecheck;

  k8s::EventRecorder events(client, "vigil-operator");
  SecurityRuleController rule_controller(client, config.ns, &events);
  AlertSinkController sink_controller(client);
  BundlePublisher publisher(client, config.ns, owners);
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
    if (!rules_watch.has_synced() || !sinks_watch.has_synced() || !nodes_watch.has_synced() ||
        !receivers_watch.has_synced()) {
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
    std::vector<std::shared_ptr<const api::NodeAgent>> receivers;
    for (const auto& [key, obj] : receivers_watch.snapshot()) {
      auto r = parse_receiver_configmap(*obj.object);
      if (r.ok()) receivers.push_back(std::make_shared<const api::NodeAgent>(std::move(*r)));
    }
    const NodeStatusIndex nodes(agent_cache.refresh(nodes_watch), now, config.node_stale,
                                std::move(receivers));
    const auto clock = std::chrono::steady_clock::now();
    limiter.prune(clock);
    const StatusInputs inputs{&nodes, &bundle_history, &limiter, clock};
    auto rules = rule_controller.reconcile(objects_of(rules_watch), leader, now, inputs);
    auto sinks = sink_controller.reconcile(objects_of(sinks_watch), leader, now, inputs);
    if (tls_material && std::chrono::steady_clock::now() >= next_tls_check) {
      next_tls_check = std::chrono::steady_clock::now() + kTlsRecheck;
      auto material = ensure_audit_tls(client, tls_options);
      if (!material.ok()) {
        spdlog::warn("Cannot check the audit receiver's TLS Secret: {}", material.error());
      } else if (material->cert_pem != tls_material->cert_pem ||
                 material->key_pem != tls_material->key_pem ||
                 material->client_ca_pem != tls_material->client_ca_pem ||
                 material->token != tls_material->token) {
        auto reloaded = audit_server->reload_tls(http::TlsOptions{
            material->cert_pem, material->key_pem, material->client_ca_pem, false});
        if (reloaded.ok()) {
          receiver->set_tokens(material->token.empty() ? std::vector<std::string>{}
                                                       : std::vector<std::string>{material->token});
          if (!material->ca_pem.empty()) audit_config_data["ca.crt"] = material->ca_pem;
          audit_config_published = false;
          tls_material = *material;
          spdlog::info("The audit receiver serves the renewed certificate from Secret {}/{}",
                       config.ns, config.audit_tls_secret);
        } else {
          spdlog::error("The audit receiver keeps its certificate: Secret {}/{}: {}", config.ns,
                        config.audit_tls_secret, reloaded.error());
        }
      }
    }
    if (receiver) {
      // Every replica evaluates audit events with the accepted rules and delivers to the
      // accepted sinks; each is rebuilt only when it changes.
      // A rule's generation changes with its spec, so the accepted rules' identities and
      // generations say when the rule set must be rendered and compiled again; the same input
      // compiles (or fails) the same way, so it is not tried twice.
      std::string signature;
      for (const auto& r : rules.bundle_rules)
        signature += r.ns + "/" + r.name + "@" + std::to_string(r.generation) + ";";
      if (signature != receiver_rules_signature) {
        receiver_rules_signature = std::move(signature);
        if (auto set = compile_receiver_rules(bundle::render_bundle(rules.bundle_rules, {}).rules,
                                              config.ns))
          receiver->set_rules(std::move(set));
      }
      if (sinks.targets_signature != receiver_sinks_signature) {
        audit_dispatcher->configure(std::move(sinks.targets), config.ns);
        receiver_sinks_signature = sinks.targets_signature;
      }
    }
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
    if (!audit_config_published && !audit_config_data.empty())
      audit_config_published = publish_audit_config(client, config.ns, audit_config_data, owners);
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
  if (audit_server) audit_server->stop();
  if (receiver) receiver->stop();  // evaluates what was accepted
  if (audit_dispatcher) audit_dispatcher->flush(std::chrono::seconds(5));
  if (reporter) reporter->stop();  // the last report, with the final counts
  if (audit_dispatcher) audit_dispatcher->stop();
  receivers_watch.stop();
  if (elector) elector->stop();  // releases the Lease so a standby takes over at once
  rules_watch.stop();
  sinks_watch.stop();
  nodes_watch.stop();
  server.value()->stop();
  return true;
}

}  // namespace vigil::op
