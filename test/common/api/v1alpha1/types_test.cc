#include "common/api/v1alpha1/types.h"

#include <filesystem>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "common/rules/rule_loader.h"

namespace vigil::api::v1alpha1 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kSourceDir = VIGIL_SOURCE_DIR;

// YAML to JSON as kubectl does it: plain scalars that look like YAML 1.1 booleans, null or
// numbers become those; quoted scalars stay strings.
Json to_json_value(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& e : n) a.push_back(to_json_value(e));
      return a;
    }
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = to_json_value(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;  // quoted
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  if (s == "null" || s == "~") return nullptr;
  if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (end && *end == '\0') return v;
  }
  return s;
}

Json yaml_file_to_json(const std::string& path) { return to_json_value(YAML::LoadFile(path)); }

std::vector<std::string> samples() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(kSourceDir + "/config/samples")) {
    if (e.path().extension() == ".yaml") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> messages(const std::vector<FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.to_string());
  return out;
}

// A valid AlertSink of the given spec, as JSON text.
std::string sink_json(const Json& spec) {
  Json j = {{"apiVersion", "vigil.dev/v1alpha1"},
            {"kind", "AlertSink"},
            {"metadata", {{"name", "s"}, {"namespace", "vigil-system"}}},
            {"spec", spec}};
  return j.dump();
}

std::string rule_json(const Json& spec_overrides) {
  Json spec = {{"source", "syscall"},
               {"condition", "spawned_process and container"},
               {"output", "Shell (cmd=%proc.cmdline)"},
               {"priority", "Warning"}};
  if (spec_overrides.is_object()) spec.update(spec_overrides);
  for (auto it = spec.begin(); it != spec.end();) {
    if (it->is_null()) {
      it = spec.erase(it);
    } else {
      ++it;
    }
  }
  Json j = {{"apiVersion", "vigil.dev/v1alpha1"},
            {"kind", "SecurityRule"},
            {"metadata", {{"name", "r"}, {"namespace", "team-a"}}},
            {"spec", spec}};
  return j.dump();
}

std::vector<std::string> sink_errors(const Json& spec) {
  auto s = parse_alert_sink(sink_json(spec));
  if (!s.ok()) return {s.error()};
  return messages(validate(*s));
}

std::vector<std::string> rule_errors(const Json& spec) {
  auto r = parse_security_rule(rule_json(spec));
  if (!r.ok()) return {r.error()};
  return messages(validate(*r));
}

// ---------------------------------------------------------------------------------------------
// The samples

TEST(ApiSamplesTest, EverySampleParsesAndValidates) {
  int rules = 0, sinks = 0;
  std::map<std::string, std::set<std::string>> secrets;  // name -> keys
  std::vector<SecretKeyRef> referenced;
  for (const auto& path : samples()) {
    SCOPED_TRACE(path);
    Json doc = yaml_file_to_json(path);
    ASSERT_TRUE(doc.is_object());
    const std::string kind = doc.value("kind", "");
    if (kind == "SecurityRule") {
      auto r = parse_security_rule(doc.dump());
      ASSERT_TRUE(r.ok()) << r.error();
      EXPECT_THAT(messages(validate(*r)), ElementsAre());
      EXPECT_EQ(r->metadata.namespace_, "vigil-system");
      // What parses here also loads into the engine, as the operator will load it.
      rules::RuleDefs defs;
      Diagnostics diags;
      rules::RuleLoader loader(defs, diags, {"vigil-system", true});
      EXPECT_TRUE(loader.load_text(path, doc.dump()));
      ++rules;
    } else if (kind == "AlertSink") {
      auto s = parse_alert_sink(doc.dump());
      ASSERT_TRUE(s.ok()) << s.error();
      EXPECT_THAT(messages(validate(*s)), ElementsAre());
      if (s->spec.slack) referenced.push_back(s->spec.slack->webhook_secret_ref);
      ++sinks;
    } else if (kind == "Secret") {
      for (const char* field : {"data", "stringData"}) {
        if (doc.contains(field)) {
          for (const auto& [k, v] : doc[field].items()) {
            secrets[doc["metadata"]["name"]].insert(k);
            // Never a real credential in the samples.
            EXPECT_THAT(v.get<std::string>(), HasSubstr("127.0.0.1"));
          }
        }
      }
    } else {
      ADD_FAILURE() << "unexpected kind " << kind;
    }
  }
  EXPECT_EQ(rules, 2);
  EXPECT_EQ(sinks, 3);
  ASSERT_FALSE(referenced.empty());
  for (const auto& ref : referenced) {
    EXPECT_TRUE(secrets[ref.name].count(ref.key))
        << "the Slack sample's Secret " << ref.name << "/" << ref.key << " is not a sample";
  }
}

