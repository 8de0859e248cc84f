// vigilctl audit-config: the real binary's output, files and usage errors. The policy applied by a
// real kube-apiserver is covered by test/e2e/audit_config_e2e_test.sh.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "test/cli/cli_runner.h"

namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using vigil::test::run_cli;

constexpr const char* kCa =
    "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIUXx+ca/bundle==\n-----END CERTIFICATE-----\n";
constexpr const char* kKey =
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGkey\n-----END PRIVATE KEY-----\n";

class AuditConfigCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil_audit_cfg_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    write("ca.crt", kCa);
    write("client.crt", kCa);
    write("client.key", kKey);
    write("token", "s3cr3t\n");
    write("bad.crt", "hello\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name) << content;
  }
  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static unsigned mode(const std::filesystem::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  }

  std::filesystem::path dir_;
};

TEST_F(AuditConfigCommandTest, PrintsBothFilesFlagsAndKubeadmSnippet) {
  auto r = run_cli("audit-config --ca-file " + path("ca.crt"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("# ---- /etc/kubernetes/vigil/audit-policy.yaml\n"));
  EXPECT_THAT(r.out, HasSubstr("kind: Policy\n"));
  EXPECT_THAT(r.out, HasSubstr("# ---- /etc/kubernetes/vigil/audit-webhook.kubeconfig\n"));
  EXPECT_THAT(r.out,
              HasSubstr("server: \"https://vigil-operator.vigil-system.svc:443/k8s-audit\""));
  EXPECT_THAT(r.out, HasSubstr("--audit-policy-file=/etc/kubernetes/vigil/audit-policy.yaml\n"));
  EXPECT_THAT(r.out, HasSubstr("--audit-webhook-config-file=/etc/kubernetes/vigil/"
                               "audit-webhook.kubeconfig\n"));
  EXPECT_THAT(r.out, HasSubstr("--audit-webhook-mode=batch\n"));
  EXPECT_THAT(r.out, HasSubstr("--audit-webhook-batch-max-wait=5s\n"));
  EXPECT_THAT(r.out, HasSubstr("extraArgs:"));
  EXPECT_THAT(r.out, HasSubstr("extraVolumes:"));
  // The three parts are YAML documents.
  std::vector<YAML::Node> docs;
  for (const auto& d : YAML::LoadAll(r.out.substr(0, r.out.find("# ---- kube-apiserver flags"))))
    if (!d.IsNull()) docs.push_back(d);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0]["kind"].as<std::string>(), "Policy");
  EXPECT_EQ(docs[1]["kind"].as<std::string>(), "Config");
  const auto kubeadm = YAML::Load(r.out.substr(r.out.find("apiServer:")));
  EXPECT_EQ(kubeadm["apiServer"]["extraArgs"].size(), 4u);
  EXPECT_EQ(kubeadm["apiServer"]["extraVolumes"][0]["hostPath"].as<std::string>(),
            "/etc/kubernetes/vigil");
}

TEST_F(AuditConfigCommandTest, PolicyOnlyAndKubeconfigOnlyPrintOneFile) {
  auto r = run_cli("audit-config --policy-only --ignore-namespace ci");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto p = YAML::Load(r.out);
  EXPECT_EQ(p["kind"].as<std::string>(), "Policy");
  EXPECT_THAT(r.out, HasSubstr("namespaces: [\"ci\"]"));
  EXPECT_THAT(r.out, Not(HasSubstr("--audit-policy-file")));

  r = run_cli("audit-config --kubeconfig-only --ca-file " + path("ca.crt") +
              " --service vigil --namespace sec --port 8443");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto k = YAML::Load(r.out);
  EXPECT_EQ(k["kind"].as<std::string>(), "Config");
  EXPECT_EQ(k["clusters"][0]["cluster"]["server"].as<std::string>(),
            "https://vigil.sec.svc:8443/k8s-audit");
}

