#pragma once

// The vigil.dev/v1alpha1 API as plain C++: SecurityRule, AlertSink and NodeAgent, read from the
// JSON the API server returns, validated as the CRDs validate them, and their status written
// back as merge patches of the /status subresource.
//
// crds/vigil.dev_*.yaml is the source of truth. Field names here are the JSON names in
// snake_case; defaults, enums and the bounds below are the CRDs' (types_test.cc checks that the
// bounds and enums agree with the YAML).
//
// All input is untrusted: parse_* never throws and never crashes on any bytes; a missing or
// ill-typed field is an Error naming its path ("spec.delivery.retries: must be an integer").
// Parsing checks structure (types, enum spellings, required fields); validate() checks
// everything else the CRD checks (lengths, ranges, patterns, the CEL rules) and returns every
// problem at once, each as "path: message".

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/rules/rule_defs.h"

namespace vigil::api::v1alpha1 {

inline constexpr std::string_view kGroup = "vigil.dev";
inline constexpr std::string_view kVersion = "v1alpha1";
inline constexpr std::string_view kApiVersion = "vigil.dev/v1alpha1";

// metav1.Time: RFC 3339, second precision, UTC ("2026-11-27T03:31:56Z").
using Time = std::chrono::sys_seconds;

std::string format_time(Time t);
// Accepts RFC 3339 with any offset and optional fractional seconds (truncated), as metav1.Time
// and metav1.MicroTime serialize. nullopt for anything else.
std::optional<Time> parse_time(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Bounds shared with the CRDs.

inline constexpr size_t kMaxConditionLength = 32768;
inline constexpr size_t kMaxOutputLength = 8192;
inline constexpr size_t kMaxDescriptionLength = 4096;
inline constexpr size_t kMaxTags = 64;
inline constexpr size_t kMaxTagLength = 128;
inline constexpr size_t kMaxExceptions = 64;
inline constexpr size_t kMaxExceptionFields = 16;
inline constexpr size_t kMaxExceptionRows = 1024;
inline constexpr size_t kMaxExceptionValueLength = 1024;
inline constexpr size_t kMaxMacros = 128;
inline constexpr size_t kMaxMacroLength = 16384;
inline constexpr size_t kMaxLists = 128;
inline constexpr size_t kMaxListItems = 4096;
inline constexpr size_t kMaxListItemLength = 1024;
inline constexpr size_t kMaxIdentifierLength = 128;  // macro, list and exception names
inline constexpr size_t kMaxExpandedConditionLength = 131072;
inline constexpr size_t kMaxConditionMessageLength = 32768;
inline constexpr size_t kMaxUrlLength = 2048;
inline constexpr size_t kMaxHeaders = 32;
inline constexpr size_t kMaxLastErrorLength = 4096;
inline constexpr size_t kMaxFilePathLength = 1024;
inline constexpr std::string_view kFileSinkDirectory = "/var/log/vigil/";
inline constexpr size_t kMaxNodeAgentRules = 4096;
inline constexpr size_t kMaxNodeAgentSinks = 1024;
inline constexpr size_t kMaxBundleErrorLength = 32768;

// ---------------------------------------------------------------------------------------------
// Shared pieces.

struct ObjectMeta {
  std::string name;
  std::string namespace_;  // empty for NodeAgent (cluster-scoped)
  std::string uid;
  int64_t generation = 0;
  std::string resource_version;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  bool operator==(const ObjectMeta&) const = default;
};

enum class ConditionStatus : uint8_t { kTrue, kFalse, kUnknown };
const char* to_string(ConditionStatus s);  // "True", "False", "Unknown"

// metav1.Condition.
struct Condition {
  std::string type;  // CamelCase: "Accepted"
  ConditionStatus status = ConditionStatus::kUnknown;
  int64_t observed_generation = 0;
  Time last_transition_time{};  // epoch: not set (set_condition fills it in)
  std::string reason;           // CamelCase: "Compiled"
  std::string message;

  bool operator==(const Condition&) const = default;
};

// Condition types.
inline constexpr std::string_view kConditionAccepted = "Accepted";      // rules, sinks
inline constexpr std::string_view kConditionProgrammed = "Programmed";  // rules
inline constexpr std::string_view kConditionReady = "Ready";            // sinks, agents
inline constexpr std::string_view kConditionDegraded = "Degraded";      // rules, sinks

// Sets `condition` in the list with meta.SetStatusCondition's semantics: one entry per type;
// lastTransitionTime changes only when the status changes (to condition.last_transition_time
// if set, else `now`); reason, message and observedGeneration are updated in place. Returns
// whether anything changed, so the caller can skip a status write.
bool set_condition(std::vector<Condition>& conditions, Condition condition, Time now);
const Condition* find_condition(const std::vector<Condition>& conditions, std::string_view type);
bool is_condition_true(const std::vector<Condition>& conditions, std::string_view type);
bool remove_condition(std::vector<Condition>& conditions, std::string_view type);

// One problem found by validate(): "spec.slack.webhookSecretRef.name: required when type is slack".
struct FieldError {
  std::string path;
  std::string message;

  std::string to_string() const { return path + ": " + message; }
  bool operator==(const FieldError&) const = default;
};
// All errors joined by "; ", for a condition message.
std::string join_errors(const std::vector<FieldError>& errors);

enum class RuleSource : uint8_t { kSyscall, kK8sAudit };
const char* to_string(RuleSource s);  // "syscall", "k8s_audit" (the engine's source names)

// The priority spelling the CRD accepts: exactly Falco's canonical names ("Warning").
std::optional<rules::Priority> parse_canonical_priority(std::string_view text);

// ---------------------------------------------------------------------------------------------
// SecurityRule (namespaced).

// A Falco exception. In the CRD every field is a list (Falco's single-field shorthand
// `fields: proc.name` is written `fields: [proc.name]`), and every value a string: for in,
// intersects and pmatch a value names a list or is a one-item list.
struct RuleException {
  std::string name;
  std::vector<std::string> fields;
  std::vector<std::string> comps;  // empty: "=" for every field
  std::vector<std::vector<std::string>> values;

  bool operator==(const RuleException&) const = default;
};

struct RuleRateLimit {
  std::optional<int32_t> max_alerts;  // set together with per_seconds
  std::optional<int32_t> per_seconds;
  int32_t dedup_window_seconds = 0;  // 0: no deduplication

  bool operator==(const RuleRateLimit&) const = default;
};

struct SecurityRuleSpec {
  RuleSource source = RuleSource::kSyscall;
  std::string description;
  std::string condition;
  std::string output;
  rules::Priority priority = rules::Priority::kWarning;
  std::vector<std::string> tags;
  bool enabled = true;
  rules::RuleMode mode = rules::RuleMode::kAlert;
  std::vector<RuleException> exceptions;
  std::map<std::string, std::string> macros;              // name -> condition
  std::map<std::string, std::vector<std::string>> lists;  // name -> items
  std::optional<RuleRateLimit> rate_limit;

  bool operator==(const SecurityRuleSpec&) const = default;
};

struct NodeCounts {
  int32_t targeted = 0;
  int32_t programmed = 0;
  int32_t failed = 0;

  bool operator==(const NodeCounts&) const = default;
};

struct AlertCounts {
  int64_t total = 0;
  std::optional<Time> last_triggered;

  bool operator==(const AlertCounts&) const = default;
};

struct SecurityRuleStatus {
  int64_t observed_generation = 0;
  std::vector<Condition> conditions;
  NodeCounts nodes;  // status.nodesSummary ("programmed/targeted") is derived from it
  AlertCounts alerts;
  std::string expanded_condition;

  bool operator==(const SecurityRuleStatus&) const = default;
};

struct SecurityRule {
  ObjectMeta metadata;
  SecurityRuleSpec spec;
  SecurityRuleStatus status;

  bool operator==(const SecurityRule&) const = default;
};

// "3/5": status.nodesSummary, the NODES printer column.
std::string nodes_summary(const NodeCounts& nodes);

// ---------------------------------------------------------------------------------------------
// AlertSink (namespaced).

enum class SinkType : uint8_t { kStdout, kFile, kWebhook, kSlack, kFalcosidekick, kAlertmanager };
const char* to_string(SinkType t);  // "stdout", ..., the name of its spec block

enum class AlertFormat : uint8_t { kJson, kText };         // stdout, file
enum class WebhookFormat : uint8_t { kFalco, kBatch };     // webhook
enum class HttpMethod : uint8_t { kPost, kPut };           // webhook
enum class FsyncPolicy : uint8_t { kNever, kEveryAlert };  // file
// The CRD's spellings: "json", "text"; "falco", "batch"; "POST", "PUT"; "Never", "EveryAlert".
const char* to_string(AlertFormat f);
const char* to_string(WebhookFormat f);
const char* to_string(HttpMethod m);
const char* to_string(FsyncPolicy p);

// A key of a Secret in the object's own namespace.
struct SecretKeyRef {
  std::string name;
  std::string key;

  bool operator==(const SecretKeyRef&) const = default;
};

// A whole Secret in the object's own namespace.
struct SecretRef {
  std::string name;

  bool operator==(const SecretRef&) const = default;
};

struct HttpHeader {
  std::string name;
  std::string value;

  bool operator==(const HttpHeader&) const = default;
};

struct TlsConfig {
  std::optional<SecretKeyRef> ca_secret_ref;
  std::optional<SecretRef> client_cert_secret_ref;  // kubernetes.io/tls: tls.crt, tls.key
  bool insecure_skip_verify = false;

  bool operator==(const TlsConfig&) const = default;
};

// What the HTTP sinks (webhook, falcosidekick, alertmanager) share.
struct HttpEndpoint {
  std::string url;
  std::vector<HttpHeader> headers;              // webhook only; never credentials
  std::optional<SecretRef> headers_secret_ref;  // every key is a header
  TlsConfig tls;
  int32_t timeout_seconds = 10;

  bool operator==(const HttpEndpoint&) const = default;
};

struct StdoutSink {
  AlertFormat format = AlertFormat::kJson;

  bool operator==(const StdoutSink&) const = default;
};

struct FileSink {
  std::string path;  // under kFileSinkDirectory
  AlertFormat format = AlertFormat::kJson;
  int64_t max_size_bytes = 104857600;
  int32_t max_files = 5;
  FsyncPolicy fsync = FsyncPolicy::kNever;

  bool operator==(const FileSink&) const = default;
};

struct WebhookSink {
  HttpEndpoint endpoint;
  HttpMethod method = HttpMethod::kPost;
  WebhookFormat format = WebhookFormat::kFalco;

  bool operator==(const WebhookSink&) const = default;
};

struct SlackSink {
  SecretKeyRef webhook_secret_ref;  // the incoming-webhook URL
  std::string channel;
  std::string username;
  std::string icon_emoji;
  std::string template_;  // empty: the default message

  bool operator==(const SlackSink&) const = default;
};

struct FalcosidekickSink {
  HttpEndpoint endpoint;

  bool operator==(const FalcosidekickSink&) const = default;
};

struct AlertmanagerSink {
  HttpEndpoint endpoint;
  std::vector<HttpHeader> labels;  // name/value pairs
  int32_t resolve_after_seconds = 300;

  bool operator==(const AlertmanagerSink&) const = default;
};

struct SinkFilter {
  std::optional<rules::Priority> minimum_priority;
  std::vector<std::string> rules;
  std::vector<std::string> tags;
  std::vector<RuleSource> sources;
  std::vector<std::string> namespaces;

  bool operator==(const SinkFilter&) const = default;
};

struct DeliveryRateLimit {
  int32_t max_alerts = 0;
  int32_t per_seconds = 0;

  bool operator==(const DeliveryRateLimit&) const = default;
};

struct Delivery {
  int32_t retries = 3;
  int32_t backoff_initial_seconds = 1;
  int32_t backoff_max_seconds = 60;
  int32_t queue_size = 1000;
  int32_t dedup_window_seconds = 0;
  std::optional<DeliveryRateLimit> rate_limit;

  bool operator==(const Delivery&) const = default;
};

struct AlertSinkSpec {
  SinkType type = SinkType::kStdout;
  // The block named by `type` (stdout's may be absent); validate() reports a missing one and any
  // other block that is set.
  std::optional<StdoutSink> stdout_;
  std::optional<FileSink> file;
  std::optional<WebhookSink> webhook;
  std::optional<SlackSink> slack;
  std::optional<FalcosidekickSink> falcosidekick;
  std::optional<AlertmanagerSink> alertmanager;
  SinkFilter filter;
  Delivery delivery;

  bool operator==(const AlertSinkSpec&) const = default;
};

struct AlertSinkStatus {
  int64_t observed_generation = 0;
  std::vector<Condition> conditions;
  int64_t delivered = 0;
  int64_t failed = 0;
  int64_t dropped = 0;
  std::string last_error;
  std::optional<Time> last_delivery_time;

  bool operator==(const AlertSinkStatus&) const = default;
};

struct AlertSink {
  ObjectMeta metadata;
  AlertSinkSpec spec;
  AlertSinkStatus status;

  bool operator==(const AlertSink&) const = default;
};

// ---------------------------------------------------------------------------------------------
// NodeAgent (cluster-scoped; metadata.name == spec.node_name).

enum class ProbeState : uint8_t { kStarting, kRunning, kFailed, kUnsupported };
const char* to_string(ProbeState s);  // "Starting", ...

struct ProbeStatus {
  ProbeState state = ProbeState::kStarting;
  int32_t programs = 0;
  std::string message;

  bool operator==(const ProbeStatus&) const = default;
};

struct BundleStatus {
  int64_t generation = 0;
  std::string hash;
  std::optional<Time> applied_time;
  std::string error;  // why the newest bundle was not applied

  bool operator==(const BundleStatus&) const = default;
};

struct NodeRuleStatus {
  std::string namespace_;
  std::string name;
  int64_t generation = 0;  // the SecurityRule's metadata.generation this node compiled
  int64_t alerts = 0;
  std::optional<Time> last_triggered;
  bool programmed = false;
  std::string error;

  bool operator==(const NodeRuleStatus&) const = default;
};

struct NodeSinkStatus {
  std::string namespace_;
  std::string name;
  int64_t delivered = 0;
  int64_t failed = 0;   // failed delivery attempts
  int64_t dropped = 0;  // alerts given up (queue full, retries exhausted, rejected, ...)
  std::string state;    // "Ready", "Degraded", "CircuitOpen"; "" when not reported
  std::string last_error;
  std::optional<Time> last_delivery_time;

  bool operator==(const NodeSinkStatus&) const = default;
};

struct NodeAgentSpec {
  std::string node_name;

  bool operator==(const NodeAgentSpec&) const = default;
};

struct NodeAgentStatus {
  std::vector<Condition> conditions;
  ProbeStatus probe;
  BundleStatus bundle;
  int64_t events_per_second = 0;
  int64_t drops = 0;
  int64_t alerts = 0;
  std::optional<Time> last_heartbeat_time;
  std::vector<NodeRuleStatus> rules;
  std::vector<NodeSinkStatus> sinks;

  bool operator==(const NodeAgentStatus&) const = default;
};

struct NodeAgent {
  ObjectMeta metadata;
  NodeAgentSpec spec;
  NodeAgentStatus status;

  bool operator==(const NodeAgent&) const = default;
};

// ---------------------------------------------------------------------------------------------
// Reading objects (one object as GET returns it, or a LIST response's items).

Result<SecurityRule> parse_security_rule(std::string_view json);
Result<AlertSink> parse_alert_sink(std::string_view json);
Result<NodeAgent> parse_node_agent(std::string_view json);
// A *List (or kind: List) of the kind. An item that does not parse fails the whole list, with
// "items[3] (ns/name): ..." in the message.
Result<std::vector<SecurityRule>> parse_security_rule_list(std::string_view json);
Result<std::vector<AlertSink>> parse_alert_sink_list(std::string_view json);
Result<std::vector<NodeAgent>> parse_node_agent_list(std::string_view json);

// ---------------------------------------------------------------------------------------------
// Validation, mirroring the CRDs' schema and CEL rules. Empty: valid.

std::vector<FieldError> validate(const SecurityRule& rule);
std::vector<FieldError> validate(const AlertSink& sink);
std::vector<FieldError> validate(const NodeAgent& agent);

// ---------------------------------------------------------------------------------------------
// Writing.

// The object for POST/PUT: apiVersion, kind, metadata (name, namespace, labels, annotations,
// resourceVersion when set) and spec. Status goes through the status patches below.
std::string to_json(const SecurityRule& rule);
std::string to_json(const AlertSink& sink);
std::string to_json(const NodeAgent& agent);

// A JSON merge patch (application/merge-patch+json) for PATCH .../status holding the whole
// status: {"status": {...}}. Every field is written, absent optional ones as null so stale
// values are cleared; lists (conditions, rules, sinks) replace the stored ones wholesale, so
// pass the object's resourceVersion to make the write conditional (409 when someone else wrote
// in between). Strings longer than the CRD allows are cut to fit (with a trailing "...") so a
// long compile error never makes the write fail.
std::string to_status_patch_json(const SecurityRuleStatus& status,
                                 std::string_view resource_version = {});
std::string to_status_patch_json(const AlertSinkStatus& status,
                                 std::string_view resource_version = {});
std::string to_status_patch_json(const NodeAgentStatus& status,
                                 std::string_view resource_version = {});

}  // namespace vigil::api::v1alpha1