TEST(ApiSamplesTest, SamplesHoldWhatTheyShow) {
  auto shell = parse_security_rule(
      yaml_file_to_json(kSourceDir +
                        "/config/samples/vigil.dev_v1alpha1_securityrule_shell_in_container.yaml")
          .dump());
  ASSERT_TRUE(shell.ok()) << shell.error();
  EXPECT_EQ(shell->spec.source, RuleSource::kSyscall);
  EXPECT_EQ(shell->spec.priority, rules::Priority::kWarning);
  EXPECT_TRUE(shell->spec.enabled);  // the CRD's default, which the sample leaves out
  EXPECT_EQ(shell->spec.mode, rules::RuleMode::kAlert);
  EXPECT_THAT(shell->spec.tags, ElementsAre("container", "shell", "mitre_execution", "T1059"));
  EXPECT_THAT(shell->spec.lists["debug_images"],
              ElementsAre("registry.example.com/platform/debug-toolbox"));

  auto slack = parse_alert_sink(
      yaml_file_to_json(kSourceDir + "/config/samples/vigil.dev_v1alpha1_alertsink_slack.yaml")
          .dump());
  ASSERT_TRUE(slack.ok()) << slack.error();
  EXPECT_EQ(slack->spec.type, SinkType::kSlack);
  ASSERT_TRUE(slack->spec.slack);
  EXPECT_EQ(slack->spec.slack->webhook_secret_ref, (SecretKeyRef{"slack-webhook", "url"}));
  EXPECT_EQ(slack->spec.filter.minimum_priority, rules::Priority::kWarning);
  EXPECT_EQ(slack->spec.delivery.retries, 5);
  EXPECT_EQ(slack->spec.delivery.queue_size, 1000);  // default
  ASSERT_TRUE(slack->spec.delivery.rate_limit);
  EXPECT_EQ(slack->spec.delivery.rate_limit->max_alerts, 30);

  auto webhook = parse_alert_sink(
      yaml_file_to_json(kSourceDir + "/config/samples/vigil.dev_v1alpha1_alertsink_webhook.yaml")
          .dump());
  ASSERT_TRUE(webhook.ok()) << webhook.error();
  ASSERT_TRUE(webhook->spec.webhook);
  EXPECT_EQ(webhook->spec.webhook->format, WebhookFormat::kBatch);
  EXPECT_EQ(webhook->spec.webhook->method, HttpMethod::kPost);
  EXPECT_EQ(webhook->spec.webhook->endpoint.timeout_seconds, 5);
  EXPECT_THAT(webhook->spec.filter.namespaces, ElementsAre("team-a", "team-b"));
}

TEST(ApiSamplesTest, ObjectsRoundTripThroughJson) {
  for (const auto& path : samples()) {
    SCOPED_TRACE(path);
    Json doc = yaml_file_to_json(path);
    if (doc["kind"] == "SecurityRule") {
      auto a = parse_security_rule(doc.dump());
      ASSERT_TRUE(a.ok());
      auto b = parse_security_rule(to_json(*a));
      ASSERT_TRUE(b.ok()) << b.error();
      EXPECT_EQ(*a, *b);
    } else if (doc["kind"] == "AlertSink") {
      auto a = parse_alert_sink(doc.dump());
      ASSERT_TRUE(a.ok());
      auto b = parse_alert_sink(to_json(*a));
      ASSERT_TRUE(b.ok()) << b.error();
      EXPECT_EQ(*a, *b);
    }
  }
  NodeAgent agent;
  agent.metadata.name = agent.spec.node_name = "node-1";
  auto back = parse_node_agent(to_json(agent));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, agent);
  EXPECT_EQ(to_json(agent),
            R"({"apiVersion":"vigil.dev/v1alpha1","kind":"NodeAgent","metadata":{"name":"node-1"},)"
            R"("spec":{"nodeName":"node-1"}})");
}

// ---------------------------------------------------------------------------------------------
// The CRDs and the C++ types agree

class ApiCrdTest : public ::testing::Test {
 protected:
  static YAML::Node crd(const std::string& plural) {
    return YAML::LoadFile(kSourceDir + "/crds/vigil.dev_" + plural + ".yaml");
  }
  static YAML::Node schema(const YAML::Node& crd) {
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
  }
  // Follows "spec.slack.webhookSecretRef" through properties.
  static YAML::Node at(YAML::Node node, const std::string& path) {
    std::stringstream ss(path);
    std::string part;
    while (std::getline(ss, part, '.')) {
      // reset, not =: assigning a YAML::Node writes into the node it refers to.
      node.reset(node["properties"][part]);
      if (!node) {
        ADD_FAILURE() << "no " << path << " in the CRD";
        return YAML::Node();
      }
    }
    return node;
  }
  static std::vector<std::string> strings(const YAML::Node& n) {
    std::vector<std::string> out;
    for (const auto& e : n) out.push_back(e.Scalar());
    return out;
  }
  static std::vector<std::string> columns(const YAML::Node& crd) {
    std::vector<std::string> out;
    for (const auto& c : crd["spec"]["versions"][0]["additionalPrinterColumns"])
      if (!c["priority"]) out.push_back(c["name"].Scalar());
    return out;
  }
};

TEST_F(ApiCrdTest, NamesScopeAndSubresources) {
  struct Want {
    std::string plural, kind, short_name, scope;
  };
  for (const Want& w : {Want{"securityrules", "SecurityRule", "srule", "Namespaced"},
                        Want{"alertsinks", "AlertSink", "asink", "Namespaced"},
                        Want{"nodeagents", "NodeAgent", "nagent", "Cluster"}}) {
    SCOPED_TRACE(w.plural);
    YAML::Node c = crd(w.plural);
    EXPECT_EQ(c["metadata"]["name"].Scalar(), w.plural + ".vigil.dev");
    EXPECT_EQ(c["spec"]["group"].Scalar(), kGroup);
    EXPECT_EQ(c["spec"]["scope"].Scalar(), w.scope);
    EXPECT_EQ(c["spec"]["names"]["kind"].Scalar(), w.kind);
    EXPECT_THAT(strings(c["spec"]["names"]["shortNames"]), ElementsAre(w.short_name));
    EXPECT_THAT(strings(c["spec"]["names"]["categories"]), ElementsAre("vigil"));
    EXPECT_EQ(c["spec"]["versions"].size(), 1u);
    EXPECT_EQ(c["spec"]["versions"][0]["name"].Scalar(), kVersion);
    EXPECT_TRUE(c["spec"]["versions"][0]["subresources"]["status"].IsMap());
  }
  EXPECT_THAT(columns(crd("securityrules")), ElementsAre("Source", "Priority", "Accepted", "Nodes",
                                                         "Alerts", "Last Alert", "Age"));
  EXPECT_THAT(columns(crd("alertsinks")),
              ElementsAre("Type", "Accepted", "Ready", "Delivered", "Failed", "Dropped", "Age"));
  EXPECT_THAT(columns(crd("nodeagents")),
              ElementsAre("Ready", "Bundle", "Events/s", "Drops", "Alerts", "Age"));
}

