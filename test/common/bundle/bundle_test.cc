#include "common/bundle/bundle.h"

#include <gtest/gtest.h>

#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"

namespace vigil::bundle {
namespace {

BundleObject rule(const std::string& ns, const std::string& name, const std::string& cond) {
  return BundleObject{ns, name, 3,
                      R"({"source":"syscall","condition":")" + cond +
                          R"(","output":"shell %proc.name","priority":"Warning"})"};
}

TEST(BundleTest, RenderingIsDeterministicAndHashFollowsContent) {
  auto a =
      render_bundle({rule("b", "r2", "spawned_process"), rule("a", "r1", "spawned_process")}, {});
  auto b =
      render_bundle({rule("a", "r1", "spawned_process"), rule("b", "r2", "spawned_process")}, {});
  EXPECT_EQ(a.rules, b.rules);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.hash.rfind("sha256:", 0), 0u);
  EXPECT_EQ(a.hash.size(), 7u + 64u);
  auto c = render_bundle({rule("a", "r1", "spawned_process and container")}, {});
  EXPECT_NE(a.hash, c.hash);
  auto d = render_bundle({rule("a", "r1", "spawned_process")},
                         {BundleObject{"a", "s", 1, R"({"type":"stdout"})"}});
  auto e = render_bundle({rule("a", "r1", "spawned_process")}, {});
  EXPECT_NE(d.hash, e.hash);
  EXPECT_EQ(d.sinks, R"([{"namespace":"a","name":"s","generation":1,"spec":{"type":"stdout"}}])");
  EXPECT_EQ(sha256_hex(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(BundleTest, RulesRoundTripAndLoadThroughTheEngine) {
  auto b = render_bundle({rule("vigil-system", "shell", "spawned_process and shell_procs"),
                          rule("team-a", "team-shell", "spawned_process")},
                         {});
  auto parsed = parse_bundle_rules(b.rules);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].ns, "team-a");
  EXPECT_EQ((*parsed)[1].name, "shell");
  EXPECT_EQ((*parsed)[1].generation, 3);

  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader builtin(defs, diags);
  builtin.load_builtin_library();
  rules::LoadOptions opts;
  opts.cluster_namespace = "vigil-system";
  rules::RuleLoader loader(defs, diags, opts);
  ASSERT_TRUE(loader.load_text("bundle", b.rules)) << diags.to_string();
  auto out = rules::compile_rules(defs);
  ASSERT_FALSE(out.diagnostics.has_errors()) << out.diagnostics.to_string();
  ASSERT_EQ(out.statuses.size(), 2u);
  EXPECT_NE(out.statuses[0].expanded_condition.find("k8s.ns.name = \"team-a\""), std::string::npos)
      << out.statuses[0].expanded_condition;
  EXPECT_EQ(out.statuses[1].expanded_condition.find("k8s.ns.name"), std::string::npos);
}

TEST(BundleTest, MalformedRulesAreAnError) {
  EXPECT_FALSE(parse_bundle_rules("---\n{not json\n").ok());
  EXPECT_FALSE(parse_bundle_rules("---\n[1,2]\n").ok());
  EXPECT_TRUE(parse_bundle_rules("").ok());
  // Nesting that would exhaust nlohmann's recursion is refused before parsing.
  std::string deep = "---\n{\"metadata\":{},\"spec\":" + std::string(100000, '[') +
                     std::string(100000, ']') + "}\n";
  EXPECT_FALSE(parse_bundle_rules(deep).ok());
}

}  // namespace
}  // namespace vigil::bundle
