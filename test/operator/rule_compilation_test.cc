#include "operator/controllers/rule_compilation.h"

#include <gtest/gtest.h>

namespace vigil::op {
namespace {

RuleObject obj(const std::string& ns, const std::string& name, const std::string& spec) {
  return RuleObject{ns, name, 2, spec};
}

TEST(OperatorRuleCompilationTest, AcceptsGoodRulesAndExplainsBadOnesWithLineAndColumn) {
  std::vector<RuleObject> in = {
      obj("vigil-system", "shell",
          R"({"source":"syscall","condition":"spawned_process and container and shell_procs and proc.tty != 0","output":"shell %proc.name","priority":"Warning"})"),
      obj("vigil-system", "broken",
          R"({"source":"syscall","condition":"spawned_process and\n(proc.name = bash","output":"o","priority":"Warning"})"),
      obj("team-a", "nodeport",
          R"({"source":"k8s_audit","condition":"kevt and service and kcreate and ka.req.service.type = NodePort","output":"np %ka.target.name","priority":"Notice"})"),
      obj("team-a", "bad-field",
          R"({"source":"syscall","condition":"spawned_process and proc.nmae = x","output":"o"})"),
      obj("team-a", "bad-output",
          R"({"source":"syscall","condition":"spawned_process","output":"x %proc.nope"})"),
      obj("team-a", "bad-priority",
          R"({"source":"syscall","condition":"spawned_process","output":"o","priority":"Urgent"})"),
      obj("team-a", "not-json", "{"),
      obj("team-a", "too-deep", std::string(100000, '[') + std::string(100000, ']')),
  };
  auto out = compile_security_rules(in, "vigil-system");
  ASSERT_EQ(out.verdicts.size(), in.size());

  EXPECT_TRUE(out.verdicts[0].accepted);
  EXPECT_EQ(out.verdicts[0].reason, "Compiled");
  EXPECT_EQ(out.verdicts[0].source, "syscall");
  EXPECT_NE(out.verdicts[0].expanded_condition.find("evt.type in (execve, execveat)"),
            std::string::npos);

  EXPECT_FALSE(out.verdicts[1].accepted);
  EXPECT_EQ(out.verdicts[1].reason, "InvalidCondition");
  EXPECT_EQ(out.verdicts[1].message,
            "condition 2:18: expected ')' to close the '(' at column 1, found end of condition");

  EXPECT_TRUE(out.verdicts[2].accepted) << out.verdicts[2].message;
  // A tenant's rule only sees its namespace.
  EXPECT_NE(out.verdicts[2].expanded_condition.find("ka.target.namespace = \"team-a\""),
            std::string::npos);

  EXPECT_FALSE(out.verdicts[3].accepted);
  EXPECT_EQ(out.verdicts[3].message.substr(0, 33), "condition 1:21: unknown field 'pr")
      << out.verdicts[3].message;

  EXPECT_FALSE(out.verdicts[4].accepted);
  EXPECT_NE(out.verdicts[4].message.find("output: unknown field 'proc.nope'"), std::string::npos)
      << out.verdicts[4].message;

  EXPECT_FALSE(out.verdicts[5].accepted);
  EXPECT_EQ(out.verdicts[5].reason, "InvalidSpec");
  EXPECT_NE(out.verdicts[5].message.find("unknown priority 'Urgent'"), std::string::npos)
      << out.verdicts[5].message;

  EXPECT_FALSE(out.verdicts[6].accepted);
  EXPECT_EQ(out.verdicts[6].message, "spec is not a JSON object");
  EXPECT_EQ(out.verdicts[7].message, "spec is not a JSON object");

  ASSERT_EQ(out.accepted.size(), 2u);
  EXPECT_EQ(out.accepted[0].name, "shell");
  EXPECT_EQ(out.accepted[1].name, "nodeport");
}

TEST(OperatorRuleCompilationTest, LocalMacrosAndListsStayLocal) {
  std::vector<RuleObject> in = {
      obj("a", "r1",
          R"j({"source":"syscall","condition":"spawned_process and mine","output":"o","macros":{"mine":"proc.name in (my_list)"},"lists":{"my_list":["x"]}})j"),
      obj("a", "r2", R"({"source":"syscall","condition":"spawned_process and mine","output":"o"})"),
  };
  auto out = compile_security_rules(in, "vigil-system");
  EXPECT_TRUE(out.verdicts[0].accepted) << out.verdicts[0].message;
  EXPECT_FALSE(out.verdicts[1].accepted);
  EXPECT_NE(out.verdicts[1].message.find("undefined macro 'mine'"), std::string::npos)
      << out.verdicts[1].message;
}

TEST(OperatorRuleCompilationTest, ThousandRulesCompile) {
  std::vector<RuleObject> in;
  for (int i = 0; i < 1000; ++i) {
    in.push_back(
        obj("ns" + std::to_string(i % 10), "rule-" + std::to_string(i),
            R"({"source":"syscall","condition":"open_write and fd.name startswith /etc/app)" +
                std::to_string(i) + R"(","output":"write %fd.name"})"));
  }
  auto out = compile_security_rules(in, "vigil-system");
  ASSERT_EQ(out.accepted.size(), 1000u);
}

}  // namespace
}  // namespace vigil::op