TEST_F(ApiCrdTest, EnumsDefaultsAndBoundsMatchTheTypes) {
  const YAML::Node rule = schema(crd("securityrules"));
  std::vector<std::string> priorities;
  for (int p = 0; p <= static_cast<int>(rules::Priority::kDebug); ++p)
    priorities.push_back(rules::priority_name(static_cast<rules::Priority>(p)));
  EXPECT_EQ(strings(at(rule, "spec.priority")["enum"]), priorities);
  EXPECT_EQ(at(rule, "spec.priority")["default"].Scalar(),
            rules::priority_name(SecurityRuleSpec{}.priority));
  EXPECT_THAT(strings(at(rule, "spec.source")["enum"]),
              ElementsAre(to_string(RuleSource::kSyscall), to_string(RuleSource::kK8sAudit)));
  EXPECT_EQ(at(rule, "spec.source")["default"].Scalar(), to_string(SecurityRuleSpec{}.source));
  EXPECT_EQ(at(rule, "spec.enabled")["default"].as<bool>(), SecurityRuleSpec{}.enabled);
  EXPECT_EQ(at(rule, "spec.mode")["default"].Scalar(), "Alert");
  EXPECT_EQ(at(rule, "spec.condition")["maxLength"].as<size_t>(), kMaxConditionLength);
  EXPECT_EQ(at(rule, "spec.output")["maxLength"].as<size_t>(), kMaxOutputLength);
  EXPECT_EQ(at(rule, "spec.description")["maxLength"].as<size_t>(), kMaxDescriptionLength);
  EXPECT_EQ(at(rule, "spec.tags")["maxItems"].as<size_t>(), kMaxTags);
  EXPECT_EQ(at(rule, "spec.exceptions")["maxItems"].as<size_t>(), kMaxExceptions);
  EXPECT_EQ(at(rule, "spec.macros")["maxProperties"].as<size_t>(), kMaxMacros);
  EXPECT_EQ(at(rule, "spec.lists")["maxProperties"].as<size_t>(), kMaxLists);
  EXPECT_EQ(at(rule, "spec.lists")["additionalProperties"]["maxItems"].as<size_t>(), kMaxListItems);
  EXPECT_EQ(at(rule, "status.expandedCondition")["maxLength"].as<size_t>(),
            kMaxExpandedConditionLength);
  EXPECT_EQ(
      at(rule, "status.conditions")["items"]["properties"]["message"]["maxLength"].as<size_t>(),
      kMaxConditionMessageLength);

  const YAML::Node sink = schema(crd("alertsinks"));
  std::vector<std::string> types;
  for (auto t : {SinkType::kStdout, SinkType::kFile, SinkType::kWebhook, SinkType::kSlack,
                 SinkType::kFalcosidekick, SinkType::kAlertmanager}) {
    types.push_back(to_string(t));
    EXPECT_TRUE(at(sink, std::string("spec.") + to_string(t)).IsMap()) << to_string(t);
  }
  EXPECT_EQ(strings(at(sink, "spec.type")["enum"]), types);
  EXPECT_EQ(strings(at(sink, "spec.filter.minimumPriority")["enum"]), priorities);
  const Delivery d;
  EXPECT_EQ(at(sink, "spec.delivery.retries")["default"].as<int>(), d.retries);
  EXPECT_EQ(at(sink, "spec.delivery.backoff.initialSeconds")["default"].as<int>(),
            d.backoff_initial_seconds);
  EXPECT_EQ(at(sink, "spec.delivery.backoff.maxSeconds")["default"].as<int>(),
            d.backoff_max_seconds);
  EXPECT_EQ(at(sink, "spec.delivery.queueSize")["default"].as<int>(), d.queue_size);
  EXPECT_EQ(at(sink, "spec.delivery.dedupWindowSeconds")["default"].as<int>(),
            d.dedup_window_seconds);
  const FileSink f;
  EXPECT_EQ(at(sink, "spec.file.maxSizeBytes")["default"].as<int64_t>(), f.max_size_bytes);
  EXPECT_EQ(at(sink, "spec.file.maxFiles")["default"].as<int>(), f.max_files);
  EXPECT_EQ(at(sink, "spec.file.fsync")["default"].Scalar(), to_string(f.fsync));
  EXPECT_EQ(at(sink, "spec.file.path")["maxLength"].as<size_t>(), kMaxFilePathLength);
  for (const char* block : {"webhook", "falcosidekick", "alertmanager"}) {
    const std::string b = std::string("spec.") + block;
    EXPECT_EQ(at(sink, b + ".url")["maxLength"].as<size_t>(), kMaxUrlLength);
    EXPECT_EQ(at(sink, b + ".timeoutSeconds")["default"].as<int>(), HttpEndpoint{}.timeout_seconds);
  }
  EXPECT_EQ(at(sink, "spec.webhook.headers")["maxItems"].as<size_t>(), kMaxHeaders);
  EXPECT_EQ(at(sink, "spec.alertmanager.resolveAfterSeconds")["default"].as<int>(),
            AlertmanagerSink{}.resolve_after_seconds);
  EXPECT_EQ(at(sink, "status.lastError")["maxLength"].as<size_t>(), kMaxLastErrorLength);

  const YAML::Node agent = schema(crd("nodeagents"));
  EXPECT_THAT(strings(at(agent, "status.probe.state")["enum"]),
              ElementsAre(to_string(ProbeState::kStarting), to_string(ProbeState::kRunning),
                          to_string(ProbeState::kFailed), to_string(ProbeState::kUnsupported)));
  EXPECT_EQ(at(agent, "status.rules")["maxItems"].as<size_t>(), kMaxNodeAgentRules);
  EXPECT_EQ(at(agent, "status.sinks")["maxItems"].as<size_t>(), kMaxNodeAgentSinks);
  EXPECT_EQ(at(agent, "status.bundle.error")["maxLength"].as<size_t>(), kMaxBundleErrorLength);
}