TEST_F(AuditConfigCommandTest, OutDirWritesFilesKubeconfigWithKey0600) {
  const auto out = dir_ / "out";
  auto r = run_cli("audit-config --ca-file " + path("ca.crt") + " --client-cert " +
                   path("client.crt") + " --client-key " + path("client.key") + " --out-dir " +
                   out.string() + " --node-dir /srv/vigil/ --batch-max-wait 1s");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(YAML::LoadFile((out / "audit-policy.yaml").string())["kind"].as<std::string>(),
            "Policy");
  const auto kc = YAML::LoadFile((out / "audit-webhook.kubeconfig").string());
  EXPECT_TRUE(kc["users"][0]["user"]["client-key-data"]);
  EXPECT_EQ(mode(out / "audit-webhook.kubeconfig"), 0600u);
  EXPECT_EQ(mode(out / "audit-policy.yaml"), 0644u);
  EXPECT_THAT(r.out, Not(HasSubstr("kind: Policy")));  // the files are not printed
  EXPECT_THAT(r.out, HasSubstr("--audit-policy-file=/srv/vigil/audit-policy.yaml\n"));
  EXPECT_THAT(r.out, HasSubstr("--audit-webhook-batch-max-wait=1s\n"));

  // A token: 0600 too, even over an existing, more open file.
  std::filesystem::permissions(out / "audit-webhook.kubeconfig",
                               std::filesystem::perms::owner_read |
                                   std::filesystem::perms::owner_write |
                                   std::filesystem::perms::others_read);
  r = run_cli("audit-config --kubeconfig-only --ca-file " + path("ca.crt") + " --token-file " +
              path("token") + " --out-dir " + out.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(mode(out / "audit-webhook.kubeconfig"), 0600u);
  EXPECT_EQ(YAML::LoadFile((out / "audit-webhook.kubeconfig").string())["users"][0]["user"]["token"]
                .as<std::string>(),
            "s3cr3t");

  // No credential: readable.
  const auto out2 = dir_ / "out2";
  r = run_cli("audit-config --ca-file " + path("ca.crt") + " --out-dir " + out2.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(mode(out2 / "audit-webhook.kubeconfig"), 0644u);
}

TEST_F(AuditConfigCommandTest, UsageErrorsExit2) {
  const std::string ca = " --ca-file " + path("ca.crt");
  for (const std::string& args : std::vector<std::string>{
           std::string("audit-config"),  // no --ca-file
           "audit-config --policy-only --kubeconfig-only",
           "audit-config --bogus" + ca,
           "audit-config --port 0" + ca,
           "audit-config --port abc" + ca,
           "audit-config --service Bad_Name" + ca,
           "audit-config --url https://x/k8s-audit --service vigil" + ca,
           "audit-config --client-cert " + path("client.crt") + ca,
           "audit-config --token-file " + path("token") + " --client-cert " + path("client.crt") +
               " --client-key " + path("client.key") + ca,
           "audit-config --policy-only" + ca,
           "audit-config --ignore-namespace NOPE --policy-only",
           "audit-config --batch-max-wait soon" + ca,
           "audit-config --out-dir",
       }) {
    auto r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("Usage:")) << args;
  }
}

TEST_F(AuditConfigCommandTest, InvalidInputExits1) {
  auto r = run_cli("audit-config --ca-file " + path("bad.crt"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("CA bundle is not PEM"));
  r = run_cli("audit-config --ca-file " + path("missing.crt"));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("cannot read"));
  r = run_cli("audit-config --ca-file " + path("ca.crt") + " --url http://10.0.0.1/k8s-audit");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("not https"));
  r = run_cli("audit-config --ca-file " + path("ca.crt") + " --url https://10.0.0.1:8443");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("no path"));
}

TEST_F(AuditConfigCommandTest, HelpExplainsManagedClusters) {
  auto r = run_cli("audit-config --help");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("Usage:"));
  EXPECT_THAT(r.out, HasSubstr("EKS"));
  EXPECT_THAT(r.out, HasSubstr("GKE"));
  EXPECT_THAT(r.out, HasSubstr("AKS"));
  EXPECT_THAT(r.out, HasSubstr("/k8s_audit"));
  r = run_cli("--help");
  EXPECT_THAT(r.out, HasSubstr("audit-config"));
}

}  // namespace
