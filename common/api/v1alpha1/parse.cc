// Reading SecurityRule, AlertSink and NodeAgent objects from the JSON the API server returns.
// The text is untrusted (a user can put anything the CRD lets through, and files read by
// vigilctl have been through nothing): every access checks the JSON type, the first problem
// becomes the Error with its field path, and no exception leaves this file.

#include <limits>
#include <span>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/api/v1alpha1/types.h"
#include "common/base/json_depth.h"

namespace vigil::api::v1alpha1 {
namespace {

using Json = nlohmann::json;

// nlohmann's parser is iterative, but a deeply nested value is still expensive to build and to
// destroy; no Vigil object nests deeper than a few levels.
constexpr int kMaxDepth = 64;

bool too_deep(std::string_view text) { return !json_nesting_within(text, kMaxDepth); }

template <typename E>
using EnumTable = std::span<const std::pair<std::string_view, E>>;

constexpr std::pair<std::string_view, RuleSource> kSources[] = {
    {"syscall", RuleSource::kSyscall}, {"k8s_audit", RuleSource::kK8sAudit}};
constexpr std::pair<std::string_view, rules::Priority> kPriorities[] = {
    {"Emergency", rules::Priority::kEmergency},
    {"Alert", rules::Priority::kAlert},
    {"Critical", rules::Priority::kCritical},
    {"Error", rules::Priority::kError},
    {"Warning", rules::Priority::kWarning},
    {"Notice", rules::Priority::kNotice},
    {"Informational", rules::Priority::kInformational},
    {"Debug", rules::Priority::kDebug}};
constexpr std::pair<std::string_view, rules::RuleMode> kModes[] = {
    {"Alert", rules::RuleMode::kAlert}, {"DryRun", rules::RuleMode::kDryRun}};
constexpr std::pair<std::string_view, ConditionStatus> kConditionStatuses[] = {
    {"True", ConditionStatus::kTrue},
    {"False", ConditionStatus::kFalse},
    {"Unknown", ConditionStatus::kUnknown}};
constexpr std::pair<std::string_view, SinkType> kSinkTypes[] = {
    {"stdout", SinkType::kStdout},
    {"file", SinkType::kFile},
    {"webhook", SinkType::kWebhook},
    {"slack", SinkType::kSlack},
    {"falcosidekick", SinkType::kFalcosidekick},
    {"alertmanager", SinkType::kAlertmanager}};
constexpr std::pair<std::string_view, AlertFormat> kAlertFormats[] = {{"json", AlertFormat::kJson},
                                                                      {"text", AlertFormat::kText}};
constexpr std::pair<std::string_view, WebhookFormat> kWebhookFormats[] = {
    {"falco", WebhookFormat::kFalco}, {"batch", WebhookFormat::kBatch}};
constexpr std::pair<std::string_view, HttpMethod> kMethods[] = {{"POST", HttpMethod::kPost},
                                                                {"PUT", HttpMethod::kPut}};
constexpr std::pair<std::string_view, FsyncPolicy> kFsyncPolicies[] = {
    {"Never", FsyncPolicy::kNever}, {"EveryAlert", FsyncPolicy::kEveryAlert}};
constexpr std::pair<std::string_view, ProbeState> kProbeStates[] = {
    {"Starting", ProbeState::kStarting},
    {"Running", ProbeState::kRunning},
    {"Failed", ProbeState::kFailed},
    {"Unsupported", ProbeState::kUnsupported}};

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Reads fields of JSON objects into C++ values. The first problem is kept in error(); after it
// every read is a no-op, so callers read on and check once at the end.
class Reader {
 public:
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // An empty path is the whole document.
  void fail(const std::string& path, const std::string& message) {
    if (error_.empty()) error_ = path.empty() ? ": " + message : " " + path + ": " + message;
  }