// Every property has a description (kubectl explain), every string and list a bound (the CEL
// cost budget), every array typed items.
TEST_F(ApiCrdTest, EveryFieldIsDescribedAndBounded) {
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n,
                                                                        const std::string& path) {
    const std::string type = n["type"] ? n["type"].Scalar() : "";
    EXPECT_FALSE(type.empty()) << path << " has no type";
    if (type == "string" && !n["enum"] && !n["format"] &&
        path.find(".metadata") == std::string::npos && !path.ends_with(".apiVersion") &&
        !path.ends_with(".kind")) {
      EXPECT_TRUE(n["maxLength"]) << path << " has no maxLength";
    }
    if (type == "array") {
      EXPECT_TRUE(n["maxItems"]) << path << " has no maxItems";
      walk(n["items"], path + "[]");
    }
    if (type == "object" && n["additionalProperties"]) {
      EXPECT_TRUE(n["maxProperties"]) << path << " has no maxProperties";
      walk(n["additionalProperties"], path + "{}");
    }
    if (n["properties"]) {
      for (const auto& kv : n["properties"]) {
        const std::string p = path + "." + kv.first.Scalar();
        if (kv.first.Scalar() != "metadata") {
          EXPECT_TRUE(kv.second["description"]) << p << " has no description";
        }
        walk(kv.second, p);
      }
    }
  };
  for (const char* plural : {"securityrules", "alertsinks", "nodeagents"}) {
    walk(schema(crd(plural)), plural);
  }
}

// ---------------------------------------------------------------------------------------------
// Malformed input

