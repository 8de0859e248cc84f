// Vigil's default syscall rules (rules/default/*.yaml), checked end to end with the real vigilctl
// binary: they lint without a single warning (so every rule restricts evt.type), each rule fires
// on its recorded attack events and on nothing else, its near misses and a benign workload fire
// nothing, and the files load beside Falco's own rules without a name clash.
//
// Events: test/data/syscall/default_rules/RULE.jsonl (every event must raise RULE, and only
// RULE), RULE.near_miss.jsonl (no alert) and benign.jsonl (no alert).

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
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

#include "common/api/v1alpha1/types.h"
#include "operator/controllers/rule_compilation.h"
#include "test/cli/default_rules_support.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using namespace vigil::test;

std::string events_path(const std::string& name) {
  return source_path("test/data/syscall/default_rules/" + name);
}
std::string falco_rules_path() {
  return std::string(VIGIL_SOURCE_DIR) + "/../shared/reference/falco/falco_rules.yaml";
}

// Every SecurityRule document of the default rule files for the syscall source (the k8s_audit
// defaults have their own test, default_audit_rules_test.cc).
std::vector<YAML::Node> default_rule_documents() {
  return security_rule_documents(default_rule_files(), "syscall");
}

std::vector<std::string> default_rule_names() { return names_of(default_rule_documents()); }

size_t count_events(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) n += line.find_first_not_of(" \t\r") != std::string::npos;
  return n;
}

CliResult run_events(const std::string& events, bool json = true) {
  return run_default_rules(events, "node-t", json);
}

TEST(DefaultRulesTest, LintWithoutErrorsOrWarnings) {
  const auto files = default_rule_files();
  ASSERT_FALSE(files.empty()) << "no rules/default/*.yaml";
  CliResult r = run_cli("lint " + join_files(files));
  EXPECT_EQ(r.status, 0) << r.out;
  // A rule whose condition does not restrict evt.type draws a warning, so this also proves that
  // every rule is indexed by event type.
  EXPECT_THAT(r.out, HasSubstr(" 0 errors, 0 warnings")) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr(": warning:"))) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr(": error:"))) << r.out;
}

// What `kubectl apply` checks (crds/vigil.dev_securityrules.yaml) and the loader does not: object
// names, the namespace that makes a rule cluster-wide, exception shapes, and the conventions
// every default rule follows (MITRE tags, a description).
TEST(DefaultRulesTest, DocumentsAreClusterWideSecurityRules) {
  const std::regex dns_label("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  const std::regex exception_name("[A-Za-z0-9_][A-Za-z0-9_.-]*");
  const std::regex technique("T[0-9]{4}(\\.[0-9]{3})?");
  const std::set<std::string> priorities = {"Emergency", "Alert",  "Critical",      "Error",
                                            "Warning",   "Notice", "Informational", "Debug"};
  const std::set<std::string> comps = {"=",         "==",         "!=",         "<",
                                       "<=",        ">",          ">=",         "contains",
                                       "icontains", "bcontains",  "startswith", "bstartswith",
                                       "endswith",  "glob",       "iglob",      "regex",
                                       "in",        "intersects", "pmatch"};
  const auto docs = default_rule_documents();
  ASSERT_GE(docs.size(), 11u);
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
    EXPECT_EQ(spec["source"].as<std::string>(), "syscall");
    EXPECT_TRUE(priorities.count(spec["priority"].as<std::string>()));
    EXPECT_GT(spec["description"].as<std::string>().size(), 40u);
    bool tactic = false, tech = false;
    for (const auto& t : spec["tags"]) {
      const std::string tag = t.as<std::string>();
      tactic = tactic || tag.rfind("mitre_", 0) == 0;
      tech = tech || std::regex_match(tag, technique);
    }
    EXPECT_TRUE(tactic && tech) << "tags need a mitre_ tactic and a T technique id";
    if (const YAML::Node exs = spec["exceptions"]) {
      for (const auto& ex : exs) {
        const std::string ex_name = ex["name"].as<std::string>();
        EXPECT_TRUE(std::regex_match(ex_name, exception_name)) << ex_name;
        ASSERT_TRUE(ex["fields"].IsSequence()) << ex_name << ": fields must be a list";
        const size_t nfields = ex["fields"].size();
        if (ex["comps"]) {
          ASSERT_TRUE(ex["comps"].IsSequence()) << ex_name;
          EXPECT_EQ(ex["comps"].size(), nfields) << ex_name;
          for (const auto& c : ex["comps"])
            EXPECT_TRUE(comps.count(c.as<std::string>())) << ex_name;
        }
        ASSERT_TRUE(ex["values"].IsSequence()) << ex_name;
        for (const auto& row : ex["values"]) {
          ASSERT_TRUE(row.IsSequence()) << ex_name << ": every row is a list";
          EXPECT_EQ(row.size(), nfields) << ex_name;
          for (const auto& cell : row) EXPECT_TRUE(cell.IsScalar()) << ex_name;
        }
      }
    }
  }
}

