#include "common/k8s/client_config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace vigil::k8s {
namespace {

namespace fs = std::filesystem;

constexpr char kCaPem[] = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
constexpr char kCertPem[] = "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n";
constexpr char kKeyPem[] = "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n";

std::string b64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string inline_kubeconfig() {
  return "apiVersion: v1\n"
         "kind: Config\n"
         "current-context: admin@test\n"
         "clusters:\n"
         "- name: test\n"
         "  cluster:\n"
         "    server: https://127.0.0.1:6443/\n"
         "    certificate-authority-data: " +
         b64(kCaPem) +
         "\n"
         "    tls-server-name: kubernetes.default\n"
         "users:\n"
         "- name: admin\n"
         "  user:\n"
         "    client-certificate-data: " +
         b64(kCertPem) +
         "\n"
         "    client-key-data: " +
         b64(kKeyPem) +
         "\n"
         "contexts:\n"
         "- name: admin@test\n"
         "  context: {cluster: test, user: admin, namespace: vigil-system}\n"
         "- name: other\n"
         "  context: {cluster: test, user: admin}\n";
}

class K8sClientConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-k8s-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }

  fs::path dir_;
};

// Sets an environment variable for one scope and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST_F(K8sClientConfigTest, ParsesInlineData) {
  auto config = parse_kubeconfig(inline_kubeconfig(), "/nowhere");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->server, "https://127.0.0.1:6443");
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
  EXPECT_EQ(config->tls_server_name, "kubernetes.default");
  EXPECT_EQ(config->default_namespace, "vigil-system");
  EXPECT_FALSE(config->insecure_skip_tls_verify);
  EXPECT_TRUE(config->token.empty());
}

TEST_F(K8sClientConfigTest, ContextOverrideAndDefaultNamespace) {
  auto config = parse_kubeconfig(inline_kubeconfig(), "", {.context = "other"});
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->default_namespace, "default");
  EXPECT_NE(config->source.find("context other"), std::string::npos);
}

TEST_F(K8sClientConfigTest, ResolvesFilesRelativeToTheKubeconfig) {
  write("certs/ca.crt", kCaPem);
  write("certs/admin.crt", kCertPem);
  write("certs/admin.key", kKeyPem);
  write("token", "  secret-token\n");
  const std::string path = write("conf/kubeconfig",
                                 "current-context: c\n"
                                 "clusters: [{name: k, cluster: {server: 'https://h:1', "
                                 "certificate-authority: ../certs/ca.crt}}]\n"
                                 "users: [{name: u, user: {client-certificate: ../certs/admin.crt, "
                                 "client-key: " +
                                     (dir_ / "certs/admin.key").string() +
                                     ", tokenFile: ../token}}]\n"
                                     "contexts: [{name: c, context: {cluster: k, user: u}}]\n");
  auto config = load_kubeconfig({path});
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->client_cert_pem, kCertPem);
  EXPECT_EQ(config->client_key_pem, kKeyPem);
  EXPECT_EQ(fs::path(config->token_file).lexically_normal(), (dir_ / "token").lexically_normal());
}

TEST_F(K8sClientConfigTest, StaticToken) {
  auto config = parse_kubeconfig(
      "current-context: c\n"
      "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n"
      "users: [{name: u, user: {token: abc.def}}]\n"
      "contexts: [{name: c, context: {cluster: k, user: u}}]\n",
      "");
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->token, "abc.def");
  EXPECT_TRUE(config->ca_pem.empty());  // the system trust store
}

TEST_F(K8sClientConfigTest, MergesFilesFirstOneWins) {
  const std::string a = write("a",
                              "current-context: one\n"
                              "clusters: [{name: k, cluster: {server: 'https://first:1'}}]\n"
                              "contexts: [{name: one, context: {cluster: k}}]\n");
  const std::string b = write("b",
                              "current-context: two\n"
                              "clusters: [{name: k, cluster: {server: 'https://second:1'}},"
                              " {name: k2, cluster: {server: 'https://third:1'}}]\n"
                              "contexts: [{name: two, context: {cluster: k2}}]\n");
  auto config = load_kubeconfig({(dir_ / "missing").string(), a, b});
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->server, "https://first:1");
  auto other = load_kubeconfig({a, b}, {.context = "two"});
  ASSERT_TRUE(other.ok()) << other.error();
  EXPECT_EQ(other->server, "https://third:1");
}