TEST(ApiParseTest, MalformedDocumentsNameTheField) {
  auto err = [](std::string_view json) {
    auto r = parse_security_rule(json);
    return r.ok() ? std::string("<ok>") : r.error();
  };
  EXPECT_EQ(err("{"), "SecurityRule: not valid JSON");
  EXPECT_EQ(err(""), "SecurityRule: not valid JSON");
  EXPECT_EQ(err("[]"), "SecurityRule: must be a JSON object");
  EXPECT_EQ(err(R"({"kind":"AlertSink","metadata":{"name":"x"},"spec":{}})"),
            "SecurityRule kind: must be SecurityRule, got \"AlertSink\"");
  EXPECT_EQ(err(R"({"apiVersion":"vigil.dev/v1","metadata":{"name":"x"},"spec":{}})"),
            "SecurityRule apiVersion: must be vigil.dev/v1alpha1, got \"vigil.dev/v1\"");
  EXPECT_EQ(err(R"({"spec":{}})"), "SecurityRule metadata: required");
  EXPECT_EQ(err(R"({"metadata":{"name":""},"spec":{}})"), "SecurityRule metadata.name: required");
  EXPECT_EQ(err(R"({"metadata":{"name":7},"spec":{}})"),
            "SecurityRule metadata.name: must be a string");
  EXPECT_EQ(err(R"({"metadata":{"name":"x","labels":{"a":1}},"spec":{}})"),
            "SecurityRule metadata.labels.a: must be a string");
  EXPECT_EQ(err(R"({"metadata":{"name":"x"}})"), "SecurityRule spec: required");
  EXPECT_EQ(err(R"({"metadata":{"name":"x"},"spec":"text"})"),
            "SecurityRule spec: must be an object");
  EXPECT_EQ(
      rule_errors({{"priority", "warning"}}),
      std::vector<std::string>{
          "SecurityRule spec.priority: unsupported value \"warning\" (one of Emergency, Alert, "
          "Critical, Error, Warning, Notice, Informational, Debug)"});
  EXPECT_EQ(rule_errors({{"priority", 4}}),
            std::vector<std::string>{"SecurityRule spec.priority: must be a string"});
  EXPECT_EQ(
      rule_errors({{"source", "k8saudit"}}),
      std::vector<std::string>{
          "SecurityRule spec.source: unsupported value \"k8saudit\" (one of syscall, k8s_audit)"});
  EXPECT_EQ(rule_errors(Json::parse(R"({"tags":["a",2]})")),
            std::vector<std::string>{"SecurityRule spec.tags[1]: must be a string"});
  EXPECT_EQ(rule_errors({{"enabled", "yes"}}),
            std::vector<std::string>{"SecurityRule spec.enabled: must be true or false"});
  EXPECT_EQ(rule_errors(Json::parse(
                R"({"exceptions":[{"name":"e","fields":["proc.name"],"values":[[["a","b"]]]}]})")),
            std::vector<std::string>{"SecurityRule spec.exceptions[0].values[0][0]: must be a "
                                     "string (for in, intersects and pmatch: a list's name)"});
  EXPECT_EQ(rule_errors({{"lists", {{"l", "x"}}}}),
            std::vector<std::string>{"SecurityRule spec.lists.l: must be a list"});
  EXPECT_EQ(rule_errors({{"rateLimit", {{"maxAlerts", 1.5}}}}),
            std::vector<std::string>{"SecurityRule spec.rateLimit.maxAlerts: must be an integer"});
  EXPECT_EQ(rule_errors({{"rateLimit", {{"maxAlerts", 4294967296LL}, {"perSeconds", 1}}}}),
            std::vector<std::string>{"SecurityRule spec.rateLimit.maxAlerts: is out of range"});

  EXPECT_EQ(sink_errors({{"type", "email"}}),
            std::vector<std::string>{"AlertSink spec.type: unsupported value \"email\" (one of "
                                     "stdout, file, webhook, slack, falcosidekick, alertmanager)"});
  EXPECT_EQ(sink_errors({{"stdout", Json::object()}}),
            std::vector<std::string>{"AlertSink spec.type: required"});
  EXPECT_EQ(sink_errors({{"type", "webhook"},
                         {"webhook", Json::parse(R"({"url":"http://x","headers":[1]})")}}),
            std::vector<std::string>{"AlertSink spec.webhook.headers[0]: must be an object"});
  EXPECT_EQ(sink_errors({{"type", "stdout"}, {"delivery", {{"retries", -1LL << 40}}}}),
            std::vector<std::string>{"AlertSink spec.delivery.retries: is out of range"});
  EXPECT_EQ(sink_errors(
                {{"type", "stdout"}, {"filter", Json::parse(R"({"sources":["syscall","dns"]})")}}),
            std::vector<std::string>{"AlertSink spec.filter.sources[1]: unsupported value \"dns\" "
                                     "(one of syscall, k8s_audit)"});

  auto status = parse_node_agent(
      R"({"metadata":{"name":"n"},"spec":{"nodeName":"n"},"status":{"lastHeartbeatTime":"yesterday"}})");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error(),
            "NodeAgent status.lastHeartbeatTime: must be an RFC 3339 time like "
            "2026-01-02T15:04:05Z, got \"yesterday\"");
  status = parse_node_agent(
      R"({"metadata":{"name":"n"},"spec":{"nodeName":"n"},"status":{"conditions":[{"type":"Ready","status":"yes"}]}})");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error(), HasSubstr("status.conditions[0].status: unsupported value \"yes\""));
}

TEST(ApiParseTest, HostileBytesNeverCrash) {
  EXPECT_FALSE(parse_security_rule(std::string(100000, '[')).ok());
  EXPECT_FALSE(parse_alert_sink(std::string(100000, '{')).ok());
  EXPECT_FALSE(parse_node_agent("{\"metadata\":{\"name\":\"\xff\xfe\"}}").ok());
  // Every prefix of a valid object is an error, never a crash.
  const std::string full = rule_json(Json::parse(R"({"tags":["a","b"],"lists":{"l":["x"]}})"));
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = parse_security_rule(std::string_view(full).substr(0, n));
    EXPECT_FALSE(r.ok()) << n;
  }
  ASSERT_TRUE(parse_security_rule(full).ok());
  // Nulls mean "not set".
  auto r = parse_security_rule(rule_json({{"tags", nullptr}, {"description", nullptr}}));
  ASSERT_TRUE(r.ok()) << r.error();
}

TEST(ApiParseTest, ListsOfObjects) {
  Json list = {{"apiVersion", "vigil.dev/v1alpha1"},
               {"kind", "SecurityRuleList"},
               {"metadata", {{"resourceVersion", "42"}}},
               {"items", {Json::parse(rule_json({})), Json::parse(rule_json({}))}}};
  list["items"][1]["metadata"]["name"] = "second";
  auto rules = parse_security_rule_list(list.dump());
  ASSERT_TRUE(rules.ok()) << rules.error();
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[1].metadata.name, "second");

  list["items"][1]["spec"]["priority"] = "loud";
  rules = parse_security_rule_list(list.dump());
  ASSERT_FALSE(rules.ok());
  EXPECT_THAT(rules.error(), HasSubstr("SecurityRuleList items[1] (team-a/second) spec.priority: "
                                       "unsupported value \"loud\""));
  EXPECT_FALSE(parse_alert_sink_list(list.dump()).ok());  // wrong list kind

  auto empty = parse_node_agent_list(R"({"kind":"NodeAgentList","items":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

// ---------------------------------------------------------------------------------------------
// Validation (the CRDs' rules)

TEST(ApiValidateTest, SecurityRule) {
  EXPECT_THAT(rule_errors({}), ElementsAre());
  EXPECT_THAT(rule_errors({{"condition", nullptr}}), ElementsAre("spec.condition: required"));
  EXPECT_THAT(rule_errors({{"condition", " \n "}}),
              ElementsAre("spec.condition: must not be blank"));
  EXPECT_THAT(rule_errors({{"output", std::string(kMaxOutputLength + 1, 'x')}}),
              ElementsAre("spec.output: must be at most 8192 characters"));
  // Characters, not bytes: 8192 two-byte characters fit.
  std::string wide;
  for (size_t i = 0; i < kMaxOutputLength; ++i) wide += "\xc3\xa9";
  EXPECT_THAT(rule_errors({{"output", wide}}), ElementsAre());
  EXPECT_THAT(rule_errors(Json::parse(R"({"tags":["ok",""]})")),
              ElementsAre("spec.tags[1]: must not be empty"));
  EXPECT_THAT(rule_errors(Json::parse(R"({"exceptions":[{"name":"known",
                 "fields":["proc.name","fd.name"], "comps":["=","startswith"],
                 "values":[["nginx","/var/log/"],["sshd","/tmp/"]]}]})")),
              ElementsAre());
  EXPECT_THAT(
      rule_errors(Json::parse(R"({"exceptions":[{"name":"bad name",
                 "fields":["proc.name","fd.name"], "comps":["=","like"], "values":[["nginx"]]}]})")),
      ElementsAre("spec.exceptions[0].name: must match [A-Za-z0-9_][A-Za-z0-9_.-]* (at most "
                  "128 characters)",
                  "spec.exceptions[0].comps[1]: unsupported comparison \"like\"",
                  "spec.exceptions[0].values: every row of values must have one value per "
                  "field"));
  EXPECT_THAT(rule_errors(Json::parse(R"({"exceptions":[
                 {"name":"a","fields":["proc.name"],"comps":["=","="]},
                 {"name":"a","fields":["proc.name"]}]})")),
              ElementsAre("spec.exceptions[0].comps: comps must have one operator per field",
                          "spec.exceptions[1].name: duplicate exception \"a\""));
  EXPECT_THAT(
      rule_errors({{"macros", {{"is-shell", "proc.name = sh"}}}}),
      ElementsAre("spec.macros: macro names must be identifiers ([A-Za-z_][A-Za-z0-9_]*, at "
                  "most 128 characters), got \"is-shell\""));
  EXPECT_THAT(rule_errors(Json::parse(R"({"lists":{"1st":["a"]}})")),
              ElementsAre("spec.lists: list names must be identifiers ([A-Za-z_][A-Za-z0-9_]*, at "
                          "most 128 characters), got \"1st\""));
  EXPECT_THAT(rule_errors({{"rateLimit", {{"maxAlerts", 10}}}}),
              ElementsAre("spec.rateLimit: maxAlerts and perSeconds must be set together"));
  EXPECT_THAT(rule_errors({{"rateLimit", {{"maxAlerts", 0}, {"perSeconds", 90000}}}}),
              ElementsAre("spec.rateLimit.maxAlerts: must be between 1 and 1000000, got 0",
                          "spec.rateLimit.perSeconds: must be between 1 and 86400, got 90000"));
}

