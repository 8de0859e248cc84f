// Vigil's default k8s_audit rules (rules/default/audit_rules.yaml), checked end to end with the
// real vigilctl binary on recorded audit.k8s.io/v1 events: each rule fires on its attack events
// and on nothing else, its near misses and everyday cluster traffic fire nothing, the documents
// follow the conventions of the default rules, the operator compiles them, they load beside
// Falco's audit rules, and the standalone agent (which loads every default file but evaluates
// only syscall rules) still loads without an error.
//
// Events: test/data/audit/default_rules/RULE.json (an EventList; every event must raise RULE, and
// only RULE), RULE.near_miss.json (no alert) and benign.json (no alert).

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "agent/agent_config.h"
#include "agent/rule_files.h"
#include "common/api/v1alpha1/types.h"
#include "operator/controllers/rule_compilation.h"
#include "test/cli/default_rules_support.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using namespace vigil::test;

std::string audit_rules_path() { return source_path("rules/default/audit_rules.yaml"); }
std::string events_path(const std::string& name) {
  return source_path("test/data/audit/default_rules/" + name);
}
std::string falco_audit_rules_path() {
  return std::string(VIGIL_SOURCE_DIR) + "/../shared/reference/falco/k8s_audit_rules.yaml";
}

std::vector<YAML::Node> audit_rule_documents() {
  return security_rule_documents({audit_rules_path()}, "");
}

std::vector<std::string> audit_rule_names() { return names_of(audit_rule_documents()); }

// The events of an EventList file (0 when the file is missing or is not one).
size_t count_events(const std::string& path) {
  std::ifstream in(path);
  if (!in) return 0;
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("kind", "") != "EventList" ||
      j.value("apiVersion", "") != "audit.k8s.io/v1" || !j.contains("items"))
    return 0;
  return j["items"].size();
}

// Every default rule file is loaded, as the operator and `vigilctl test` users do.
CliResult run_events(const std::string& events, bool json = true) {
  return run_default_rules(events, "cp-t", json);
}

TEST(DefaultAuditRulesTest, FileIsADefaultRuleFile) {
  const auto files = default_rule_files();
  EXPECT_NE(std::find(files.begin(), files.end(), audit_rules_path()), files.end());
  EXPECT_GE(audit_rule_names().size(), 10u);
}

TEST(DefaultAuditRulesTest, LintWithoutErrorsOrWarnings) {
  CliResult r = run_cli("lint " + audit_rules_path());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(" 0 errors, 0 warnings")) << r.out;
  r = run_cli("lint " + join_files(default_rule_files()));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(" 0 errors, 0 warnings")) << r.out;
}