struct BadConfig {
  const char* name;
  std::string yaml;
  const char* message;  // expected in the error
};

TEST_F(K8sClientConfigTest, RejectsBadConfigsWithClearMessages) {
  const std::string cluster = "clusters: [{name: k, cluster: {server: 'https://h:1'}}]\n";
  const std::string ctx = "contexts: [{name: c, context: {cluster: k, user: u}}]\n";
  const std::vector<BadConfig> cases = {
      {"no current context", cluster, "no current-context"},
      {"unknown context", "current-context: x\n" + cluster, "context x is not defined"},
      {"unknown cluster", "current-context: c\ncontexts: [{name: c, context: {cluster: nope}}]\n",
       "cluster \"nope\", which is not defined"},
      {"unknown user", "current-context: c\n" + cluster + ctx, "user \"u\", which is not defined"},
      {"no server", "current-context: c\nclusters: [{name: k, cluster: {}}]\n" + ctx,
       "has no server"},
      {"insecure",
       "current-context: c\nclusters: [{name: k, cluster: {server: 'https://h:1', "
       "insecure-skip-tls-verify: true}}]\ncontexts: [{name: c, context: {cluster: k}}]\n",
       "insecure-skip-tls-verify, which vigil refuses"},
      {"plain http",
       "current-context: c\nclusters: [{name: k, cluster: {server: 'http://h:1'}}]\n"
       "contexts: [{name: c, context: {cluster: k}}]\n",
       "plain http://"},
      {"exec plugin",
       "current-context: c\n" + cluster + ctx +
           "users: [{name: u, user: {exec: {command: aws}}}]\n",
       "\"exec\", which vigil does not support"},
      {"bad base64",
       "current-context: c\nclusters: [{name: k, cluster: {server: 'https://h:1', "
       "certificate-authority-data: '!!!'}}]\ncontexts: [{name: c, context: {cluster: k}}]\n",
       "certificate-authority-data is not valid base64"},
      {"not PEM",
       "current-context: c\nclusters: [{name: k, cluster: {server: 'https://h:1', "
       "certificate-authority-data: " +
           b64("hello") +
           "}}]\n"
           "contexts: [{name: c, context: {cluster: k}}]\n",
       "does not contain PEM data"},
      {"cert without key",
       "current-context: c\n" + cluster + ctx +
           "users: [{name: u, user: {client-certificate-data: " + b64(kCertPem) + "}}]\n",
       "only one of client-certificate and client-key"},
      {"missing CA file",
       "current-context: c\nclusters: [{name: k, cluster: {server: 'https://h:1', "
       "certificate-authority: /nonexistent/ca.crt}}]\n"
       "contexts: [{name: c, context: {cluster: k}}]\n",
       "/nonexistent/ca.crt"},
      {"bad YAML", "clusters: [\n  - {name: k\n", "invalid YAML at line"},
      {"not a map", "- a\n- b\n", "not a map"},
      {"clusters not a list", "clusters: {a: b}\n", "clusters must be a list"},
      {"bad boolean",
       "current-context: c\nclusters: [{name: k, cluster: {server: 'https://h:1', "
       "insecure-skip-tls-verify: maybe}}]\ncontexts: [{name: c, context: {cluster: k}}]\n",
       "invalid value at line"},
  };
  for (const auto& c : cases) {
    auto config = parse_kubeconfig(c.yaml, "/tmp");
    ASSERT_FALSE(config.ok()) << c.name;
    EXPECT_NE(config.error().find(c.message), std::string::npos)
        << c.name << ": " << config.error();
  }
}

TEST_F(K8sClientConfigTest, InsecureOnlyWhenExplicitlyAllowed) {
  const std::string yaml =
      "current-context: c\nclusters: [{name: k, cluster: {server: 'https://h:1', "
      "insecure-skip-tls-verify: true}}]\ncontexts: [{name: c, context: {cluster: k}}]\n";
  auto config = parse_kubeconfig(yaml, "", {.allow_insecure_skip_tls_verify = true});
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_TRUE(config->insecure_skip_tls_verify);
}