TEST(ApiValidateTest, AlertSinkTypeAndBlocks) {
  EXPECT_THAT(sink_errors({{"type", "stdout"}}), ElementsAre());
  EXPECT_THAT(sink_errors({{"type", "slack"}}),
              ElementsAre("spec.slack: required when type is slack"));
  EXPECT_THAT(sink_errors({{"type", "slack"}, {"slack", Json::object()}}),
              ElementsAre("spec.slack.webhookSecretRef.name: required when type is slack",
                          "spec.slack.webhookSecretRef.key: required when type is slack"));
  EXPECT_THAT(
      sink_errors(
          {{"type", "slack"},
           {"slack",
            {{"webhookSecretRef", {{"name", "Hook"}, {"key", "u rl"}}}, {"iconEmoji", "siren"}}},
           {"webhook", {{"url", "https://x"}}}}),
      ElementsAre("spec.webhook: only the block named by spec.type may be set (type is slack)",
                  "spec.slack.webhookSecretRef.name: must be a Secret name (lowercase DNS "
                  "subdomain, at most 253 characters)",
                  "spec.slack.webhookSecretRef.key: must be a Secret key ([-._a-zA-Z0-9]+, at most "
                  "253 characters)",
                  "spec.slack.iconEmoji: must be an emoji code like :rotating_light:"));
  EXPECT_THAT(sink_errors({{"type", "file"}, {"file", {{"path", "/var/log/vigil/alerts.json"}}}}),
              ElementsAre());
  EXPECT_THAT(sink_errors({{"type", "file"}, {"file", {{"path", "/etc/shadow"}}}}),
              ElementsAre("spec.file.path: must be an absolute path under /var/log/vigil/"));
  EXPECT_THAT(sink_errors({{"type", "file"}, {"file", {{"path", "/var/log/vigil/../../etc/x"}}}}),
              ElementsAre("spec.file.path: must name a file and must not contain '..'"));
  EXPECT_THAT(
      sink_errors({{"type", "file"}, {"file", {{"path", "/var/log/vigil/a"}, {"maxFiles", 101}}}}),
      ElementsAre("spec.file.maxFiles: must be between 0 and 100, got 101"));
}

TEST(ApiValidateTest, AlertSinkHttpEndpoints) {
  auto webhook = [](const Json& block) {
    return sink_errors({{"type", "webhook"}, {"webhook", block}});
  };
  EXPECT_THAT(webhook({{"url", "https://alerts.example.com/vigil?x=1"}}), ElementsAre());
  EXPECT_THAT(webhook({{"url", "http://10.0.0.1:8080"}}), ElementsAre());
  EXPECT_THAT(webhook(Json::object()), ElementsAre("spec.webhook.url: required"));
  EXPECT_THAT(webhook({{"url", "ftp://x/"}}),
              ElementsAre("spec.webhook.url: must start with https:// or http://"));
  EXPECT_THAT(webhook({{"url", "https://user:pw@alerts.example.com/"}}),
              ElementsAre("spec.webhook.url: must not carry credentials (user:password@); put them "
                          "in a Secret named by headersSecretRef"));
  EXPECT_THAT(webhook({{"url", "https://alerts.example.com/a@b"}}), ElementsAre());
  EXPECT_THAT(webhook({{"url", "https://[::1]:8443/x"}}), ElementsAre());
  // The cases kube-apiserver 1.36's isURL()/url().getHostname() reject.
  for (const char* bad :
       {"https://a b/", "https:///path", "http://host:port/", "http://:80/", "https://[::1/"}) {
    EXPECT_THAT(webhook({{"url", bad}}),
                ElementsAre("spec.webhook.url: must be a valid URL with a host"))
        << bad;
  }
  EXPECT_THAT(webhook({{"url", "https://x"},
                       {"headers",
                        {{{"name", "X-Cluster"}, {"value", "prod"}},
                         {{"name", "authorization"}, {"value", "Bearer abc"}},
                         {{"name", "X-Cluster"}, {"value", "again"}},
                         {{"name", "Bad Header"}, {"value", ""}}}},
                       {"headersSecretRef", {{"name", "auth"}}},
                       {"tls", {{"caSecretRef", {{"name", "ca"}}}}},
                       {"timeoutSeconds", 0}}),
              ElementsAre("spec.webhook.headers[1].name: credential headers must come from "
                          "headersSecretRef, never inline",
                          "spec.webhook.headers[2].name: duplicate \"X-Cluster\"",
                          "spec.webhook.headers[3].name: must be an HTTP header name",
                          "spec.webhook.tls.caSecretRef.key: required",
                          "spec.webhook.timeoutSeconds: must be between 1 and 300, got 0"));
  EXPECT_THAT(sink_errors({{"type", "alertmanager"},
                           {"alertmanager",
                            {{"url", "http://alertmanager:9093"},
                             {"labels",
                              {{{"name", "cluster"}, {"value", "prod"}},
                               {{"name", "bad-label"}, {"value", "x"}}}}}}}),
              ElementsAre("spec.alertmanager.labels[1].name: must be a label name "
                          "([a-zA-Z_][a-zA-Z0-9_]*)"));
  EXPECT_THAT(
      sink_errors({{"type", "falcosidekick"}, {"falcosidekick", {{"url", "http://fsk:2801/"}}}}),
      ElementsAre());
}

TEST(ApiValidateTest, AlertSinkFilterAndDelivery) {
  EXPECT_THAT(
      sink_errors({{"type", "stdout"},
                   {"filter",
                    {{"minimumPriority", "Notice"},
                     {"sources", Json::parse(R"(["k8s_audit","k8s_audit"])")},
                     {"namespaces", Json::parse(R"(["team-a","Team_B"])")}}},
                   {"delivery",
                    {{"backoff", {{"initialSeconds", 120}, {"maxSeconds", 60}}},
                     {"rateLimit", {{"maxAlerts", 0}, {"perSeconds", 1}}}}}}),
      ElementsAre("spec.filter.sources[1]: duplicate \"k8s_audit\"",
                  "spec.filter.namespaces[1]: must be a namespace name (lowercase DNS label)",
                  "spec.delivery.backoff: initialSeconds must not exceed maxSeconds",
                  "spec.delivery.rateLimit.maxAlerts: must be between 1 and 1000000, got 0"));
}