TEST(DefaultRulesTest, EveryRuleHasRecordedEvents) {
  for (const auto& name : default_rule_names()) {
    EXPECT_GT(count_events(events_path(name + ".jsonl")), 0u) << name << ": no attack events";
    EXPECT_GT(count_events(events_path(name + ".near_miss.jsonl")), 0u)
        << name << ": no near-miss events";
  }
}

// Fields of the first alert of each rule's attack events that must come out as recorded.
const std::map<std::string, nlohmann::json>& expected_fields() {
  static const std::map<std::string, nlohmann::json> kExpected = {
      {"terminal-shell-in-container",
       {{"proc.name", "sh"},
        {"proc.tty", 34816},
        {"proc.pname", "runc:[0:PARENT]"},
        {"container.id", "3ad7b26ded6d"},
        {"k8s.pod.name", "web-7d9c5b8f4-x2k4n"}}},
      {"sensitive-file-read-by-untrusted-program",
       {{"fd.name", "/etc/shadow"}, {"proc.cmdline", "cat /etc/shadow"}, {"proc.pname", "sh"}}},
      {"write-below-etc",
       {{"fd.name", "/etc/cron.d/sync"},
        {"evt.arg.flags", "O_WRONLY|O_CREAT|O_APPEND"},
        {"user.loginuid", 1000}}},
      {"write-below-binary-dir",
       {{"fd.name", "/usr/local/bin/kubectl"},
        {"proc.name", "curl"},
        {"container.id", "3ad7b26ded6d"}}},
      {"netcat-remote-code-execution",
       {{"proc.cmdline", "nc -lvnp 4444 -e /bin/sh"}, {"proc.exepath", "/usr/bin/nc.traditional"}}},
      {"kernel-module-load",
       {{"evt.res", "EPERM"}, {"fd.name", "/tmp/diamorphine.ko"}, {"proc.name", "insmod"}}},
      {"ptrace-attach-to-process",
       {{"evt.arg.request", "PTRACE_ATTACH"}, {"evt.arg.pid", "1234"}, {"proc.name", "gdb"}}},
      {"execution-from-dev-shm", {{"proc.exepath", "/dev/shm/.x/kdevtmpfsi"}}},
      {"drop-and-execute-new-binary-in-container",
       {{"proc.exepath", "/tmp/xmrig"}, {"container.id", "3ad7b26ded6d"}}},
      {"exec-of-writable-binary-in-container",
       {{"proc.exepath", "/data/bin/agent"}, {"user.uid", 1000}}},
      {"packet-socket-created-in-container",
       {{"evt.args", "domain=AF_PACKET type=3 proto=768"}, {"proc.name", "python3"}}},
      {"contact-k8s-api-server-from-container",
       {{"fd.sip", "10.96.0.1"}, {"fd.sport", 443}, {"proc.name", "curl"}}},
      {"fileless-execution-via-memfd", {{"proc.exepath", "memfd:payload (deleted)"}}},
      {"shell-spawned-by-web-server",
       {{"proc.cmdline", "sh -c id; uname -a"}, {"proc.pname", "php-fpm8.2"}}},
      {"setuid-root-outside-sudo",
       {{"evt.type", "setuid"},
        {"evt.args", "uid=0"},
        {"proc.exepath", "/tmp/.bd"},
        {"user.loginuid", 1000}}},
      {"read-environ-of-other-process",
       {{"fd.name", "/proc/1/environ"}, {"proc.cmdline", "cat /proc/1/environ"}}},
  };
  return kExpected;
}

class DefaultRuleTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DefaultRuleTest, AttackEventsFireExactlyThisRule) {
  const std::string rule = GetParam();
  const std::string events = events_path(rule + ".jsonl");
  const size_t n = count_events(events);
  ASSERT_GT(n, 0u) << events;
  CliResult r = run_events(events);
  ASSERT_EQ(r.status, 0) << r.out;
  const auto alerts = alerts_of(r.out);
  ASSERT_EQ(alerts.size(), n) << "every event must raise exactly one alert\n" << r.out;
  std::string priority;
  for (const auto& d : default_rule_documents())
    if (d["metadata"]["name"].as<std::string>() == rule)
      priority = d["spec"]["priority"].as<std::string>();
  for (const auto& a : alerts) {
    EXPECT_EQ(a.value("rule", ""), rule) << a.dump();
    EXPECT_EQ(a.value("source", ""), "syscall");
    EXPECT_EQ(a.value("priority", ""), priority);
    EXPECT_EQ(a.value("hostname", ""), "node-t");
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

TEST_P(DefaultRuleTest, NearMissesFireNothing) {
  const std::string events = events_path(GetParam() + ".near_miss.jsonl");
  const size_t n = count_events(events);
  ASSERT_GT(n, 0u) << events;
  CliResult r = run_events(events, /*json=*/false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(std::to_string(n) + " events, 0 alerts")) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Rules, DefaultRuleTest, ::testing::ValuesIn(default_rule_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

TEST(DefaultRulesTest, BenignWorkloadFiresNothing) {
  const std::string events = events_path("benign.jsonl");
  const size_t n = count_events(events);
  ASSERT_GE(n, 40u);
  CliResult r = run_events(events, /*json=*/false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(std::to_string(n) + " events, 0 alerts")) << r.out;
}

// Every recorded event decodes: a typo in a data file must not pass as "no alert".
TEST(DefaultRulesTest, AllRecordedEventsDecode) {
  std::error_code ec;
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(events_path(""), ec)) {
    if (e.path().extension() != ".jsonl") continue;
    ++files;
    CliResult r = run_events(e.path().string(), /*json=*/false);
    EXPECT_EQ(r.status, 0) << e.path() << "\n" << r.out;
    EXPECT_THAT(r.out, Not(HasSubstr("could not be decoded"))) << e.path();
  }
  EXPECT_EQ(files, 2 * default_rule_names().size() + 1);
}

// YAML to JSON as kubectl sends it: plain scalars that read as YAML 1.1 booleans, null or integers
// become those, quoted ones stay strings.
// The Kubernetes path: each document is a valid SecurityRule for the API (what the CRD enforces
// on `kubectl apply`), and the operator compiles all of them, cluster-wide, without a warning.
TEST(DefaultRulesTest, ApiAcceptsAndOperatorCompilesThem) {
  namespace api = vigil::api::v1alpha1;
  std::vector<vigil::op::RuleObject> objects;
  for (const auto& d : default_rule_documents()) {
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
    EXPECT_EQ(v.source, "syscall") << v.name;
  }
  EXPECT_EQ(compiled.accepted.size(), objects.size());
}

#define REQUIRE_FALCO_RULES()          \
  if (!fs::exists(falco_rules_path())) \
  GTEST_SKIP() << "Falco reference rules not found at " << falco_rules_path()

// A user may load Falco's rules and Vigil's defaults together. Rule names must not clash (a
// same-named rule would silently replace the other); Vigil's names are Kubernetes object names
// (lowercase, hyphens), Falco's are sentences, so they cannot.
TEST(DefaultRulesTest, LoadBesideFalcoRulesWithoutClash) {
  REQUIRE_FALCO_RULES();
  std::set<std::string> falco;
  for (const auto& item : YAML::LoadFile(falco_rules_path())) {
    if (item.IsMap() && item["rule"]) {
      std::string n = item["rule"].as<std::string>();
      std::transform(n.begin(), n.end(), n.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      falco.insert(n);
    }
  }
  ASSERT_GT(falco.size(), 20u);
  for (const auto& name : default_rule_names()) EXPECT_FALSE(falco.count(name)) << name;

  CliResult r = run_cli("lint " + falco_rules_path() + " " + join_files(default_rule_files()));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(" 0 errors")) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr(": error:"))) << r.out;

  // Both sets fire side by side: the shell in a container raises Falco's rule and Vigil's.
  r = run_cli("test --rules " + falco_rules_path() + " " + join_files(default_rule_files()) +
              " --events " + events_path("terminal-shell-in-container.jsonl"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("  terminal-shell-in-container\n")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("  Terminal shell in container\n")) << r.out;
}

}  // namespace
