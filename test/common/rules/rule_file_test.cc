#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/alerts/alert.h"
#include "test/common/rules/engine_test_util.h"

namespace vigil::testing {
namespace {

using ::testing::HasSubstr;

FakeEvent named(const std::string& name, uint16_t type = 0) {
  FakeEvent e;
  e.name = name;
  e.type = type;
  return e;
}

constexpr const char* kRule = "  desc: d\n  output: o\n  priority: Warning\n  source: fake\n";

TEST(RuleFileTest, MacrosAndNestedMacros) {
  auto c =
      compile_text(std::string("- macro: is_shell\n  condition: fake.name in (bash, sh)\n"
                               "- macro: shell_alpha\n  condition: is_shell and fake.type = alpha\n"
                               "- rule: r\n  condition: shell_alpha\n") +
                   kRule);
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_TRUE(c.fires(named("sh", 0)));
  EXPECT_FALSE(c.fires(named("sh", 1)));
  EXPECT_FALSE(c.fires(named("zsh", 0)));
  EXPECT_EQ(c.out.statuses[0].expanded_condition,
            "(fake.name in (bash, sh) and fake.type = alpha)");
}

TEST(RuleFileTest, MacroDefinedAfterUseAndUndefinedMacro) {
  auto c = compile_text(std::string("- rule: r\n  condition: later\n") + kRule +
                        "- macro: later\n  condition: fake.name = x\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_TRUE(c.fires(named("x")));

  c = compile_text(std::string("- rule: r\n  condition: fake.name = x and nowhere\n") + kRule);
  EXPECT_THAT(c.all_diagnostics(),
              HasSubstr("rules.yaml:2:32: error: rule 'r': undefined macro 'nowhere'"));
}

TEST(RuleFileTest, MacroCycleIsAnError) {
  auto c = compile_text(
      std::string(
          "- macro: a\n  condition: b\n- macro: b\n  condition: a\n- rule: r\n  condition: a\n") +
      kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("refers to itself (a -> b -> a)"));
}

TEST(RuleFileTest, ListsOfListsAndQuotedItems) {
  auto c =
      compile_text(std::string("- list: inner\n  items: [b, c]\n"
                               "- list: outer\n  items: [a, inner, '\"inner\"', '\"(systemd)\"']\n"
                               "- rule: r\n  condition: fake.name in (outer, d)\n") +
                   kRule);
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  for (const char* n : {"a", "b", "c", "d", "inner", "(systemd)"})
    EXPECT_TRUE(c.fires(named(n))) << n;
  EXPECT_FALSE(c.fires(named("outer")));
  EXPECT_FALSE(c.fires(named("\"(systemd)\"")));
}

TEST(RuleFileTest, ListNameWithoutParentheses) {
  auto c = compile_text(
      std::string("- list: l\n  items: [a]\n- rule: r\n  condition: fake.name in l\n") + kRule);
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_TRUE(c.fires(named("a")));
  c = compile_text(std::string("- rule: r\n  condition: fake.name in missing\n") + kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("undefined list 'missing'"));
}

TEST(RuleFileTest, ListCycleIsAnError) {
  auto c = compile_text(std::string("- list: a\n  items: [b]\n- list: b\n  items: [a]\n"
                                    "- rule: r\n  condition: fake.name in (a)\n") +
                        kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("contains itself"));
}

TEST(RuleFileTest, ExceptionsWithFieldTuples) {
  auto c = compile_text(std::string("- list: allowed_paths\n  items: [/tmp, /var/tmp]\n"
                                    "- rule: r\n  condition: fake.name exists\n"
                                    "  exceptions:\n"
                                    "    - name: by_name_and_path\n"
                                    "      fields: [fake.name, fake.path]\n"
                                    "      comps: [=, pmatch]\n"
                                    "      values:\n"
                                    "        - [apt, [/var/lib/apt]]\n"
                                    "        - [pip, allowed_paths]\n"
                                    "    - name: by_num\n"
                                    "      fields: [fake.num]\n"
                                    "      values: [[42]]\n") +
                        kRule);
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  FakeEvent e = named("apt");
  e.path = "/var/lib/apt/lists";
  EXPECT_FALSE(c.fires(e));
  e.path = "/etc/apt";
  EXPECT_TRUE(c.fires(e));
  e = named("pip");
  e.path = "/var/tmp/x";
  EXPECT_FALSE(c.fires(e));
  e = named("other");
  e.num = 42;
  EXPECT_FALSE(c.fires(e));
  e.num = 41;
  EXPECT_TRUE(c.fires(e));
}

TEST(RuleFileTest, SingleFieldExceptionDefaultsToIn) {
  auto c = compile_text(
      std::string(
          "- rule: r\n  condition: fake.name exists\n"
          "  exceptions:\n    - name: names\n      fields: fake.name\n      values: [a, b]\n") +
      kRule);
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_FALSE(c.fires(named("a")));
  EXPECT_FALSE(c.fires(named("b")));
  EXPECT_TRUE(c.fires(named("c")));
  EXPECT_EQ(c.out.statuses[0].expanded_condition, "(fake.name exists and not fake.name in (a, b))");
}

TEST(RuleFileTest, ExceptionErrors) {
  auto c = compile_text(
      std::string("- rule: r\n  condition: fake.name exists\n  exceptions:\n"
                  "    - name: e\n      fields: [fake.name, fake.num]\n      comps: [=]\n") +
      kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("different lengths"));
  c = compile_text(std::string("- rule: r\n  condition: fake.name exists\n  exceptions:\n"
                               "    - name: e\n      fields: [fake.name]\n      comps: [like]\n") +
                   kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("unknown comparison operator 'like'"));
  c = compile_text(std::string("- rule: r\n  condition: fake.name exists\n  exceptions:\n"
                               "    - name: e\n      fields: [fake.nope]\n      values: [[x]]\n") +
                   kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("unknown field 'fake.nope'"));
}

TEST(RuleFileTest, OverrideAppendAndReplace) {
  auto c = compile_text(
      std::string("- list: names\n  items: [a]\n"
                  "- macro: m\n  condition: fake.name in (names)\n"
                  "- rule: r\n  condition: m\n") +
      kRule +
      "- list: names\n  items: [b]\n  override:\n    items: append\n"
      "- macro: m\n  condition: or fake.name = c\n  override:\n    condition: append\n"
      "- rule: r\n  condition: and fake.type = alpha\n  priority: ERROR\n"
      "  override:\n    condition: append\n    priority: replace\n    exceptions: append\n"
      "  exceptions:\n    - name: not_a\n      fields: fake.name\n      values: [a]\n"
      "- rule: r\n  exceptions:\n    - name: not_a\n      values: [b]\n  override:\n    "
      "exceptions: append\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_FALSE(c.fires(named("a")));  // excepted
  EXPECT_FALSE(c.fires(named("b")));  // excepted by the appended value
  EXPECT_TRUE(c.fires(named("c")));
  EXPECT_FALSE(c.fires(named("c", 1)));  // appended condition
  ASSERT_FALSE(c.out.rule_set->source("fake")->rules().empty());
  EXPECT_EQ(c.out.rule_set->source("fake")->rules()[0].priority, rules::Priority::kError);

  c = compile_text(
      std::string("- list: names\n  items: [a]\n- rule: r\n  condition: fake.name in (names)\n") +
      kRule + "- list: names\n  items: [z]\n  override:\n    items: replace\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_FALSE(c.fires(named("a")));
  EXPECT_TRUE(c.fires(named("z")));
}

TEST(RuleFileTest, DeprecatedAppendTrue) {
  auto c = compile_text(
      std::string("- list: names\n  items: [a]\n- rule: r\n  condition: fake.name in (names)\n") +
      kRule +
      "- list: names\n  items: [b]\n  append: true\n"
      "- rule: r\n  condition: and fake.num = 1\n  append: true\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  FakeEvent e = named("b");
  e.num = 1;
  EXPECT_TRUE(c.fires(e));
  e.num = 2;
  EXPECT_FALSE(c.fires(e));
}

TEST(RuleFileTest, OverrideErrors) {
  auto c = compile_text("- rule: nothere\n  condition: x\n  override:\n    condition: append\n");
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("not defined earlier"));
  c = compile_text(std::string("- rule: r\n  condition: fake.name = a\n") + kRule +
                   "- rule: r\n  condition: x\n  override:\n    condition: prepend\n");
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("must be 'append' or 'replace'"));
  c = compile_text(std::string("- rule: r\n  condition: fake.name = a\n") + kRule +
                   "- rule: r\n  condition: x\n  output: y\n  override:\n    condition: append\n");
  EXPECT_THAT(c.all_diagnostics(),
              HasSubstr("key 'output' is set but not listed under 'override'"));
  c = compile_text(std::string("- rule: r\n  condition: fake.name = a\n") + kRule +
                   "- rule: r\n  priority: ERROR\n  override:\n    priority: append\n");
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("cannot be overridden with 'append'"));
}

TEST(RuleFileTest, EnabledToggleAndDisabledRulesStillValidated) {
  auto c = compile_text(std::string("- rule: r\n  condition: fake.name = a\n") + kRule +
                        "- rule: r\n  enabled: false\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_FALSE(c.fires(named("a")));
  EXPECT_FALSE(c.out.statuses[0].enabled);
  EXPECT_TRUE(c.out.statuses[0].accepted);

  c = compile_text(std::string("- rule: r\n  condition: fake.bad = a\n  enabled: false\n") + kRule);
  EXPECT_TRUE(c.has_errors());
}

TEST(RuleFileTest, PriorityAnyCaseAndUnknown) {
  for (const char* p : {"emergency", "ALERT", "Critical", "error", "WARNING", "notice", "INFO",
                        "informational", "debug"}) {
    auto c = compile_text(std::string("- rule: r\n  condition: fake.name = a\n  desc: d\n  output: "
                                      "o\n  source: fake\n  priority: ") +
                          p + "\n");
    EXPECT_FALSE(c.has_errors()) << p << c.all_diagnostics();
  }
  auto c = compile_text(
      "- rule: r\n  condition: fake.name = a\n  desc: d\n  output: o\n  source: fake\n  priority: "
      "urgent\n");
  EXPECT_THAT(c.all_diagnostics(),
              HasSubstr("rules.yaml:6:13: error: rule 'r': unknown priority 'urgent'"));
}

TEST(RuleFileTest, MissingKeysUnknownKeysAndBadYaml) {
  auto c = compile_text("- rule: r\n  condition: fake.name = a\n  source: fake\n");
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("missing 'output'"));
  c = compile_text(std::string("- rule: r\n  condition: fake.name = a\n  colour: blue\n") + kRule);
  EXPECT_FALSE(c.has_errors());
  EXPECT_THAT(c.all_diagnostics(),
              HasSubstr("rules.yaml:3:3: warning: rule 'r': unknown key 'colour' ignored"));
  c = compile_text("- rule: r\n  condition: [unclosed\n");
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("invalid YAML"));
  c = compile_text("- required_engine_version: 99.0.0\n");
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("require engine version 99.0.0"));
  c = compile_text(
      "- required_engine_version: 0.31.0\n- required_plugin_versions:\n  - name: container\n    "
      "version: 0.4.0\n");
  EXPECT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_EQ(c.defs.required_plugins.at(0), "container 0.4.0");
}

TEST(RuleFileTest, ErrorPositionsInFoldedConditions) {
  auto c = compile_text(
      "- rule: r\n"
      "  desc: d\n"
      "  condition: >\n"
      "    fake.name = a\n"
      "    and (fake.num = 1\n"
      "    or fake.name in (b c)\n"
      "  output: o\n  priority: ERROR\n  source: fake\n");
  EXPECT_THAT(
      c.all_diagnostics(),
      HasSubstr("rules.yaml:6:24: error: rule 'r': expected ',' or ')' in list, found 'c'"));
}

TEST(RuleFileTest, EventTypeIndexAndWarning) {
  auto c = compile_text(
      std::string("- rule: alpha_only\n  condition: fake.type = alpha and fake.name = x\n") +
      kRule + "- rule: not_beta\n  condition: not fake.type in (beta) and fake.name = x\n" + kRule +
      "- rule: any\n  condition: fake.name = x\n" + kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("rule 'any': condition does not restrict fake.type"));
  EXPECT_THAT(c.all_diagnostics(), ::testing::Not(HasSubstr("rule 'alpha_only': condition")));
  EXPECT_EQ(c.matches(named("x", 0)), (std::vector<std::string>{"alpha_only", "not_beta", "any"}));
  EXPECT_EQ(c.matches(named("x", 1)), (std::vector<std::string>{"any"}));
  EXPECT_EQ(c.matches(named("x", 2)), (std::vector<std::string>{"not_beta", "any"}));
  const auto needed = c.out.rule_set->source("fake")->needed_event_types();
  EXPECT_EQ(needed, (std::vector<bool>{true, true, true}));

  c = compile_text(std::string("- rule: r\n  condition: fake.type in (alpha, omega)\n") + kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("unknown event type 'omega'"));
}

TEST(RuleFileTest, OutputTemplateAndFalcoJson) {
  auto c = compile_text(
      "- rule: Shell\n  desc: d\n  condition: fake.name = bash\n"
      "  output: 'Shell (name=%fake.name up=%toupper(fake.name) num=%fake.num path=%fake.path "
      "any1=%fake.any[1] tags=%fake.tags) 100%'\n"
      "  priority: NOTICE\n  source: fake\n  tags: [shell, mitre_execution]\n  warn_evttypes: "
      "false\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  FakeEvent e = named("bash");
  e.num = 7;
  e.tags = {"t1", "t2"};
  e.time_ns = 1764214316746609046;  // 2025-11-27T03:31:56.746609046Z
  const auto* src = c.out.rule_set->source("fake");
  rules::EvalContext ctx;
  auto m = src->evaluate(&e, ctx);
  ASSERT_EQ(m.size(), 1u);
  auto alert = alerts::make_alert(src->rules()[m[0]], src->source(), &e, ctx, "node-1");
  EXPECT_EQ(alert.message, "Shell (name=bash up=BASH num=7 path=<NA> any1=<NA> tags=(t1,t2)) 100%");
  std::string json = alerts::to_falco_json(alert);
  EXPECT_THAT(json, HasSubstr("\"rule\":\"Shell\""));
  EXPECT_THAT(json, HasSubstr("\"priority\":\"Notice\""));
  EXPECT_THAT(json, HasSubstr("\"hostname\":\"node-1\""));
  EXPECT_THAT(json, HasSubstr("\"fake.num\":7"));
  EXPECT_THAT(json, HasSubstr("\"fake.path\":null"));
  EXPECT_THAT(json, HasSubstr("\"tags\":[\"shell\",\"mitre_execution\"]"));
  EXPECT_THAT(json, HasSubstr("\"source\":\"fake\""));

  c =
      compile_text(std::string("- rule: r\n  condition: fake.name = a\n  output: bad %fake.nope\n  "
                               "desc: d\n  priority: Warning\n  source: fake\n"));
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("output: unknown field 'fake.nope'"));
}

TEST(RuleFileTest, SecurityRuleObjects) {
  auto c = compile_text(
      "apiVersion: vigil.dev/v1alpha1\n"
      "kind: SecurityRule\n"
      "metadata:\n  name: shell-in-container\n  namespace: team-a\n"
      "spec:\n"
      "  source: fake\n"
      "  description: A shell\n"
      "  condition: fake.name in (local_shells) and local_alpha\n"
      "  output: shell %fake.name\n"
      "  priority: Warning\n"
      "  tags: [shell]\n"
      "  mode: DryRun\n"
      "  lists:\n    local_shells: [bash, sh]\n"
      "  macros:\n    local_alpha: fake.type = alpha\n"
      "---\n"
      "apiVersion: vigil.dev/v1alpha1\n"
      "kind: SecurityRule\n"
      "metadata:\n  name: broken\n"
      "spec:\n  source: fake\n  condition: fake.name = (\n  output: o\n");
  ASSERT_EQ(c.out.statuses.size(), 2u);
  EXPECT_TRUE(c.out.statuses[0].accepted) << c.all_diagnostics();
  EXPECT_EQ(c.out.statuses[0].object_namespace, "team-a");
  EXPECT_TRUE(c.fires(named("sh")));
  EXPECT_EQ(c.out.rule_set->source("fake")->rules()[0].mode, rules::RuleMode::kDryRun);
  EXPECT_FALSE(c.out.statuses[1].accepted);
  EXPECT_EQ(c.out.statuses[1].message, "25:26: expected a value, found '('");
}

TEST(RuleFileTest, UnusedMacroAndListWarnings) {
  auto c = compile_text(std::string("- macro: unused_m\n  condition: fake.name = a\n"
                                    "- list: unused_l\n  items: [a]\n"
                                    "- rule: r\n  condition: fake.name = b\n") +
                        kRule);
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("warning: macro 'unused_m': not referred to"));
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("warning: list 'unused_l': not referred to"));
  EXPECT_FALSE(c.has_errors());
}