TEST(ApiValidateTest, NodeAgent) {
  NodeAgent a;
  a.metadata.name = "node-1";
  a.spec.node_name = "node-1";
  EXPECT_THAT(messages(validate(a)), ElementsAre());
  a.spec.node_name = "node-2";
  EXPECT_THAT(messages(validate(a)), ElementsAre("metadata.name: must equal spec.nodeName"));
  a.spec.node_name = "Node_1";
  EXPECT_THAT(
      messages(validate(a)),
      ElementsAre("spec.nodeName: must be a node name (lowercase DNS subdomain, at most 253 "
                  "characters)"));
  a.spec.node_name = "node-1";
  a.status.rules = {{"ns", "r", 1, 1, {}, true, ""}, {"ns", "r", 1, 2, {}, true, ""}};
  a.status.drops = -1;
  a.status.conditions = {{"Ready", ConditionStatus::kTrue, 0, Time{}, "probes attached", ""}};
  EXPECT_THAT(
      messages(validate(a)),
      ElementsAre("status.conditions[0].reason: must be CamelCase "
                  "([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?)",
                  "status.conditions[0].lastTransitionTime: required",
                  "status.drops: must not be negative", "status.rules[1]: duplicate entry ns/r"));
}

// ---------------------------------------------------------------------------------------------
// Conditions

TEST(ApiConditionTest, LastTransitionTimeChangesOnlyWithStatus) {
  const Time t0{std::chrono::sys_days{std::chrono::year{2026} / 11 / 27}};
  std::vector<Condition> conds;
  Condition accepted{"Accepted", ConditionStatus::kUnknown, 1, Time{},
                     "Pending",  "not compiled yet"};
  EXPECT_TRUE(set_condition(conds, accepted, t0));
  ASSERT_EQ(conds.size(), 1u);
  EXPECT_EQ(conds[0].last_transition_time, t0);

  // Same status, new reason and message: updated in place, time kept.
  accepted.status = ConditionStatus::kUnknown;
  accepted.reason = "Compiling";
  EXPECT_TRUE(set_condition(conds, accepted, t0 + 10s));
  EXPECT_EQ(conds[0].reason, "Compiling");
  EXPECT_EQ(conds[0].last_transition_time, t0);

  // Nothing new: no change reported, so no status write.
  EXPECT_FALSE(set_condition(conds, accepted, t0 + 20s));

  // The status flips: the time moves.
  accepted.status = ConditionStatus::kTrue;
  accepted.reason = "Compiled";
  accepted.observed_generation = 2;
  EXPECT_TRUE(set_condition(conds, accepted, t0 + 30s));
  EXPECT_EQ(conds[0].last_transition_time, t0 + 30s);
  EXPECT_EQ(conds[0].observed_generation, 2);

  // A new generation with the same status: time kept.
  accepted.observed_generation = 3;
  EXPECT_TRUE(set_condition(conds, accepted, t0 + 40s));
  EXPECT_EQ(conds[0].last_transition_time, t0 + 30s);

  // An explicit time wins over now; other types are separate entries.
  Condition programmed{"Programmed", ConditionStatus::kFalse, 3, t0 + 5s, "Pending", ""};
  EXPECT_TRUE(set_condition(conds, programmed, t0 + 50s));
  ASSERT_EQ(conds.size(), 2u);
  EXPECT_EQ(conds[1].last_transition_time, t0 + 5s);

  EXPECT_TRUE(is_condition_true(conds, kConditionAccepted));
  EXPECT_FALSE(is_condition_true(conds, kConditionProgrammed));
  EXPECT_FALSE(is_condition_true(conds, kConditionDegraded));
  ASSERT_NE(find_condition(conds, "Programmed"), nullptr);
  EXPECT_TRUE(remove_condition(conds, "Programmed"));
  EXPECT_FALSE(remove_condition(conds, "Programmed"));
  EXPECT_EQ(find_condition(conds, "Programmed"), nullptr);
  EXPECT_EQ(conds.size(), 1u);
}