// The conventions of every default rule (see default_rules_test.cc), for the k8s_audit source:
// Kubernetes object names in vigil-system, a description, k8s and MITRE tags, well-formed
// exceptions, and tuning lists that are lists of strings named vigil_k8s_*.
TEST(DefaultAuditRulesTest, DocumentsAreClusterWideSecurityRules) {
  const std::regex dns_label("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  const std::regex exception_name("[A-Za-z0-9_][A-Za-z0-9_.-]*");
  const std::regex technique("T[0-9]{4}(\\.[0-9]{3})?");
  const std::set<std::string> priorities = {"Emergency", "Alert",  "Critical",      "Error",
                                            "Warning",   "Notice", "Informational", "Debug"};
  const auto docs = audit_rule_documents();
  ASSERT_GE(docs.size(), 10u);
  std::set<std::string> seen;
  for (const auto& d : docs) {
    const std::string name = d["metadata"]["name"].as<std::string>();
    SCOPED_TRACE(name);
    EXPECT_TRUE(seen.insert(name).second) << "defined twice";
    EXPECT_EQ(d["apiVersion"].as<std::string>(), "vigil.dev/v1alpha1");
    EXPECT_TRUE(std::regex_match(name, dns_label) && name.size() <= 63);
    EXPECT_EQ(d["metadata"]["namespace"].as<std::string>(), "vigil-system");
    const YAML::Node spec = d["spec"];
    ASSERT_TRUE(spec.IsMap());
    EXPECT_EQ(spec["source"].as<std::string>(), "k8s_audit");
    EXPECT_TRUE(priorities.count(spec["priority"].as<std::string>()));
    EXPECT_GT(spec["description"].as<std::string>().size(), 40u);
    // Every alert names who did it.
    EXPECT_THAT(spec["output"].as<std::string>(), HasSubstr("user=%ka.user.name"));
    bool k8s = false, tactic = false, tech = false;
    for (const auto& t : spec["tags"]) {
      const std::string tag = t.as<std::string>();
      k8s = k8s || tag == "k8s";
      tactic = tactic || tag.rfind("mitre_", 0) == 0;
      tech = tech || std::regex_match(tag, technique);
    }
    EXPECT_TRUE(k8s && tactic && tech) << "tags need k8s, a mitre_ tactic and a T technique id";
    if (const YAML::Node lists = spec["lists"]) {
      ASSERT_TRUE(lists.IsMap());
      for (const auto& kv : lists) {
        EXPECT_EQ(kv.first.as<std::string>().rfind("vigil_k8s_", 0), 0u) << kv.first.Scalar();
        ASSERT_TRUE(kv.second.IsSequence()) << kv.first.Scalar();
        for (const auto& item : kv.second) EXPECT_TRUE(item.IsScalar()) << kv.first.Scalar();
      }
    }
    if (const YAML::Node exs = spec["exceptions"]) {
      for (const auto& ex : exs) {
        const std::string ex_name = ex["name"].as<std::string>();
        EXPECT_TRUE(std::regex_match(ex_name, exception_name)) << ex_name;
        ASSERT_TRUE(ex["fields"].IsSequence()) << ex_name;
        const size_t nfields = ex["fields"].size();
        if (ex["comps"]) {
          EXPECT_EQ(ex["comps"].size(), nfields) << ex_name;
        }
        ASSERT_TRUE(ex["values"].IsSequence()) << ex_name;
        for (const auto& row : ex["values"]) {
          ASSERT_TRUE(row.IsSequence()) << ex_name;
          EXPECT_EQ(row.size(), nfields) << ex_name;
        }
      }
    }
  }
}

TEST(DefaultAuditRulesTest, EveryRuleHasRecordedEvents) {
  for (const auto& name : audit_rule_names()) {
    EXPECT_GT(count_events(events_path(name + ".json")), 0u) << name << ": no attack events";
    EXPECT_GT(count_events(events_path(name + ".near_miss.json")), 0u)
        << name << ": no near-miss events";
  }
}

// Fields of the first alert of each rule's attack events that must come out as recorded.
const std::map<std::string, nlohmann::json>& expected_fields() {
  static const std::map<std::string, nlohmann::json> kExpected = {
      {"nodeport-service-created",
       {{"ka.user.name", "jane@example.com"},
        {"ka.verb", "create"},
        {"ka.target.namespace", "shop"},
        {"ka.target.name", "payments-debug"},
        {"ka.req.service.ports",
         {R"({"name":"5432-5432","protocol":"TCP","port":5432,"targetPort":5432,"nodePort":31337})"}}}},
      {"privileged-pod-created",
       {{"ka.user.name", "jane@example.com"},
        {"ka.target.namespace", "shop"},
        {"ka.resp.name", "priv-shell"},
        {"ka.req.pod.containers.image", {"docker.io/library/alpine:3.20"}},
        {"ka.req.pod.containers.privileged", {"true"}}}},
      {"pod-running-as-root",
       {{"ka.resp.name", "root-debug"},
        {"ka.req.pod.run_as_user", "0"},
        {"ka.req.pod.containers.eff_run_as_user", {"0"}},
        {"ka.req.pod.containers.image", {"docker.io/library/ubuntu:24.04"}}}},
      {"host-namespace-pod-created",
       {{"ka.resp.name", "netdebug"},
        {"ka.req.pod.host_network", "true"},
        {"ka.req.pod.containers.image", {"docker.io/nicolaka/netshoot:v0.13"}}}},
      {"sensitive-host-mount-pod-created",
       {{"ka.resp.name", "node-inspector"},
        {"ka.req.pod.volumes.hostpath", {"/etc", "/var/run/docker.sock"}}}},
      {"exec-or-attach-into-pod",
       {{"ka.user.name", "jane@example.com"},
        {"ka.target.subresource", "exec"},
        {"ka.target.namespace", "shop"},
        {"ka.target.name", "payments-7d9c6b8f5-kx2lq"},
        {"ka.uri.param[container]", "payments"},
        {"ka.uri.param[command]", "/bin/sh"}}},
      {"secret-read-by-unexpected-user",
       {{"ka.user.name", "jane@example.com"},
        {"ka.verb", "get"},
        {"ka.target.namespace", "shop"},
        {"ka.target.name", "payments-db"}}},
      {"clusterrole-with-wildcard",
       {{"ka.user.name", "kubernetes-admin"},
        {"ka.verb", "create"},
        {"ka.target.name", "ops-superuser"}}},
      {"binding-to-cluster-admin",
       {{"ka.target.resource", "clusterrolebindings"},
        {"ka.target.name", "system-metrics-reader"},
        {"ka.req.binding.subjects",
         {R"({"kind":"ServiceAccount","name":"metrics-helper","namespace":"monitoring"})"}}}},
      {"anonymous-request-allowed",
       {{"ka.user.name", "system:anonymous"},
        {"ka.verb", "list"},
        {"ka.uri", "/api/v1/namespaces/kube-system/configmaps"},
        {"ka.target.namespace", "kube-system"}}},
  };
  return kExpected;
}

std::string priority_of(const std::string& rule) {
  for (const auto& d : audit_rule_documents())
    if (d["metadata"]["name"].as<std::string>() == rule)
      return d["spec"]["priority"].as<std::string>();
  return "";
}

class DefaultAuditRuleTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DefaultAuditRuleTest, AttackEventsFireExactlyThisRule) {
  const std::string rule = GetParam();
  const std::string events = events_path(rule + ".json");
  const size_t n = count_events(events);
  ASSERT_GT(n, 0u) << events;
  CliResult r = run_events(events);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto alerts = alerts_of(r.out);
  ASSERT_EQ(alerts.size(), n) << "every event must raise exactly one alert\n" << r.out;
  const std::string priority = priority_of(rule);
  for (const auto& a : alerts) {
    EXPECT_EQ(a.value("rule", ""), rule) << a.dump();
    EXPECT_EQ(a.value("source", ""), "k8s_audit");
    EXPECT_EQ(a.value("priority", ""), priority);
    EXPECT_EQ(a.value("hostname", ""), "cp-t");
  }
  auto it = expected_fields().find(rule);
  ASSERT_NE(it, expected_fields().end()) << "add the rule's key output fields to expected_fields()";
  const nlohmann::json& fields = alerts.front()["output_fields"];
  for (const auto& [key, value] : it->second.items()) {
    ASSERT_TRUE(fields.contains(key)) << key << " is not in the rule's output\n"
                                      << alerts.front().dump();
    EXPECT_EQ(fields[key], value) << key;
  }
}

