#include "agent/agent_config.h"

#include <filesystem>
#include <fstream>

#include "agent/rule_files.h"
#include "gtest/gtest.h"

namespace vigil::agent {
namespace {

Result<AgentConfig> parse(std::vector<std::string> args) { return parse_agent_args(args); }

TEST(AgentConfigTest, DefaultsRunTheDefaultRules) {
  auto c = parse({});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->default_rules);
  EXPECT_TRUE(c->rule_paths.empty());
  EXPECT_EQ(c->ring_bytes, 8u << 20);
  EXPECT_EQ(c->health_port, 8765);
  EXPECT_FALSE(c->hostname.empty());
}

TEST(AgentConfigTest, RulesReplaceTheDefaultsUnlessAsked) {
  auto c = parse({"--rules", "a.yaml", "b.yaml", "--output", "json"});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->rule_paths, (std::vector<std::string>{"a.yaml", "b.yaml"}));
  EXPECT_FALSE(c->default_rules);
  EXPECT_EQ(c->stdout_format, OutputFormat::kJson);
  auto d = parse({"--rules", "a.yaml", "--default-rules"});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->default_rules);
}

TEST(AgentConfigTest, SizesPortsAndLevels) {
  auto c = parse({"--ring-bytes", "16M", "--wakeup-bytes", "64K", "--health-addr", ":9000",
                  "--log-level", "debug"});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->ring_bytes, 16u << 20);
  EXPECT_EQ(c->wakeup_bytes, 64u << 10);
  EXPECT_EQ(c->health_address, "0.0.0.0");
  EXPECT_EQ(c->health_port, 9000);
  auto off = parse({"--health-addr", "off"});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->health_enabled);
}

TEST(AgentConfigTest, ClearErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"--rules"}, "--rules needs at least one file or directory"},
      {{"--output", "xml"}, "--output: expected text or json, got 'xml'"},
      {{"--ring-bytes", "12Q"}, "--ring-bytes: expected a size like 8M"},
      {{"--ring-bytes", "1K"}, "--ring-bytes: must be 4K..1G"},
      {{"--health-addr", "nohost"}, "--health-addr: expected HOST:PORT, got 'nohost'"},
      {{"--health-addr", "h:70000"}, "--health-addr: expected HOST:PORT, got 'h:70000'"},
      {{"--log-level", "loud"}, "--log-level: unknown level 'loud'"},
      {{"--no-default-rules"}, "no rules: give --rules PATH or drop --no-default-rules"},
      {{"--rules", "a", "--default-rules", "--no-default-rules"},
       "--default-rules and --no-default-rules contradict each other"},
  };
  for (const auto& tc : cases) {
    auto c = parse(tc.args);
    ASSERT_FALSE(c.ok()) << tc.message;
    EXPECT_EQ(c.error(), tc.message);
  }
  auto help = parse({"--help"});
  ASSERT_FALSE(help.ok());
  EXPECT_TRUE(help.error().empty());
}

class RuleFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("vigil-rule-files-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;
};

constexpr const char* kRule =
    "- rule: R\n  desc: d\n  condition: evt.type = openat and fd.name = /x\n  output: o\n"
    "  priority: WARNING\n";

TEST_F(RuleFilesTest, DefaultRulesCompileAndNeedFewSyscalls) {
  AgentConfig c;
  auto r = load_rules(c);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_GE(r->syscall_rules, 11u);
  EXPECT_TRUE(r->warnings.empty()) << r->warnings[0];
}

TEST_F(RuleFilesTest, DirectoriesExpandToSortedYamlFiles) {
  write("b.yaml", kRule);
  write("a.yml", "- macro: m\n  condition: evt.type = openat\n");
  write("notes.txt", "not rules");
  AgentConfig c;
  c.default_rules = false;
  c.rule_paths = {dir_.string()};
  auto r = load_rules(c);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->files.size(), 2u);
  EXPECT_NE(r->files[0].find("a.yml"), std::string::npos);
  EXPECT_EQ(r->syscall_rules, 1u);
}

TEST_F(RuleFilesTest, ErrorsNameFileLineAndColumn) {
  const std::string f =
      write("bad.yaml",
            "- rule: R\n  desc: d\n  condition: evt.type = openat and (\n  output: o\n"
            "  priority: WARNING\n");
  AgentConfig c;
  c.default_rules = false;
  c.rule_paths = {f};
  auto r = load_rules(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find(f + ":3:"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("1 error(s) in the rules"), std::string::npos) << r.error();
  c.rule_paths = {(dir_ / "missing.yaml").string()};
  auto m = load_rules(c);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("no such file or directory"), std::string::npos);
}