TEST(ApiTimeTest, Rfc3339) {
  const auto t = parse_time("2026-11-27T03:31:56Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_time(*t), "2026-11-27T03:31:56Z");
  EXPECT_EQ(format_time(Time{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(parse_time("2026-11-27T05:31:56.123456+02:00"), t);
  EXPECT_EQ(parse_time("2026-11-26T22:01:56-05:30"), t);
  EXPECT_EQ(parse_time("2024-02-29T00:00:00z").has_value(), true);
  for (const char* bad : {"", "2026-11-27", "2026-11-27 03:31:56Z", "2026-11-27T03:31:56",
                          "2026-02-30T00:00:00Z", "2026-11-27T24:00:00Z", "2026-11-27T03:31:56.Z",
                          "2026-11-27T03:31:56+0200", "2026-11-27T03:31:56Zjunk"}) {
    EXPECT_FALSE(parse_time(bad)) << bad;
  }
}

// ---------------------------------------------------------------------------------------------
// Status patches

TEST(ApiStatusPatchTest, SecurityRuleStatusShape) {
  const Time t{std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + 3h};
  SecurityRuleStatus s;
  s.observed_generation = 3;
  set_condition(s.conditions, {"Accepted", ConditionStatus::kTrue, 3, {}, "Compiled", ""}, t);
  s.nodes = {3, 2, 1};
  s.alerts.total = 17;
  s.alerts.last_triggered = t + 1h;
  s.expanded_condition = "evt.type in (execve) and container.id != host";
  EXPECT_EQ(to_status_patch_json(s, "4711"),
            R"({"metadata":{"resourceVersion":"4711"},"status":{"observedGeneration":3,)"
            R"("conditions":[{"type":"Accepted","status":"True","observedGeneration":3,)"
            R"("lastTransitionTime":"2026-11-27T03:00:00Z","reason":"Compiled","message":""}],)"
            R"("nodes":{"targeted":3,"programmed":2,"failed":1},"nodesSummary":"2/3",)"
            R"("alerts":{"total":17,"lastTriggered":"2026-11-27T04:00:00Z"},)"
            R"("expandedCondition":"evt.type in (execve) and container.id != host"}})");

  // Nothing set: absent values are cleared with null; no resourceVersion precondition.
  EXPECT_EQ(to_status_patch_json(SecurityRuleStatus{}),
            R"({"status":{"observedGeneration":0,"conditions":[],"nodes":{"targeted":0,)"
            R"("programmed":0,"failed":0},"nodesSummary":"0/0","alerts":{"total":0,)"
            R"("lastTriggered":null},"expandedCondition":null}})");

  // What the patch writes reads back as the same status.
  Json obj = Json::parse(to_status_patch_json(s));
  obj["apiVersion"] = "vigil.dev/v1alpha1";
  obj["kind"] = "SecurityRule";
  obj["metadata"] = {{"name", "r"}};
  obj["spec"] = Json::parse(rule_json({}))["spec"];
  auto back = parse_security_rule(obj.dump());
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->status, s);
}

TEST(ApiStatusPatchTest, LongAndInvalidStringsStillMakeAValidPatch) {
  SecurityRuleStatus s;
  std::string long_message(kMaxConditionMessageLength + 100, 'x');
  long_message += "\xff\xfe";  // not UTF-8
  set_condition(s.conditions,
                {"Accepted", ConditionStatus::kFalse, 1, {}, "CompileError", long_message},
                Time{} + 1s);
  s.expanded_condition = std::string(kMaxExpandedConditionLength * 2, 'y');
  Json patch = Json::parse(to_status_patch_json(s));
  const std::string message = patch["status"]["conditions"][0]["message"];
  EXPECT_EQ(message.size(), kMaxConditionMessageLength);
  EXPECT_TRUE(message.ends_with("xxx..."));
  EXPECT_EQ(patch["status"]["expandedCondition"].get<std::string>().size(),
            kMaxExpandedConditionLength);

  // Multi-byte characters are not cut in half.
  SecurityRuleStatus u;
  std::string accents;
  for (size_t i = 0; i < kMaxExpandedConditionLength + 5; ++i) accents += "\xc3\xa9";
  u.expanded_condition = accents;
  const std::string cut =
      Json::parse(to_status_patch_json(u))["status"]["expandedCondition"].get<std::string>();
  EXPECT_EQ(cut.size(), (kMaxExpandedConditionLength - 3) * 2 + 3);

  AlertSinkStatus sink;
  sink.last_error = "webhook: 503 from \xc0 server";
  Json sp = Json::parse(to_status_patch_json(sink));
  EXPECT_THAT(sp["status"]["lastError"].get<std::string>(), HasSubstr("\xef\xbf\xbd"));
}

TEST(ApiStatusPatchTest, AlertSinkAndNodeAgentShapes) {
  const Time t{std::chrono::sys_days{std::chrono::year{2026} / 1 / 2} + 15h + 4min + 5s};
  AlertSinkStatus s;
  s.observed_generation = 2;
  s.delivered = 10;
  s.failed = 1;
  s.dropped = 2;
  s.last_delivery_time = t;
  EXPECT_EQ(to_status_patch_json(s),
            R"({"status":{"observedGeneration":2,"conditions":[],"delivered":10,"failed":1,)"
            R"("dropped":2,"lastError":null,"lastDeliveryTime":"2026-01-02T15:04:05Z"}})");

  NodeAgentStatus n;
  set_condition(n.conditions, {"Ready", ConditionStatus::kTrue, 0, {}, "Running", "ok"}, t);
  n.probe = {ProbeState::kRunning, 12, ""};
  n.bundle = {7, "sha256:ab", t, ""};
  n.events_per_second = 15000;
  n.drops = 3;
  n.alerts = 4;
  n.last_heartbeat_time = t;
  n.rules = {{"vigil-system", "shell-in-container", 2, 4, t, true, ""},
             {"team-a", "broken", 1, 0, std::nullopt, false, "unknown field 'proc.nme'"}};
  n.sinks = {{"vigil-system", "stdout", 4, 0, 0}};
  const std::string patch = to_status_patch_json(n, "9");
  EXPECT_EQ(patch,
            R"({"metadata":{"resourceVersion":"9"},"status":{"conditions":[{"type":"Ready",)"
            R"("status":"True","lastTransitionTime":"2026-01-02T15:04:05Z","reason":"Running",)"
            R"("message":"ok"}],"probe":{"state":"Running","programs":12,"message":null},)"
            R"("bundle":{"generation":7,"hash":"sha256:ab","appliedTime":"2026-01-02T15:04:05Z",)"
            R"("error":null},"eventsPerSecond":15000,"drops":3,"alerts":4,)"
            R"("lastHeartbeatTime":"2026-01-02T15:04:05Z","rules":[{"namespace":"vigil-system",)"
            R"("name":"shell-in-container","generation":2,"alerts":4,)"
            R"("lastTriggered":"2026-01-02T15:04:05Z","programmed":true},{"namespace":"team-a",)"
            R"("name":"broken","generation":1,"alerts":0,)"
            R"("programmed":false,"error":"unknown field 'proc.nme'"}],"sinks":[{"namespace":)"
            R"("vigil-system","name":"stdout","delivered":4,"failed":0,"dropped":0}]}})");

  Json obj = Json::parse(patch);
  obj["metadata"] = {{"name", "node-1"}};
  obj["spec"] = {{"nodeName", "node-1"}};
  auto back = parse_node_agent(obj.dump());
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->status, n);
  EXPECT_THAT(messages(validate(*back)), ElementsAre());
}

}  // namespace
}  // namespace vigil::api::v1alpha1