TEST_P(DefaultAuditRuleTest, NearMissesFireNothing) {
  const std::string events = events_path(GetParam() + ".near_miss.json");
  const size_t n = count_events(events);
  ASSERT_GT(n, 0u) << events;
  CliResult r = run_events(events, /*json=*/false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(std::to_string(n) + " events, 0 alerts")) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Rules, DefaultAuditRuleTest, ::testing::ValuesIn(audit_rule_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

// A rollout and the control plane's own traffic (controllers and the kubelet reading secrets,
// the scheduler binding, leases), here and in the shared audit corpus.
TEST(DefaultAuditRulesTest, BenignTrafficFiresNothing) {
  for (const std::string& events : std::vector<std::string>{
           events_path("benign.json"), source_path("test/data/audit/benign.json")}) {
    SCOPED_TRACE(events);
    const size_t n = count_events(events);
    ASSERT_GE(n, 10u);
    CliResult r = run_events(events, /*json=*/false);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr(std::to_string(n) + " events, 0 alerts")) << r.out;
  }
  CliResult r = run_events(source_path("test/data/audit/events.jsonl"), /*json=*/false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("4 events, 0 alerts")) << r.out;
}

// The intrusion of the shared corpus (test/data/audit/README.md) raises every default rule.
TEST(DefaultAuditRulesTest, IntrusionCorpusRaisesEveryRule) {
  CliResult r = run_events(source_path("test/data/audit/attack.json"));
  ASSERT_EQ(r.status, 0) << r.out;
  std::map<std::string, int> fired;
  for (const auto& a : alerts_of(r.out)) fired[a.value("rule", "")]++;
  for (const auto& name : audit_rule_names()) EXPECT_GT(fired[name], 0) << name;
  // The privileged pod (no security context), the host-mounting pod, the host-namespace pod
  // and the privileged init container's pod all run as root.
  EXPECT_EQ(fired["pod-running-as-root"], 4);
  EXPECT_EQ(fired["privileged-pod-created"], 2);
}

// Every recorded file is an EventList that decodes: a typo must not pass as "no alert".
TEST(DefaultAuditRulesTest, AllRecordedEventsDecode) {
  std::error_code ec;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(events_path(""), ec)) {
    if (e.path().extension() != ".json") continue;
    ++files;
    EXPECT_GT(count_events(e.path().string()), 0u) << e.path();
    CliResult r = run_events(e.path().string(), /*json=*/false);
    EXPECT_EQ(r.status, 0) << e.path() << "\n" << r.out;
  }
  EXPECT_EQ(files, 2 * audit_rule_names().size() + 1);
}