  // The member, or nullptr when absent or null (the API server never stores nulls; a null in a
  // file means "not set").
  const Json* member(const Json& obj, std::string_view key) {
    if (failed() || !obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
  }

  const Json* object(const Json& obj, std::string_view key, const std::string& path) {
    const Json* v = member(obj, key);
    if (v && !v->is_object()) {
      fail(join(path, key), "must be an object");
      return nullptr;
    }
    return v;
  }

  const Json* array(const Json& obj, std::string_view key, const std::string& path) {
    const Json* v = member(obj, key);
    if (v && !v->is_array()) {
      fail(join(path, key), "must be a list");
      return nullptr;
    }
    return v;
  }

  bool string(const Json& obj, std::string_view key, const std::string& path, std::string& out) {
    const Json* v = member(obj, key);
    if (!v) return false;
    if (!v->is_string()) {
      fail(join(path, key), "must be a string");
      return false;
    }
    out = v->get_ref<const std::string&>();
    return true;
  }

  void boolean(const Json& obj, std::string_view key, const std::string& path, bool& out) {
    const Json* v = member(obj, key);
    if (!v) return;
    if (!v->is_boolean()) {
      fail(join(path, key), "must be true or false");
      return;
    }
    out = v->get<bool>();
  }

  template <typename Int>
  bool integer(const Json& obj, std::string_view key, const std::string& path, Int& out) {
    const Json* v = member(obj, key);
    if (!v) return false;
    if (v->is_number_unsigned()) {
      const auto u = v->get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<Int>::max())) {
        fail(join(path, key), "is out of range");
        return false;
      }
      out = static_cast<Int>(u);
      return true;
    }
    if (v->is_number_integer()) {
      const auto s = v->get<int64_t>();
      if (s < static_cast<int64_t>(std::numeric_limits<Int>::min()) ||
          s > static_cast<int64_t>(std::numeric_limits<Int>::max())) {
        fail(join(path, key), "is out of range");
        return false;
      }
      out = static_cast<Int>(s);
      return true;
    }
    fail(join(path, key), "must be an integer");
    return false;
  }

  template <typename Int>
  void optional_integer(const Json& obj, std::string_view key, const std::string& path,
                        std::optional<Int>& out) {
    Int v{};
    if (integer(obj, key, path, v)) out = v;
  }

  void time(const Json& obj, std::string_view key, const std::string& path,
            std::optional<Time>& out) {
    std::string s;
    if (!string(obj, key, path, s)) return;
    auto t = parse_time(s);
    if (!t) {
      fail(join(path, key),
           "must be an RFC 3339 time like 2026-01-02T15:04:05Z, got \"" + s.substr(0, 64) + "\"");
      return;
    }
    out = *t;
  }

  void string_list(const Json& obj, std::string_view key, const std::string& path,
                   std::vector<std::string>& out) {
    if (const Json* a = array(obj, key, path)) strings(*a, join(path, key), out);
  }

  void strings(const Json& a, const std::string& path, std::vector<std::string>& out) {
    if (failed()) return;
    if (!a.is_array()) {
      fail(path, "must be a list");
      return;
    }
    for (size_t i = 0; i < a.size(); ++i) {
      const Json& e = a[i];
      if (!e.is_string()) {
        fail(index(path, i), "must be a string");
        return;
      }
      out.push_back(e.get_ref<const std::string&>());
    }
  }

  void string_map(const Json& obj, std::string_view key, const std::string& path,
                  std::map<std::string, std::string>& out) {
    const Json* m = object(obj, key, path);
    if (!m) return;
    for (const auto& [k, v] : m->items()) {
      if (!v.is_string()) {
        fail(join(join(path, key), k), "must be a string");
        return;
      }
      out[k] = v.get_ref<const std::string&>();
    }
  }

  template <typename E>
  bool enumeration(const Json& obj, std::string_view key, const std::string& path, E& out,
                   EnumTable<E> table) {
    std::string s;
    if (!string(obj, key, path, s)) return false;
    return enum_value(s, join(path, key), out, table);
  }

  template <typename E>
  bool enum_value(const std::string& s, const std::string& path, E& out, EnumTable<E> table) {
    for (const auto& [name, value] : table) {
      if (s == name) {
        out = value;
        return true;
      }
    }
    std::string allowed;
    for (const auto& [name, value] : table) {
      if (!allowed.empty()) allowed += ", ";
      allowed += name;
    }
    fail(path, "unsupported value \"" + s.substr(0, 64) + "\" (one of " + allowed + ")");
    return false;
  }

