#include "agent/bundle_sync.h"

#include <nlohmann/json.hpp>

#include "common/bundle/bundle.h"
#include "common/fields/syscall_event.h"
#include "gtest/gtest.h"

namespace vigil::agent {
namespace {

using bundle::BundleObject;

BundleObject rule(const std::string& ns, const std::string& name, const std::string& cond,
                  int64_t generation = 3, const std::string& source = "syscall") {
  nlohmann::json spec = {{"source", source},
                         {"condition", cond},
                         {"output", source == "syscall" ? "hit %proc.name" : "hit %ka.verb"},
                         {"priority", "Warning"}};
  return BundleObject{ns, name, generation, spec.dump()};
}

// The ConfigMap as the API server returns it.
std::string configmap(const std::vector<BundleObject>& rules, int64_t generation = 7) {
  bundle::Bundle b = bundle::render_bundle(rules, {});
  nlohmann::json cm = {{"apiVersion", "v1"},
                       {"kind", "ConfigMap"},
                       {"metadata",
                        {{"name", "vigil-bundle"},
                         {"namespace", "vigil-system"},
                         {"resourceVersion", "42"},
                         {"annotations",
                          {{"vigil.dev/bundle-generation", std::to_string(generation)},
                           {"vigil.dev/bundle-hash", b.hash}}}}},
                       {"data", {{"rules.yaml", b.rules}, {"sinks.json", b.sinks}}}};
  return cm.dump();
}

TEST(BundleSyncTest, CompilesEveryRuleWithItsIdentityAndGeneration) {
  auto b = compile_bundle(
      configmap({rule("vigil-system", "shell", "spawned_process and proc.name = bash", 4),
                 rule("team-a", "cat", "spawned_process and proc.name = cat", 9),
                 rule("vigil-system", "nodeport", "ka.verb = create", 2, "k8s_audit")}),
      "vigil-system");
  ASSERT_EQ(b.error, "");
  ASSERT_NE(b.rule_set, nullptr);
  EXPECT_EQ(b.generation, 7);
  EXPECT_EQ(b.hash.rfind("sha256:", 0), 0u);
  EXPECT_EQ(b.resource_version, "42");
  EXPECT_EQ(b.syscall_rules, 2u);
  ASSERT_EQ(b.rules.size(), 3u);
  // Sorted by namespace, name.
  EXPECT_EQ(b.rules[0].ns, "team-a");
  EXPECT_EQ(b.rules[0].name, "cat");
  EXPECT_EQ(b.rules[0].generation, 9);
  EXPECT_TRUE(b.rules[0].programmed);
  EXPECT_EQ(b.rules[1].name, "nodeport");
  EXPECT_FALSE(b.rules[1].programmed);
  EXPECT_NE(b.rules[1].error.find("not evaluated by node agents"), std::string::npos);
  EXPECT_EQ(b.rules[2].name, "shell");
  EXPECT_EQ(b.rules[2].generation, 4);
  EXPECT_TRUE(b.rules[2].programmed);
}

TEST(BundleSyncTest, TenantRulesOnlySeeTheirNamespace) {
  auto b = compile_bundle(configmap({rule("team-a", "cat", "spawned_process and proc.name = cat"),
                                     rule("vigil-system", "all", "spawned_process")}),
                          "vigil-system");
  ASSERT_EQ(b.error, "");
  const auto* src = b.rule_set->source("syscall");
  ASSERT_NE(src, nullptr);
  for (const auto& r : src->rules()) {
    if (r.name == "cat") {
      EXPECT_NE(r.expanded_condition.find("k8s.ns.name = \"team-a\""), std::string::npos)
          << r.expanded_condition;
    } else {
      EXPECT_EQ(r.expanded_condition.find("k8s.ns.name"), std::string::npos);
    }
  }
}

TEST(BundleSyncTest, ARuleThatDoesNotCompileRefusesTheWholeBundle) {
  auto b = compile_bundle(configmap({rule("vigil-system", "good", "spawned_process"),
                                     rule("team-a", "bad", "spawned_process and (proc.name = a")}),
                          "vigil-system");
  EXPECT_EQ(b.rule_set, nullptr);
  EXPECT_NE(b.error.find("previous bundle stays in effect"), std::string::npos) << b.error;
  EXPECT_NE(b.error.find("bad"), std::string::npos) << b.error;
  EXPECT_EQ(b.syscall_rules, 0u);
  for (const auto& r : b.rules) EXPECT_FALSE(r.programmed) << r.name;
}

TEST(BundleSyncTest, MalformedConfigMapsAreErrorsNotCrashes) {
  for (const std::string& bad : std::vector<std::string>{
           "", "{", "[]", "null", R"({"data": 3})", R"({"data": {"rules.yaml": 3}})",
           R"({"data": {}})", R"({"metadata": {"annotations": {"vigil.dev/bundle-generation": "x"}},
            "data": {"rules.yaml": "{not json"}})",
           std::string(10000, '[') + std::string(10000, ']')}) {
    auto b = compile_bundle(bad, "vigil-system");
    EXPECT_NE(b.error, "") << bad.substr(0, 80);
    EXPECT_EQ(b.rule_set, nullptr);
  }
}

TEST(BundleSyncTest, EmptyBundleAndEmptyRuleSet) {
  auto b = compile_bundle(configmap({}), "vigil-system");
  EXPECT_EQ(b.error, "");
  ASSERT_NE(b.rule_set, nullptr);
  EXPECT_EQ(b.rule_set->rule_count(), 0u);
  ASSERT_NE(empty_rule_set(), nullptr);
  EXPECT_EQ(empty_rule_set()->rule_count(), 0u);
}

}  // namespace
}  // namespace vigil::agent