// The Kubernetes path: valid SecurityRules for the API, compiled by the operator cluster-wide
// without a warning.
TEST(DefaultAuditRulesTest, ApiAcceptsAndOperatorCompilesThem) {
  namespace api = vigil::api::v1alpha1;
  std::vector<vigil::op::RuleObject> objects;
  for (const auto& d : audit_rule_documents()) {
    const nlohmann::json doc = to_json_value(d);
    const std::string name = doc["metadata"]["name"].get<std::string>();
    SCOPED_TRACE(name);
    auto r = api::parse_security_rule(doc.dump());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(api::join_errors(api::validate(*r)), "");
    objects.push_back({"vigil-system", name, 1, doc["spec"].dump()});
  }
  ASSERT_FALSE(objects.empty());
  const auto compiled = vigil::op::compile_security_rules(objects, "vigil-system");
  ASSERT_EQ(compiled.verdicts.size(), objects.size());
  for (const auto& v : compiled.verdicts) {
    EXPECT_TRUE(v.accepted) << v.name << ": " << v.message;
    EXPECT_EQ(v.message, "Compiled") << v.name;
    EXPECT_EQ(v.source, "k8s_audit") << v.name;
  }
  EXPECT_EQ(compiled.accepted.size(), objects.size());
}

// The standalone agent loads the embedded defaults, audit rules included: they must compile
// there too, and be counted as rules it does not evaluate, not fail the load.
TEST(DefaultAuditRulesTest, StandaloneAgentLoadsTheDefaultsWithoutError) {
  vigil::agent::AgentConfig config;
  config.default_rules = true;
  auto loaded = vigil::agent::load_rules(config);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  EXPECT_EQ(loaded->other_rules, audit_rule_names().size());
  EXPECT_GE(loaded->syscall_rules, 11u);
  for (const auto& w : loaded->warnings) EXPECT_THAT(w, Not(HasSubstr("error"))) << w;
}

#define REQUIRE_FALCO_AUDIT_RULES()          \
  if (!fs::exists(falco_audit_rules_path())) \
  GTEST_SKIP() << "Falco reference audit rules not found at " << falco_audit_rules_path()

// Beside Falco's k8s_audit_rules.yaml: no name clash, both load, and both fire.
TEST(DefaultAuditRulesTest, LoadBesideFalcoAuditRulesWithoutClash) {
  REQUIRE_FALCO_AUDIT_RULES();
  std::set<std::string> falco;
  for (const auto& item : YAML::LoadFile(falco_audit_rules_path())) {
    if (item.IsMap() && item["rule"]) {
      std::string n = item["rule"].as<std::string>();
      std::transform(n.begin(), n.end(), n.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      falco.insert(n);
    }
  }
  ASSERT_GT(falco.size(), 20u);
  for (const auto& name : audit_rule_names()) EXPECT_FALSE(falco.count(name)) << name;

  CliResult r = run_cli("lint " + falco_audit_rules_path() + " " + audit_rules_path());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(" 0 errors")) << r.out;

  r = run_cli("test --rules " + falco_audit_rules_path() + " " + audit_rules_path() + " --events " +
              events_path("nodeport-service-created.json"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("  nodeport-service-created\n")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("  Create NodePort Service\n")) << r.out;
}

}  // namespace