TEST_F(K8sClientConfigTest, MissingFileIsAnError) {
  auto config = load_kubeconfig({(dir_ / "nope").string()});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().find("does not exist"), std::string::npos) << config.error();
}

TEST_F(K8sClientConfigTest, InClusterConfig) {
  write("sa/token", "sa-token\n");
  write("sa/ca.crt", kCaPem);
  write("sa/namespace", "vigil-system\n");
  auto config = in_cluster_config("10.0.0.1", "443", (dir_ / "sa").string());
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->server, "https://10.0.0.1:443");
  EXPECT_EQ(config->token_file, (dir_ / "sa/token").string());
  EXPECT_EQ(config->ca_pem, kCaPem);
  EXPECT_EQ(config->default_namespace, "vigil-system");

  auto v6 = in_cluster_config("fd00::1", "6443", (dir_ / "sa").string());
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6->server, "https://[fd00::1]:6443");

  EXPECT_FALSE(in_cluster_config("", "443", (dir_ / "sa").string()).ok());
  auto missing = in_cluster_config("10.0.0.1", "443", (dir_ / "nosa").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("service account token"), std::string::npos) << missing.error();
}

TEST_F(K8sClientConfigTest, LoadClientConfigPrecedence) {
  const auto kubeconfig = [](const char* server) {
    return std::string("current-context: c\nclusters: [{name: k, cluster: {server: '") + server +
           "'}}]\ncontexts: [{name: c, context: {cluster: k}}]\n";
  };
  const std::string explicit_path = write("explicit", kubeconfig("https://explicit:1"));
  const std::string env_path = write("env", kubeconfig("https://env:1"));
  write("home/.kube/config", kubeconfig("https://home:1"));
  write("sa/token", "t");
  write("sa/ca.crt", kCaPem);

  ScopedEnv home("HOME", (dir_ / "home").c_str());
  ScopedEnv kube("KUBECONFIG", env_path.c_str());
  ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
  ScopedEnv port("KUBERNETES_SERVICE_PORT", nullptr);

  auto c1 = load_client_config(explicit_path);
  ASSERT_TRUE(c1.ok()) << c1.error();
  EXPECT_EQ(c1->server, "https://explicit:1");

  auto c2 = load_client_config(std::nullopt);
  ASSERT_TRUE(c2.ok()) << c2.error();
  EXPECT_EQ(c2->server, "https://env:1");

  {
    ScopedEnv no_kube("KUBECONFIG", nullptr);
    auto c3 = load_client_config(std::string());
    ASSERT_TRUE(c3.ok()) << c3.error();
    EXPECT_EQ(c3->server, "https://home:1");

    // In a pod the service account comes before ~/.kube/config; its files are at a fixed path
    // that does not exist here, so the error proves the in-cluster branch was taken.
    ScopedEnv h("KUBERNETES_SERVICE_HOST", "10.0.0.1");
    ScopedEnv p("KUBERNETES_SERVICE_PORT", "443");
    auto c4 = load_client_config(std::nullopt);
    if (!fs::exists(std::string(kServiceAccountDir))) {
      ASSERT_FALSE(c4.ok());
      EXPECT_NE(c4.error().find("service account"), std::string::npos) << c4.error();
    }
  }
  {
    ScopedEnv no_kube("KUBECONFIG", nullptr);
    ScopedEnv no_home("HOME", (dir_ / "empty").c_str());
    auto none = load_client_config(std::nullopt);
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().find("no Kubernetes configuration"), std::string::npos) << none.error();
  }
}

TEST(K8sBase64Test, Decodes) {
  EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64_decode("aGVsbG8"), "hello");
  EXPECT_EQ(base64_decode("aGVs\nbG8=\n"), "hello");
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_FALSE(base64_decode("aGVsbG8=x").has_value());
  EXPECT_FALSE(base64_decode("a").has_value());
  EXPECT_FALSE(base64_decode("a$==").has_value());
}

}  // namespace
}  // namespace vigil::k8s