  // Calls f(item, item_path) for each element, which must be an object.
  template <typename F>
  void objects(const Json& obj, std::string_view key, const std::string& path, F f) {
    const Json* a = array(obj, key, path);
    if (!a) return;
    const std::string p = join(path, key);
    for (size_t i = 0; i < a->size() && !failed(); ++i) {
      const Json& e = (*a)[i];
      if (!e.is_object()) {
        fail(index(p, i), "must be an object");
        return;
      }
      f(e, index(p, i));
    }
  }

 private:
  std::string error_;
};

// ---------------------------------------------------------------------------------------------

void read_meta(Reader& r, const Json& root, ObjectMeta& m) {
  const Json* meta = r.object(root, "metadata", "");
  if (!meta) {
    r.fail("metadata", "required");
    return;
  }
  r.string(*meta, "name", "metadata", m.name);
  if (!r.failed() && m.name.empty()) r.fail("metadata.name", "required");
  r.string(*meta, "namespace", "metadata", m.namespace_);
  r.string(*meta, "uid", "metadata", m.uid);
  r.integer(*meta, "generation", "metadata", m.generation);
  r.string(*meta, "resourceVersion", "metadata", m.resource_version);
  r.string_map(*meta, "labels", "metadata", m.labels);
  r.string_map(*meta, "annotations", "metadata", m.annotations);
}

void read_conditions(Reader& r, const Json& status, const std::string& path,
                     std::vector<Condition>& out) {
  r.objects(status, "conditions", path, [&](const Json& c, const std::string& p) {
    Condition cond;
    if (!r.string(c, "type", p, cond.type) && !r.failed()) r.fail(join(p, "type"), "required");
    if (!r.enumeration(c, "status", p, cond.status,
                       EnumTable<ConditionStatus>(kConditionStatuses)) &&
        !r.failed()) {
      r.fail(join(p, "status"), "required");
    }
    r.integer(c, "observedGeneration", p, cond.observed_generation);
    std::optional<Time> t;
    r.time(c, "lastTransitionTime", p, t);
    if (t) cond.last_transition_time = *t;
    r.string(c, "reason", p, cond.reason);
    r.string(c, "message", p, cond.message);
    out.push_back(std::move(cond));
  });
}

// Checks the envelope and returns the parsed root object, or fails.
Json parse_root(Reader& r, std::string_view json, std::string_view kind) {
  if (too_deep(json)) {
    r.fail("", "nested more than " + std::to_string(kMaxDepth) + " levels");
    return Json();
  }
  Json root = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    r.fail("", "not valid JSON");
    return Json();
  }
  if (!root.is_object()) {
    r.fail("", "must be a JSON object");
    return Json();
  }
  std::string api_version, k;
  if (r.string(root, "apiVersion", "", api_version) && api_version != kApiVersion) {
    r.fail("apiVersion",
           "must be " + std::string(kApiVersion) + ", got \"" + api_version.substr(0, 64) + "\"");
  }
  if (r.string(root, "kind", "", k) && k != kind) {
    r.fail("kind", "must be " + std::string(kind) + ", got \"" + k.substr(0, 64) + "\"");
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// SecurityRule

void read_security_rule(Reader& r, const Json& root, SecurityRule& rule) {
  read_meta(r, root, rule.metadata);
  const Json* spec = r.object(root, "spec", "");
  if (!spec) {
    r.fail("spec", "required");
    return;
  }
  const std::string sp = "spec";
  SecurityRuleSpec& s = rule.spec;
  r.enumeration(*spec, "source", sp, s.source, EnumTable<RuleSource>(kSources));
  r.string(*spec, "description", sp, s.description);
  r.string(*spec, "condition", sp, s.condition);
  r.string(*spec, "output", sp, s.output);
  r.enumeration(*spec, "priority", sp, s.priority, EnumTable<rules::Priority>(kPriorities));
  r.string_list(*spec, "tags", sp, s.tags);
  r.boolean(*spec, "enabled", sp, s.enabled);
  r.enumeration(*spec, "mode", sp, s.mode, EnumTable<rules::RuleMode>(kModes));
  r.objects(*spec, "exceptions", sp, [&](const Json& e, const std::string& p) {
    RuleException ex;
    r.string(e, "name", p, ex.name);
    r.string_list(e, "fields", p, ex.fields);
    r.string_list(e, "comps", p, ex.comps);
    if (const Json* rows = r.array(e, "values", p)) {
      const std::string vp = join(p, "values");
      for (size_t i = 0; i < rows->size() && !r.failed(); ++i) {
        const Json& row = (*rows)[i];
        if (!row.is_array()) {
          r.fail(index(vp, i), "must be a list with one value per field");
          break;
        }
        std::vector<std::string> cells;
        for (size_t j = 0; j < row.size(); ++j) {
          if (!row[j].is_string()) {
            r.fail(index(index(vp, i), j),
                   "must be a string (for in, intersects and pmatch: a list's name)");
            break;
          }
          cells.push_back(row[j].get_ref<const std::string&>());
        }
        ex.values.push_back(std::move(cells));
      }
    }
    s.exceptions.push_back(std::move(ex));
  });
  r.string_map(*spec, "macros", sp, s.macros);
  if (const Json* lists = r.object(*spec, "lists", sp)) {
    for (const auto& [name, items] : lists->items()) {
      std::vector<std::string> v;
      if (!items.is_null()) r.strings(items, "spec.lists." + name, v);
      s.lists[name] = std::move(v);
    }
  }
  if (const Json* rl = r.object(*spec, "rateLimit", sp)) {
    RuleRateLimit limit;
    const std::string p = "spec.rateLimit";
    r.optional_integer(*rl, "maxAlerts", p, limit.max_alerts);
    r.optional_integer(*rl, "perSeconds", p, limit.per_seconds);
    r.integer(*rl, "dedupWindowSeconds", p, limit.dedup_window_seconds);
    s.rate_limit = limit;
  }

  const Json* status = r.object(root, "status", "");
  if (!status) return;
  const std::string st = "status";
  SecurityRuleStatus& out = rule.status;
  r.integer(*status, "observedGeneration", st, out.observed_generation);
  read_conditions(r, *status, st, out.conditions);
  if (const Json* nodes = r.object(*status, "nodes", st)) {
    r.integer(*nodes, "targeted", "status.nodes", out.nodes.targeted);
    r.integer(*nodes, "programmed", "status.nodes", out.nodes.programmed);
    r.integer(*nodes, "failed", "status.nodes", out.nodes.failed);
  }
  if (const Json* alerts = r.object(*status, "alerts", st)) {
    r.integer(*alerts, "total", "status.alerts", out.alerts.total);
    r.time(*alerts, "lastTriggered", "status.alerts", out.alerts.last_triggered);
  }
  r.string(*status, "expandedCondition", st, out.expanded_condition);
}

// ---------------------------------------------------------------------------------------------
// AlertSink

template <typename Ref>
void read_secret_ref(Reader& r, const Json& obj, std::string_view key, const std::string& path,
                     std::optional<Ref>& out) {
  const Json* o = r.object(obj, key, path);
  if (!o) return;
  Ref ref;
  const std::string p = join(path, key);
  r.string(*o, "name", p, ref.name);
  if constexpr (std::is_same_v<Ref, SecretKeyRef>) r.string(*o, "key", p, ref.key);
  out = std::move(ref);
}

void read_name_values(Reader& r, const Json& obj, std::string_view key, const std::string& path,
                      std::vector<HttpHeader>& out) {
  r.objects(obj, key, path, [&](const Json& h, const std::string& p) {
    HttpHeader header;
    r.string(h, "name", p, header.name);
    r.string(h, "value", p, header.value);
    out.push_back(std::move(header));
  });
}

void read_endpoint(Reader& r, const Json& block, const std::string& path, HttpEndpoint& e) {
  r.string(block, "url", path, e.url);
  read_name_values(r, block, "headers", path, e.headers);
  read_secret_ref(r, block, "headersSecretRef", path, e.headers_secret_ref);
  if (const Json* tls = r.object(block, "tls", path)) {
    const std::string p = join(path, "tls");
    read_secret_ref(r, *tls, "caSecretRef", p, e.tls.ca_secret_ref);
    read_secret_ref(r, *tls, "clientCertSecretRef", p, e.tls.client_cert_secret_ref);
    r.boolean(*tls, "insecureSkipVerify", p, e.tls.insecure_skip_verify);
  }
  r.integer(block, "timeoutSeconds", path, e.timeout_seconds);
}

void read_alert_sink(Reader& r, const Json& root, AlertSink& sink) {
  read_meta(r, root, sink.metadata);
  const Json* spec = r.object(root, "spec", "");
  if (!spec) {
    r.fail("spec", "required");
    return;
  }
  const std::string sp = "spec";
  AlertSinkSpec& s = sink.spec;
  if (!r.enumeration(*spec, "type", sp, s.type, EnumTable<SinkType>(kSinkTypes)) && !r.failed()) {
    r.fail("spec.type", "required");
  }
  if (const Json* b = r.object(*spec, "stdout", sp)) {
    StdoutSink out;
    r.enumeration(*b, "format", "spec.stdout", out.format, EnumTable<AlertFormat>(kAlertFormats));
    s.stdout_ = out;
  }
  if (const Json* b = r.object(*spec, "file", sp)) {
    FileSink f;
    const std::string p = "spec.file";
    r.string(*b, "path", p, f.path);
    r.enumeration(*b, "format", p, f.format, EnumTable<AlertFormat>(kAlertFormats));
    r.integer(*b, "maxSizeBytes", p, f.max_size_bytes);
    r.integer(*b, "maxFiles", p, f.max_files);
    r.enumeration(*b, "fsync", p, f.fsync, EnumTable<FsyncPolicy>(kFsyncPolicies));
    s.file = std::move(f);
  }
  if (const Json* b = r.object(*spec, "webhook", sp)) {
    WebhookSink w;
    const std::string p = "spec.webhook";
    read_endpoint(r, *b, p, w.endpoint);
    r.enumeration(*b, "method", p, w.method, EnumTable<HttpMethod>(kMethods));
    r.enumeration(*b, "format", p, w.format, EnumTable<WebhookFormat>(kWebhookFormats));
    s.webhook = std::move(w);
  }
  if (const Json* b = r.object(*spec, "slack", sp)) {
    SlackSink sl;
    const std::string p = "spec.slack";
    std::optional<SecretKeyRef> ref;
    read_secret_ref(r, *b, "webhookSecretRef", p, ref);
    if (ref) sl.webhook_secret_ref = std::move(*ref);
    r.string(*b, "channel", p, sl.channel);
    r.string(*b, "username", p, sl.username);
    r.string(*b, "iconEmoji", p, sl.icon_emoji);
    r.string(*b, "template", p, sl.template_);
    s.slack = std::move(sl);
  }
  if (const Json* b = r.object(*spec, "falcosidekick", sp)) {
    FalcosidekickSink f;
    read_endpoint(r, *b, "spec.falcosidekick", f.endpoint);
    s.falcosidekick = std::move(f);
  }
  if (const Json* b = r.object(*spec, "alertmanager", sp)) {
    AlertmanagerSink a;
    const std::string p = "spec.alertmanager";
    read_endpoint(r, *b, p, a.endpoint);
    read_name_values(r, *b, "labels", p, a.labels);
    r.integer(*b, "resolveAfterSeconds", p, a.resolve_after_seconds);
    s.alertmanager = std::move(a);
  }
  if (const Json* f = r.object(*spec, "filter", sp)) {
    const std::string p = "spec.filter";
    rules::Priority prio{};
    if (r.enumeration(*f, "minimumPriority", p, prio, EnumTable<rules::Priority>(kPriorities))) {
      s.filter.minimum_priority = prio;
    }
    r.string_list(*f, "rules", p, s.filter.rules);
    r.string_list(*f, "tags", p, s.filter.tags);
    std::vector<std::string> sources;
    r.string_list(*f, "sources", p, sources);
    for (size_t i = 0; i < sources.size() && !r.failed(); ++i) {
      RuleSource src{};
      if (r.enum_value(sources[i], index(p + ".sources", i), src, EnumTable<RuleSource>(kSources)))
        s.filter.sources.push_back(src);
    }
    r.string_list(*f, "namespaces", p, s.filter.namespaces);
  }
  if (const Json* d = r.object(*spec, "delivery", sp)) {
    const std::string p = "spec.delivery";
    Delivery& del = s.delivery;
    r.integer(*d, "retries", p, del.retries);
    if (const Json* b = r.object(*d, "backoff", p)) {
      r.integer(*b, "initialSeconds", p + ".backoff", del.backoff_initial_seconds);
      r.integer(*b, "maxSeconds", p + ".backoff", del.backoff_max_seconds);
    }
    r.integer(*d, "queueSize", p, del.queue_size);
    r.integer(*d, "dedupWindowSeconds", p, del.dedup_window_seconds);
    if (const Json* rl = r.object(*d, "rateLimit", p)) {
      DeliveryRateLimit limit;
      r.integer(*rl, "maxAlerts", p + ".rateLimit", limit.max_alerts);
      r.integer(*rl, "perSeconds", p + ".rateLimit", limit.per_seconds);
      del.rate_limit = limit;
    }
  }

  const Json* status = r.object(root, "status", "");
  if (!status) return;
  const std::string st = "status";
  AlertSinkStatus& out = sink.status;
  r.integer(*status, "observedGeneration", st, out.observed_generation);
  read_conditions(r, *status, st, out.conditions);
  r.integer(*status, "delivered", st, out.delivered);
  r.integer(*status, "failed", st, out.failed);
  r.integer(*status, "dropped", st, out.dropped);
  r.string(*status, "lastError", st, out.last_error);
  r.time(*status, "lastDeliveryTime", st, out.last_delivery_time);
}

// ---------------------------------------------------------------------------------------------
// NodeAgent

void read_node_agent(Reader& r, const Json& root, NodeAgent& agent) {
  read_meta(r, root, agent.metadata);
  const Json* spec = r.object(root, "spec", "");
  if (!spec) {
    r.fail("spec", "required");
    return;
  }
  r.string(*spec, "nodeName", "spec", agent.spec.node_name);

  const Json* status = r.object(root, "status", "");
  if (!status) return;
  const std::string st = "status";
  NodeAgentStatus& out = agent.status;
  read_conditions(r, *status, st, out.conditions);
  if (const Json* probe = r.object(*status, "probe", st)) {
    const std::string p = "status.probe";
    r.enumeration(*probe, "state", p, out.probe.state, EnumTable<ProbeState>(kProbeStates));
    r.integer(*probe, "programs", p, out.probe.programs);
    r.string(*probe, "message", p, out.probe.message);
  }
  if (const Json* bundle = r.object(*status, "bundle", st)) {
    const std::string p = "status.bundle";
    r.integer(*bundle, "generation", p, out.bundle.generation);
    r.string(*bundle, "hash", p, out.bundle.hash);
    r.time(*bundle, "appliedTime", p, out.bundle.applied_time);
    r.string(*bundle, "error", p, out.bundle.error);
  }
  r.integer(*status, "eventsPerSecond", st, out.events_per_second);
  r.integer(*status, "drops", st, out.drops);
  r.integer(*status, "alerts", st, out.alerts);
  r.time(*status, "lastHeartbeatTime", st, out.last_heartbeat_time);
  r.objects(*status, "rules", st, [&](const Json& e, const std::string& p) {
    NodeRuleStatus rs;
    r.string(e, "namespace", p, rs.namespace_);
    r.string(e, "name", p, rs.name);
    r.integer(e, "generation", p, rs.generation);
    r.integer(e, "alerts", p, rs.alerts);
    r.time(e, "lastTriggered", p, rs.last_triggered);
    r.boolean(e, "programmed", p, rs.programmed);
    r.string(e, "error", p, rs.error);
    out.rules.push_back(std::move(rs));
  });
  r.objects(*status, "sinks", st, [&](const Json& e, const std::string& p) {
    NodeSinkStatus ss;
    r.string(e, "namespace", p, ss.namespace_);
    r.string(e, "name", p, ss.name);
    r.integer(e, "delivered", p, ss.delivered);
    r.integer(e, "failed", p, ss.failed);
    r.integer(e, "dropped", p, ss.dropped);
    r.string(e, "state", p, ss.state);
    r.string(e, "lastError", p, ss.last_error);
    r.time(e, "lastDeliveryTime", p, ss.last_delivery_time);
    out.sinks.push_back(std::move(ss));
  });
}

// ---------------------------------------------------------------------------------------------

template <typename T>
Result<T> parse_one(std::string_view json, std::string_view kind,
                    void (*read)(Reader&, const Json&, T&)) {
  // nlohmann only throws on misuse (every access above checks types first); the catch keeps a
  // bug there from crashing a controller on a user's object.
  try {
    Reader r;
    Json root = parse_root(r, json, kind);
    T out;
    if (!r.failed()) read(r, root, out);
    if (r.failed()) return Error{std::string(kind) + r.error()};
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Error{std::string(kind) + ": unreadable object: " + e.what()};
  }
}

template <typename T>
Result<std::vector<T>> parse_list(std::string_view json, std::string_view kind,
                                  void (*read)(Reader&, const Json&, T&)) {
  try {
    Reader r;
    if (too_deep(json)) return Error{std::string(kind) + "List: nested too deeply"};
    Json root = Json::parse(json, nullptr, /*allow_exceptions=*/false);
    if (root.is_discarded() || !root.is_object()) {
      return Error{std::string(kind) + "List: not a JSON object"};
    }
    std::string k;
    const std::string list_kind = std::string(kind) + "List";
    if (r.string(root, "kind", "", k) && k != list_kind && k != "List") {
      return Error{list_kind + ": kind must be " + list_kind + ", got \"" + k.substr(0, 64) + "\""};
    }
    std::vector<T> out;
    const Json* items = r.array(root, "items", "");
    if (r.failed()) return Error{list_kind + r.error()};
    if (!items) return out;
    for (size_t i = 0; i < items->size(); ++i) {
      const Json& item = (*items)[i];
      Reader ir;
      T obj;
      if (!item.is_object()) {
        ir.fail("", "must be a JSON object");
      } else {
        std::string api_version, item_kind;
        if (ir.string(item, "apiVersion", "", api_version) && api_version != kApiVersion)
          ir.fail("apiVersion", "must be " + std::string(kApiVersion));
        if (ir.string(item, "kind", "", item_kind) && item_kind != kind)
          ir.fail("kind", "must be " + std::string(kind));
        if (!ir.failed()) read(ir, item, obj);
      }
      if (ir.failed()) {
        std::string id;
        if (!obj.metadata.name.empty()) {
          id = " (" + (obj.metadata.namespace_.empty() ? "" : obj.metadata.namespace_ + "/") +
               obj.metadata.name + ")";
        }
        return Error{list_kind + " items[" + std::to_string(i) + "]" + id + ir.error()};
      }
      out.push_back(std::move(obj));
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Error{std::string(kind) + "List: unreadable: " + e.what()};
  }
}

}  // namespace

Result<SecurityRule> parse_security_rule(std::string_view json) {
  return parse_one<SecurityRule>(json, "SecurityRule", read_security_rule);
}
Result<AlertSink> parse_alert_sink(std::string_view json) {
  return parse_one<AlertSink>(json, "AlertSink", read_alert_sink);
}
Result<NodeAgent> parse_node_agent(std::string_view json) {
  return parse_one<NodeAgent>(json, "NodeAgent", read_node_agent);
}
Result<std::vector<SecurityRule>> parse_security_rule_list(std::string_view json) {
  return parse_list<SecurityRule>(json, "SecurityRule", read_security_rule);
}
Result<std::vector<AlertSink>> parse_alert_sink_list(std::string_view json) {
  return parse_list<AlertSink>(json, "AlertSink", read_alert_sink);
}
Result<std::vector<NodeAgent>> parse_node_agent_list(std::string_view json) {
  return parse_list<NodeAgent>(json, "NodeAgent", read_node_agent);
}

}  // namespace vigil::api::v1alpha1
