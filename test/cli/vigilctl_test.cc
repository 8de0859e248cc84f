// Runs the real vigilctl binary on Falco's reference rule files and recorded events: the
// compatibility promise (Falco's rules load and fire unchanged) checked end to end.

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test/cli/cli_runner.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using vigil::test::CliResult;
using vigil::test::run_cli;

std::string reference(const std::string& name) {
  return std::string(VIGIL_SOURCE_DIR) + "/../shared/reference/falco/" + name;
}
std::string data(const std::string& name) {
  return std::string(VIGIL_SOURCE_DIR) + "/test/data/" + name;
}

#define REQUIRE_REFERENCE()                                    \
  if (!std::filesystem::exists(reference("falco_rules.yaml"))) \
  GTEST_SKIP() << "Falco reference rules not found at " << reference("falco_rules.yaml")

TEST(VigilctlTest, LintsFalcoStableAndAuditRulesWithoutErrors) {
  REQUIRE_REFERENCE();
  CliResult r =
      run_cli("lint " + reference("falco_rules.yaml") + " " + reference("k8s_audit_rules.yaml"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(" 0 errors"));
  EXPECT_THAT(r.out, Not(HasSubstr(": error:")));
}

TEST(VigilctlTest, LintReportsFileLineAndColumn) {
  auto path = std::filesystem::temp_directory_path() / "vigil_lint_bad.yaml";
  std::ofstream(path) << "- rule: Bad\n  desc: d\n  condition: proc.name = bash and (fd.name = x\n"
                         "  output: o\n  priority: WARNING\n";
  CliResult r = run_cli("lint " + path.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr(path.string() + ":3:47: error: rule 'Bad': expected ')'"));
  std::filesystem::remove(path);
}

TEST(VigilctlTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cli("").status, 2);
  EXPECT_EQ(run_cli("frobnicate").status, 2);
  EXPECT_EQ(run_cli("lint").status, 2);
  EXPECT_EQ(run_cli("test --rules x").status, 2);
  CliResult r = run_cli("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_THAT(r.out, HasSubstr("vigilctl lint"));
}

TEST(VigilctlTest, FalcoAuditRulesFireOnAttackEvents) {
  REQUIRE_REFERENCE();
  CliResult r = run_cli("test --rules " + reference("k8s_audit_rules.yaml") + " --events " +
                        data("audit/attack.json"));
  EXPECT_EQ(r.status, 0) << r.out;
  for (const char* rule : {"Create NodePort Service", "Attach/Exec Pod", "Create Privileged Pod",
                           "Create Sensitive Mount Pod"}) {
    EXPECT_THAT(r.out, HasSubstr("  " + std::string(rule) + "\n")) << r.out;
  }
}

TEST(VigilctlTest, FalcoAuditRulesStayQuietOnBenignEvents) {
  REQUIRE_REFERENCE();
  CliResult r = run_cli("test --rules " + reference("k8s_audit_rules.yaml") + " --events " +
                        data("audit/benign.json"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(" 0 alerts")) << r.out;
}

TEST(VigilctlTest, JsonOutputUsesFalcoKeys) {
  REQUIRE_REFERENCE();
  CliResult r =
      run_cli("test --json --hostname node-a --rules " + reference("k8s_audit_rules.yaml") +
              " --events " + data("audit/attack.json"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"hostname\":\"node-a\""));
  EXPECT_THAT(r.out, HasSubstr("\"rule\":\"Create NodePort Service\""));
  EXPECT_THAT(r.out, HasSubstr("\"source\":\"k8s_audit\""));
  EXPECT_THAT(r.out, HasSubstr("\"output_fields\":{"));
}

TEST(VigilctlTest, BadEventsFileIsReportedNotCrashed) {
  auto path = std::filesystem::temp_directory_path() / "vigil_bad_events.json";
  std::ofstream(path)
      << "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[{]}";
  auto rules = std::filesystem::temp_directory_path() / "vigil_ok_rules.yaml";
  std::ofstream(rules) << "- rule: R\n  desc: d\n  condition: ka.verb = create\n  output: o\n"
                          "  priority: NOTICE\n  source: k8s_audit\n";
  CliResult r = run_cli("test --rules " + rules.string() + " --events " + path.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr(path.string() + ": "));
  std::filesystem::remove(path);
  std::filesystem::remove(rules);
}

}  // namespace

namespace {

// The story Vigil comes from: a shell in a container and a NodePort Service, each caught by the
// sample SecurityRules, and nothing else in the same recordings.
TEST(VigilctlTest, SampleRulesCatchTheStory) {
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/config/samples/";
  const std::string rules = samples + "vigil.dev_v1alpha1_securityrule_shell_in_container.yaml " +
                            samples + "vigil.dev_v1alpha1_securityrule_nodeport_service.yaml";
  CliResult r = run_cli("test --rules " + rules + " --events " + data("syscall/story.jsonl"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(
      r.out,
      HasSubstr("Warning Shell in container (user=root uid=0 pod=web-7d9c5b8f4-x2k4n ns=shop "
                "container=web image=docker.io/library/nginx cmd=sh parent=containerd-shim "
                "terminal=34816)\n"));
  // The debug toolbox image is excepted by the rule's own list; the host shell is no container.
  EXPECT_THAT(r.out, HasSubstr("7 events, 1 alerts"));

  r = run_cli("test --rules " + rules + " --events " + data("audit/attack.json"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(
      r.out,
      HasSubstr("NodePort Service created (user=kubernetes-admin service=payments-debug ns=shop"));
  EXPECT_THAT(r.out, HasSubstr("23 events, 1 alerts"));

  r = run_cli("test --rules " + rules + " --events " + data("audit/benign.json"));
  EXPECT_THAT(r.out, HasSubstr(" 0 alerts"));
}

TEST(VigilctlTest, FalcoStableRulesFireOnTheStoryEvents) {
  REQUIRE_REFERENCE();
  CliResult r = run_cli("test --rules " + reference("falco_rules.yaml") + " --events " +
                        data("syscall/story.jsonl"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("2  Terminal shell in container"));
  EXPECT_THAT(r.out, HasSubstr("1  Read sensitive file untrusted"));
  EXPECT_THAT(r.out, HasSubstr("7 events, 3 alerts"));
}

}  // namespace