TEST_F(RuleFilesTest, FingerprintChangesOnEditAddAndRemove) {
  const std::string f = write("r.yaml", kRule);
  AgentConfig c;
  c.default_rules = false;
  c.rule_paths = {dir_.string()};
  const uint64_t a = rule_files_fingerprint(c);
  EXPECT_EQ(a, rule_files_fingerprint(c));
  write("r.yaml", std::string(kRule) + "# edited, longer\n");
  const uint64_t b = rule_files_fingerprint(c);
  EXPECT_NE(a, b);
  write("s.yaml", kRule);
  const uint64_t d = rule_files_fingerprint(c);
  EXPECT_NE(b, d);
  std::filesystem::remove(dir_ / "s.yaml");
  EXPECT_EQ(rule_files_fingerprint(c), b);
}

}  // namespace
}  // namespace vigil::agent

namespace vigil::agent {
namespace {

TEST(AgentConfigTest, ClusterModeTakesRulesFromTheBundle) {
  auto c = parse_agent_args({"--kubeconfig", "/k", "--node-name", "n1", "--heartbeat-seconds", "10",
                             "--report-seconds", "1"});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->cluster_mode());
  EXPECT_FALSE(c->default_rules);
  EXPECT_EQ(c->rules_poll_seconds, 0u);
  EXPECT_EQ(c->node_name, "n1");
  EXPECT_EQ(c->ns, "vigil-system");
  EXPECT_EQ(c->heartbeat_seconds, 10u);
  EXPECT_EQ(c->report_seconds, 1u);
  EXPECT_FALSE(c->stdout_alerts);  // alerts go to the AlertSinks
  EXPECT_EQ(c->spool_dir, "/var/lib/vigil/spool");
  auto own = parse_agent_args({"--kubeconfig", "/k", "--output", "json", "--spool-dir", "off"});
  ASSERT_TRUE(own.ok()) << own.error();
  EXPECT_TRUE(own->stdout_alerts);
  EXPECT_EQ(own->spool_dir, "");

  auto in = parse_agent_args({"--in-cluster", "--namespace", "sec"});
  ASSERT_TRUE(in.ok()) << in.error();
  EXPECT_TRUE(in->cluster_mode());
  EXPECT_EQ(in->ns, "sec");
  EXPECT_FALSE(in->node_name.empty());  // $NODE_NAME or the hostname

  auto standalone = parse_agent_args({});
  ASSERT_TRUE(standalone.ok());
  EXPECT_FALSE(standalone->cluster_mode());
}

TEST(AgentConfigTest, ClusterModeErrors) {
  auto err = [](std::vector<std::string> args) {
    auto c = parse_agent_args(args);
    return c.ok() ? std::string() : c.error();
  };
  EXPECT_NE(err({"--kubeconfig", "/k", "--rules", "a.yaml"}).find("operator's bundle"),
            std::string::npos);
  EXPECT_NE(err({"--kubeconfig", "/k", "--in-cluster"}).find("contradict"), std::string::npos);
  EXPECT_NE(err({"--kubeconfig"}).find("needs a file"), std::string::npos);
  EXPECT_NE(err({"--in-cluster", "--heartbeat-seconds", "0"}).find("1..3600"), std::string::npos);
  EXPECT_NE(err({"--in-cluster", "--heartbeat-seconds", "5", "--report-seconds", "10"})
                .find("must not exceed"),
            std::string::npos);
}

TEST(AgentConfigTest, FlagEqualsValueAsKubernetesManifestsWriteIt) {
  auto c = parse({"--in-cluster", "--node-name=node-1", "--namespace=vigil-system",
                  "--health-addr=0.0.0.0:8082", "--spool-dir=/var/lib/vigil/spool"});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_TRUE(c->in_cluster);
  EXPECT_EQ(c->node_name, "node-1");
  auto rules = parse({"--rules=a.yaml", "b.yaml"});
  ASSERT_TRUE(rules.ok()) << rules.error();
  EXPECT_EQ(rules->rule_paths, (std::vector<std::string>{"a.yaml", "b.yaml"}));
  EXPECT_FALSE(parse({"--no-stdout=true"}).ok());  // a switch takes no value
}

}  // namespace
}  // namespace vigil::agent