TEST(RuleFileTest, SkipIfUnknownFilter) {
  auto c = compile_text(
      std::string("- rule: r\n  condition: fake.future = a\n  skip-if-unknown-filter: true\n") +
      kRule);
  EXPECT_FALSE(c.has_errors()) << c.all_diagnostics();
  EXPECT_THAT(c.all_diagnostics(), HasSubstr("skip-if-unknown-filter"));
}

}  // namespace
}  // namespace vigil::testing

namespace vigil::testing {
namespace {
TEST(RuleFileTest, SharedMacroChecksCompileOnceAndEvaluateCorrectly) {
  auto c = compile_text(std::string("- macro: m\n  condition: fake.name = x and fake.num > 1\n"
                                    "- rule: r1\n  condition: m and fake.type = alpha\n") +
                        kRule + "- rule: r2\n  condition: not m and fake.type = alpha\n" + kRule +
                        "- rule: broken\n  condition: m and fake.nope = 1\n" + kRule +
                        "- rule: r3\n  condition: fake.type = alpha and m\n" + kRule);
  ASSERT_EQ(c.out.statuses.size(), 4u);
  EXPECT_FALSE(c.out.statuses[2].accepted);
  // fake.name = x, fake.num > 1, fake.type = alpha: three distinct checks for three rules.
  EXPECT_EQ(c.out.rule_set->source("fake")->check_count(), 3u);
  FakeEvent e = named("x");
  e.num = 2;
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"r1", "r3"}));
  e.num = 1;
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"r2"}));
}
}  // namespace
}  // namespace vigil::testing

