#include <gtest/gtest.h>

#include "common/rules/check.h"
#include "test/common/rules/engine_test_util.h"

namespace vigil::testing {
namespace {

// Compiles `condition` (which must compile) and returns whether it fires on `e`.
bool eval(const std::string& condition, const FakeEvent& e, const std::string& prelude = "") {
  auto c = compile_condition(condition, prelude);
  EXPECT_FALSE(c.has_errors()) << condition << "\n" << c.all_diagnostics();
  return c.fires(e);
}

std::string compile_error(const std::string& condition, const std::string& prelude = "") {
  auto c = compile_condition(condition, prelude);
  EXPECT_TRUE(c.has_errors()) << condition;
  return c.all_diagnostics();
}

FakeEvent named(const std::string& name) {
  FakeEvent e;
  e.name = name;
  return e;
}

TEST(EngineTest, StringComparisons) {
  auto e = named("Bash-Shell");
  EXPECT_TRUE(eval("fake.name = Bash-Shell", e));
  EXPECT_TRUE(eval("fake.name == Bash-Shell", e));
  EXPECT_FALSE(eval("fake.name = bash-shell", e));
  EXPECT_TRUE(eval("fake.name != bash", e));
  EXPECT_TRUE(eval("fake.name contains sh-S", e));
  EXPECT_FALSE(eval("fake.name contains sh-s", e));
  EXPECT_TRUE(eval("fake.name icontains SH-s", e));
  EXPECT_TRUE(eval("fake.name startswith Bash", e));
  EXPECT_FALSE(eval("fake.name startswith Shell", e));
  EXPECT_TRUE(eval("fake.name endswith Shell", e));
  EXPECT_FALSE(eval("fake.name endswith Bash", e));
  EXPECT_TRUE(eval(
      "fake.name < Zed and fake.name > Ash and fake.name <= Bash-Shell and fake.name >= Bash-Shell",
      e));
  // bcontains / bstartswith take hex bytes: "sh-" = 73 68 2d, "Ba" = 42 61.
  EXPECT_TRUE(eval("fake.name bcontains 73682d", e));
  EXPECT_FALSE(eval("fake.name bcontains 7a7a", e));
  EXPECT_TRUE(eval("fake.name bstartswith 4261", e));
  EXPECT_FALSE(eval("fake.name bstartswith 6261", e));
}

TEST(EngineTest, GlobAndRegex) {
  auto e = named("/usr/bin/python3.11");
  EXPECT_TRUE(eval("fake.name glob /usr/bin/python*", e));
  EXPECT_TRUE(eval("fake.name glob /usr/*/python3.1?", e));
  EXPECT_TRUE(eval("fake.name glob /usr/bin/python[0-9].*", e));
  EXPECT_FALSE(eval("fake.name glob /usr/bin/perl*", e));
  EXPECT_FALSE(eval("fake.name glob /USR/*", e));
  EXPECT_TRUE(eval("fake.name iglob /USR/BIN/PYTHON*", e));
  EXPECT_TRUE(eval("fake.name regex \"/usr/bin/python[0-9.]+\"", e));
  // regex is a full match, as in Falco
  EXPECT_FALSE(eval("fake.name regex python", e));
  EXPECT_TRUE(eval("fake.name regex \".*python.*\"", e));
  EXPECT_NE(compile_error("fake.name regex \"(unclosed\"").find("invalid regular expression"),
            std::string::npos);
  EXPECT_TRUE(rules::glob_match("a*b*c", "axxbyyc", false));
  EXPECT_FALSE(rules::glob_match("a*b*c", "axxbyy", false));
  EXPECT_TRUE(rules::glob_match("[!a]x", "bx", false));
  EXPECT_FALSE(rules::glob_match("[!a]x", "ax", false));
  EXPECT_TRUE(rules::glob_match("\\*", "*", false));
  // Pathological pattern stays fast (no exponential backtracking).
  EXPECT_FALSE(rules::glob_match("*a*a*a*a*a*a*a*a*a*a*b", std::string(5000, 'a'), false));
}

TEST(EngineTest, InIntersectsPmatchExists) {
  FakeEvent e = named("sshd");
  e.path = "/etc/ssh/sshd_config";
  EXPECT_TRUE(eval("fake.name in (bash, sshd)", e));
  EXPECT_FALSE(eval("fake.name in (bash, ssh)", e));
  EXPECT_FALSE(eval("fake.name in ()", e));
  EXPECT_TRUE(eval("fake.name intersects (sshd)", e));
  EXPECT_TRUE(eval("fake.path pmatch (/etc/ssh, /root)", e));
  EXPECT_TRUE(eval("fake.path pmatch (/etc/ssh/sshd_config)", e));
  EXPECT_FALSE(eval("fake.path pmatch (/etc/ss)", e));
  EXPECT_TRUE(eval("fake.path pmatch (/)", e));
  EXPECT_TRUE(eval("fake.name exists", e));
  EXPECT_FALSE(eval("fake.name exists", FakeEvent{}));
  // An unset field makes every comparison false, even !=.
  EXPECT_FALSE(eval("fake.name != x", FakeEvent{}));
  EXPECT_TRUE(eval("not fake.name exists", FakeEvent{}));
}

TEST(EngineTest, Numbers) {
  FakeEvent e;
  e.num = -1;
  EXPECT_TRUE(eval("fake.num = -1", e));
  EXPECT_TRUE(eval("fake.num < 0", e));
  EXPECT_TRUE(eval("fake.num <= -1", e));
  EXPECT_FALSE(eval("fake.num >= 0", e));
  EXPECT_TRUE(eval("fake.num in (1, -1, 0x10)", e));
  e.num = 16;
  EXPECT_TRUE(eval("fake.num = 0x10", e));
  EXPECT_TRUE(eval("fake.num > 15 and fake.num != 17", e));
  e.has_num = false;
  EXPECT_FALSE(eval("fake.num >= 0", e));
  EXPECT_NE(compile_error("fake.num contains 1")
                .find("operator 'contains' does not apply to numeric field 'fake.num'"),
            std::string::npos);
  EXPECT_NE(compile_error("fake.num = abc").find("'abc' is not a number"), std::string::npos);
}

TEST(EngineTest, BooleansAndAddresses) {
  FakeEvent e;
  e.flag = true;
  e.ip = "10.1.2.3";
  EXPECT_TRUE(eval("fake.flag = true", e));
  EXPECT_FALSE(eval("fake.flag = false", e));
  EXPECT_TRUE(eval("fake.flag != false", e));
  EXPECT_NE(compile_error("fake.flag = maybe").find("not true or false"), std::string::npos);
  EXPECT_TRUE(eval("fake.ip = 10.1.2.3", e));
  EXPECT_FALSE(eval("fake.ip = 10.1.2.4", e));
  EXPECT_TRUE(eval("fake.ip in (192.168.0.1, 10.1.2.3)", e));
  EXPECT_TRUE(eval("fake.net = 10.0.0.0/8", e));
  EXPECT_FALSE(eval("fake.net = 172.16.0.0/12", e));
  EXPECT_TRUE(eval("fake.net in (\"172.16.0.0/12\", \"10.0.0.0/8\")", e));
  EXPECT_TRUE(eval("fake.net != 192.168.0.0/16", e));
  e.ip = "fe80::1";
  EXPECT_TRUE(eval("fake.net = fe80::/10", e));
  EXPECT_FALSE(eval("fake.net = 10.0.0.0/8", e));
  EXPECT_NE(compile_error("fake.ip = not-an-ip").find("is not an IP address"), std::string::npos);
  EXPECT_NE(compile_error("fake.ip contains 1").find("does not apply"), std::string::npos);
}

TEST(EngineTest, ListFieldsTakeOnlyInIntersectsExists) {
  FakeEvent e;
  e.tags = {"a", "b"};
  EXPECT_TRUE(eval("fake.tags in (a, b, c)", e));  // every value in the set
  EXPECT_FALSE(eval("fake.tags in (a, c)", e));
  EXPECT_TRUE(eval("fake.tags intersects (b, z)", e));  // any value in the set
  EXPECT_FALSE(eval("fake.tags intersects (y, z)", e));
  EXPECT_TRUE(eval("fake.tags exists", e));
  EXPECT_FALSE(eval("fake.tags exists", FakeEvent{}));
  EXPECT_NE(compile_error("fake.tags = a").find("holds a list"), std::string::npos);
  EXPECT_TRUE(eval("len(fake.tags) = 2", e));
}

TEST(EngineTest, MultiValuedFieldsMatchAnyValue) {
  FakeEvent e;
  e.names = {"runc", "containerd-shim", "systemd"};
  EXPECT_TRUE(eval("fake.any = systemd", e));
  EXPECT_FALSE(eval("fake.any = sshd", e));
  // != on several values means no value equals: always the negation of =.
  EXPECT_FALSE(eval("fake.any != systemd", e));
  EXPECT_TRUE(eval("fake.any != sshd", e));
  EXPECT_TRUE(eval("fake.any[1] = containerd-shim", e));
  EXPECT_FALSE(eval("fake.any[0] = containerd-shim", e));
  EXPECT_FALSE(eval("fake.any[7] exists", e));
  EXPECT_NE(compile_error("fake.any[x] = a").find("integer"), std::string::npos);
}

TEST(EngineTest, Modifiers) {
  auto e = named("kubectl-exec");
  EXPECT_TRUE(eval("fake.name startswith anyof (kube, dock)", e));
  EXPECT_FALSE(eval("fake.name startswith anyof (helm, dock)", e));
  EXPECT_TRUE(eval("fake.name contains allof (kube, exec, -)", e));
  EXPECT_FALSE(eval("fake.name contains allof (kube, attach)", e));
  EXPECT_TRUE(eval("fake.name contains oneof (kube, attach)", e));
  EXPECT_FALSE(eval("fake.name contains oneof (kube, exec)", e));  // two match
  EXPECT_TRUE(eval("fake.name = anyof (a, kubectl-exec)", e));
  EXPECT_TRUE(eval("fake.name != allof (a, b)", e));
  EXPECT_TRUE(eval("fake.name glob anyof (kube*, x*)", e));
  EXPECT_TRUE(eval("fake.name regex anyof (\"kube.*\", \"x\")", e));
}

TEST(EngineTest, Transformers) {
  FakeEvent e = named("BaSh");
  e.path = "/usr/bin/bash";
  EXPECT_TRUE(eval("tolower(fake.name) = bash", e));
  EXPECT_TRUE(eval("toupper(fake.name) = BASH", e));
  EXPECT_TRUE(eval("basename(fake.path) = bash", e));
  EXPECT_TRUE(eval("len(fake.name) = 4", e));
  EXPECT_TRUE(eval("len(basename(fake.path)) = 4", e));
  EXPECT_TRUE(eval("fake.name = toupper(fake.name)", named("ABC")));
  EXPECT_FALSE(eval("fake.name = toupper(fake.name)", named("AbC")));
  EXPECT_TRUE(eval("b64(fake.name) = hello", named("aGVsbG8=")));
  EXPECT_FALSE(eval("b64(fake.name) exists and b64(fake.name) = x", named("!!notbase64")));
  EXPECT_NE(compile_error("tolower(fake.num) = 1").find("needs a string field"), std::string::npos);
}

TEST(EngineTest, ValComparesTwoFields) {
  FakeEvent e = named("bash");
  e.path = "bash";
  EXPECT_TRUE(eval("fake.name = val(fake.path)", e));
  e.path = "sh";
  EXPECT_FALSE(eval("fake.name = val(fake.path)", e));
  EXPECT_TRUE(eval("fake.name startswith val(fake.path)", named("shell")) == false);
  EXPECT_NE(compile_error("fake.name = val(fake.num)").find("cannot compare"), std::string::npos);
}

TEST(EngineTest, DotArgumentsBindLikeBrackets) {
  FakeEvent e;
  e.kv = {{"flags", "O_RDWR|O_CREAT"}};
  EXPECT_TRUE(eval("fake.kv.flags contains O_CREAT", e));
  EXPECT_TRUE(eval("fake.kv[flags] contains O_RDWR", e));
  EXPECT_FALSE(eval("fake.kv.mode exists", e));
  EXPECT_NE(compile_error("fake.kv exists").find("argument"), std::string::npos);
}

TEST(EngineTest, UnknownFieldReportsLineAndColumn) {
  auto c = compile_text(
      "- rule: r\n"
      "  desc: d\n"
      "  condition: fake.name = a and fake.nme = b\n"
      "  output: o\n  priority: ERROR\n  source: fake\n");
  ASSERT_TRUE(c.has_errors());
  EXPECT_NE(c.all_diagnostics().find("rules.yaml:3:32: error: rule 'r': unknown field 'fake.nme'"),
            std::string::npos)
      << c.all_diagnostics();
  EXPECT_FALSE(c.out.statuses[0].accepted);
  EXPECT_EQ(c.out.statuses[0].message.substr(0, 5), "3:32:");
}

// Checks of the event-type field are answered per type id, and each type runs a copy of the
// rule with them decided: wherever they sit in the condition, results are those of the
// condition as written.
TEST(EngineTest, EventTypeChecksAnywhereInTheCondition) {
  FakeEvent e = named("x");
  e.num = 2;
  for (uint16_t type : {uint16_t{0}, uint16_t{1}, uint16_t{2}}) {
    e.type = type;
    const bool alpha = type == 0, beta = type == 1, gamma = type == 2;
    EXPECT_EQ(eval("fake.type = beta and fake.name = x", e), beta);
    EXPECT_EQ(eval("fake.name = x and fake.type != alpha", e), !alpha);
    EXPECT_EQ(eval("(fake.type = alpha and fake.num = 1) or (fake.type in (beta, gamma) and "
                   "fake.num = 2)",
                   e),
              !alpha);
    EXPECT_EQ(eval("fake.name = y or fake.type = gamma", e), gamma);
    EXPECT_EQ(eval("fake.type startswith g or (fake.num = 2 and fake.type glob \"*ta\")", e),
              !alpha);
    EXPECT_EQ(eval("not fake.type in (alpha, beta) and fake.name = x", e), gamma);
    EXPECT_EQ(eval("fake.type = alpha or fake.type = beta or fake.type = gamma", e), true);
    EXPECT_EQ(eval("fake.name = x and (fake.type = beta or fake.num = 3)", e), beta);
    EXPECT_EQ(eval("len(fake.type) = 4", e), beta);  // a transformer: extracted, not tabled
  }
  // Rules of several types at once, reported in rule order.
  auto c = compile_text(
      "- rule: a\n  desc: d\n  condition: fake.type in (alpha, beta) and fake.num = 2\n"
      "  output: o\n  priority: ERROR\n  source: fake\n"
      "- rule: b\n  desc: d\n  condition: fake.num = 2 and (fake.type = beta or fake.name = z)\n"
      "  output: o\n  priority: ERROR\n  source: fake\n  warn_evttypes: false\n"
      "- rule: c\n  desc: d\n  condition: fake.type = beta and not fake.name = x\n"
      "  output: o\n  priority: ERROR\n  source: fake\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  e.type = 1;
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"a", "b"}));
  e.type = 0;
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"a"}));
  e.type = 2;
  e.name = "z";
  EXPECT_EQ(c.matches(e), (std::vector<std::string>{"b"}));
}