namespace vigil::testing {
namespace {
// yaml-cpp 0.7's LoadAll never returns on these (found by fuzz/rule_parser_fuzz.cc).
TEST(RuleFileTest, MalformedYamlThatHangsYamlCppLoadAllReturns) {
  for (const char* text : {"- a:b:\n, c: d e\n", ",\n", "- a\n,\n", ", c\n",
                           "- r\xfeule :Audit:\n, rule: A  dudit\xf6  des\x9d\xbc d"}) {
    auto c = compile_text(text);
    (void)c.all_diagnostics();
  }
  SUCCEED();
}

TEST(RuleFileTest, MultiDocumentStreamsKeepLinesAndColumns) {
  auto c = compile_text(
      "---\n"
      "apiVersion: vigil.dev/v1alpha1\nkind: SecurityRule\nmetadata:\n  name: a\n"
      "spec:\n  source: fake\n  condition: fake.name = a\n  output: o\n"
      "---\n"
      "apiVersion: vigil.dev/v1alpha1\nkind: SecurityRule\nmetadata:\n  name: b\n"
      "spec:\n  source: fake\n  condition: fake.name = (\n  output: o\n"
      "...\n");
  ASSERT_EQ(c.out.statuses.size(), 2u) << c.all_diagnostics();
  EXPECT_TRUE(c.out.statuses[0].accepted);
  EXPECT_EQ(c.out.statuses[1].message, "17:26: expected a value, found '('");
}
}  // namespace
}  // namespace vigil::testing

namespace vigil::testing {
namespace {
constexpr const char* kTwoTenants =
    "apiVersion: vigil.dev/v1alpha1\nkind: SecurityRule\nmetadata: {name: global, namespace: "
    "vigil-system}\n"
    "spec: {source: fake, condition: fake.name = x, output: o}\n"
    "---\n"
    "apiVersion: vigil.dev/v1alpha1\nkind: SecurityRule\nmetadata: {name: team, namespace: "
    "team-a}\n"
    "spec: {source: fake, condition: fake.name = x, output: o}\n";

TEST(RuleFileTest, TenantRulesSeeOnlyTheirNamespace) {
  rules::LoadOptions opts;
  opts.cluster_namespace = "vigil-system";
  auto c = compile_text(kTwoTenants, "objects.yaml", opts);
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  FakeEvent e = named("x");
  e.ns = "team-a";
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"global", "team"}));
  e.ns = "team-b";
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"global"}));
  e.ns = "";
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"global"}));
  // Without a cluster namespace (rule files, vigilctl) every rule is cluster-wide.
  c = compile_text(kTwoTenants);
  e.ns = "team-b";
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"global", "team"}));
}

TEST(RuleFileTest, PositionsInValuesForObjectsFromTheApiServer) {
  rules::LoadOptions opts;
  opts.positions_in_values = true;
  auto c = compile_text(
      R"({"apiVersion":"vigil.dev/v1alpha1","kind":"SecurityRule","metadata":{"name":"r","namespace":"n"},)"
      R"("spec":{"source":"fake","condition":"fake.name = a and\n(fake.num = 1 or","output":"o"}})",
      "n/r", opts);
  ASSERT_EQ(c.out.statuses.size(), 1u) << c.all_diagnostics();
  EXPECT_EQ(c.out.statuses[0].message,
            "2:17: expected a field, a macro or '(', found end of condition");
}
}  // namespace
}  // namespace vigil::testing