// A check shared by rules runs once per event and a field shared by checks is extracted once;
// both are reused within the event and never across events.
TEST(EngineTest, SharedChecksAndFieldsPerEvent) {
  auto c = compile_text(
      "- macro: m\n  condition: fake.name = x\n"
      "- rule: a\n  desc: d\n  condition: m and fake.num = 1\n"
      "  output: o\n  priority: ERROR\n  source: fake\n  warn_evttypes: false\n"
      "- rule: b\n  desc: d\n  condition: m and fake.name startswith x\n"
      "  output: o\n  priority: ERROR\n  source: fake\n  warn_evttypes: false\n"
      "- rule: c\n  desc: d\n  condition: not m and fake.name endswith y\n"
      "  output: o\n  priority: ERROR\n  source: fake\n  warn_evttypes: false\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  const auto* src = c.out.rule_set->source("fake");
  ASSERT_NE(src, nullptr);
  rules::EvalContext ctx;  // one context for every event, as the agent uses it
  auto run = [&](const FakeEvent& e) {
    std::vector<std::string> names;
    for (uint32_t i : src->evaluate(&e, ctx)) names.push_back(src->rules()[i].name);
    return names;
  };
  FakeEvent x = named("x");
  x.num = 1;
  FakeEvent y = named("xy");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run(x), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(run(y), (std::vector<std::string>{"c"}));
    EXPECT_EQ(run(FakeEvent{}), (std::vector<std::string>{}));
  }
}

TEST(EngineTest, ShortCircuitFollowsTheCondition) {
  FakeEvent e = named("x");
  e.num = 5;
  EXPECT_TRUE(eval("fake.name = y or fake.num = 5", e));
  EXPECT_FALSE(eval("fake.name = y and fake.num = 5", e));
  EXPECT_TRUE(eval("not (fake.name = y and fake.num = 5)", e));
  EXPECT_TRUE(eval("not fake.name = y and not fake.num = 6", e));
  EXPECT_FALSE(eval("not (fake.name = x or fake.num = 6)", e));
  EXPECT_TRUE(eval("(fake.name = y or fake.num = 5) and (fake.name = x or fake.num = 9)", e));
}

}  // namespace
}  // namespace vigil::testing
