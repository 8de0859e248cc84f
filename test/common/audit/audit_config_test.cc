// The rendered audit policy, applied with the API server's first-match semantics
// (../shared/reference/kubernetes.md §2.3; k8s.io/apiserver pkg/audit/policy/checker.go), and the
// rendered webhook kubeconfig.

#include "common/audit/audit_config.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "common/k8s/client_config.h"

namespace {

using ::testing::HasSubstr;
using vigil::audit::AuditPolicyOptions;
using vigil::audit::WebhookOptions;

constexpr const char* kCa =
    "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIUXx+ca/bundle==\n-----END CERTIFICATE-----\n";
constexpr const char* kCert =
    "-----BEGIN CERTIFICATE-----\nMIIBclientcert\n-----END CERTIFICATE-----\n";
constexpr const char* kKey =
    "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIkey\n-----END EC PRIVATE KEY-----\n";

// ---- a tiny evaluator of audit.k8s.io/v1 Policy rules

struct Req {
  std::string user;
  std::vector<std::string> groups;
  std::string verb;
  std::string group;  // API group; "" core
  std::string resource;
  std::string subresource;
  std::string ns;
  std::string path = {};  // non-resource URL when resource is empty
};

bool in(const YAML::Node& list, const std::string& s) {
  for (const auto& n : list)
    if (n.as<std::string>() == s) return true;
  return false;
}

bool rule_matches(const YAML::Node& r, const Req& q) {
  if (r["users"] && r["users"].size() > 0 && !in(r["users"], q.user)) return false;
  if (r["userGroups"] && r["userGroups"].size() > 0 &&
      std::none_of(q.groups.begin(), q.groups.end(),
                   [&](const std::string& g) { return in(r["userGroups"], g); }))
    return false;
  if (r["verbs"] && r["verbs"].size() > 0 && !in(r["verbs"], q.verb)) return false;
  const bool has_res = r["resources"] && r["resources"].size() > 0;
  const bool has_ns = r["namespaces"] && r["namespaces"].size() > 0;
  const bool has_urls = r["nonResourceURLs"] && r["nonResourceURLs"].size() > 0;
  if (!q.resource.empty()) {  // resource request
    if (has_urls) return false;
    if (has_ns && !in(r["namespaces"], q.ns)) return false;
    if (!has_res) return true;
    const std::string combined =
        q.subresource.empty() ? q.resource : q.resource + "/" + q.subresource;
    for (const auto& gr : r["resources"]) {
      if (gr["group"].as<std::string>("") != q.group) continue;
      if (!gr["resources"] || gr["resources"].size() == 0) return true;
      for (const auto& res : gr["resources"]) {
        const auto s = res.as<std::string>();
        if (s == combined || s == "*" ||
            (q.subresource.empty() ? false : s == "*/" + q.subresource) || s == q.resource + "/*")
          return true;
      }
    }
    return false;
  }
  if (has_res || has_ns) return false;  // non-resource request
  if (!has_urls) return true;
  for (const auto& u : r["nonResourceURLs"]) {
    const auto s = u.as<std::string>();
    if (s == "*" || s == q.path) return true;
    if (s.ends_with("*") && q.path.starts_with(s.substr(0, s.size() - 1))) return true;
  }
  return false;
}

std::string level_for(const YAML::Node& policy, const Req& q) {
  for (const auto& r : policy["rules"])
    if (rule_matches(r, q)) return r["level"].as<std::string>();
  return "None";
}

const std::vector<std::string> kUserGroups = {"system:authenticated"};
const std::vector<std::string> kNodeGroups = {"system:nodes", "system:authenticated"};

struct Case {
  Req req;
  std::string level;
};

TEST(AuditPolicy, ParsesWithStagesAndManagedFields) {
  const YAML::Node p = YAML::Load(vigil::audit::render_audit_policy({}));
  EXPECT_EQ(p["apiVersion"].as<std::string>(), "audit.k8s.io/v1");
  EXPECT_EQ(p["kind"].as<std::string>(), "Policy");
  ASSERT_EQ(p["omitStages"].size(), 1u);
  EXPECT_EQ(p["omitStages"][0].as<std::string>(), "RequestReceived");
  EXPECT_TRUE(p["omitManagedFields"].as<bool>());
  ASSERT_TRUE(p["rules"].IsSequence());
  for (const auto& r : p["rules"]) {
    const auto level = r["level"].as<std::string>();
    EXPECT_TRUE(level == "None" || level == "Metadata" || level == "Request" ||
                level == "RequestResponse")
        << level;
  }
  // The last rule is the catch-all.
  const auto last = p["rules"][p["rules"].size() - 1];
  EXPECT_EQ(last["level"].as<std::string>(), "Metadata");
  EXPECT_EQ(last.size(), 1u);

  AuditPolicyOptions o;
  o.response_complete_only = true;
  o.omit_managed_fields = false;
  const YAML::Node q = YAML::Load(vigil::audit::render_audit_policy(o));
  ASSERT_EQ(q["omitStages"].size(), 2u);
  EXPECT_EQ(q["omitStages"][1].as<std::string>(), "ResponseStarted");
  EXPECT_FALSE(q["omitManagedFields"]);
}

TEST(AuditPolicy, FirstMatchingRuleGivesTheRightLevel) {
  const YAML::Node p = YAML::Load(vigil::audit::render_audit_policy({}));
  const std::string alice = "alice";
  const std::vector<Case> cases = {
      // Writes Vigil's rules inspect: the whole request and response.
      {{alice, kUserGroups, "create", "", "services", "", "default"}, "RequestResponse"},
      {{alice, kUserGroups, "patch", "", "services", "", "default"}, "RequestResponse"},
      {{alice, kUserGroups, "create", "", "pods", "", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "update", "", "configmaps", "", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "create", "apps", "deployments", "", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "patch", "apps", "daemonsets", "", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "create", "apps", "statefulsets", "", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "create", "apps", "replicasets", "", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "create", "batch", "jobs", "", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "create", "batch", "cronjobs", "", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "create", "rbac.authorization.k8s.io", "clusterroles", "", ""},
       "RequestResponse"},
      {{alice, kUserGroups, "create", "rbac.authorization.k8s.io", "clusterrolebindings", "", ""},
       "RequestResponse"},
      {{alice, kUserGroups, "update", "rbac.authorization.k8s.io", "roles", "", "dev"},
       "RequestResponse"},
      {{alice, kUserGroups, "create", "rbac.authorization.k8s.io", "rolebindings", "", "dev"},
       "RequestResponse"},
      {{alice, kUserGroups, "create", "", "pods", "exec", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "get", "", "pods", "exec", "dev"}, "RequestResponse"},
      {{alice, kUserGroups, "create", "", "pods", "attach", "dev"}, "RequestResponse"},
      // Credentials: metadata only, whatever the verb.
      {{alice, kUserGroups, "get", "", "secrets", "", "dev"}, "Metadata"},
      {{alice, kUserGroups, "list", "", "secrets", "", "dev"}, "Metadata"},
      {{alice, kUserGroups, "create", "", "secrets", "", "dev"}, "Metadata"},
      {{alice, kUserGroups, "update", "", "secrets", "", "kube-system"}, "Metadata"},
      {{alice, kUserGroups, "create", "authentication.k8s.io", "tokenreviews", "", ""}, "Metadata"},
      {{alice, kUserGroups, "create", "", "serviceaccounts", "token", "dev"}, "Metadata"},
      // Other writes: who did what.
      {{alice, kUserGroups, "delete", "", "pods", "", "dev"}, "Metadata"},
      {{alice, kUserGroups, "create", "", "namespaces", "", ""}, "Metadata"},
      {{alice, kUserGroups, "patch", "", "pods", "status", "dev"}, "Metadata"},
      // Read-only noise.
      {{alice, kUserGroups, "get", "", "pods", "", "dev"}, "None"},
      {{alice, kUserGroups, "list", "apps", "deployments", "", "dev"}, "None"},
      {{alice, kUserGroups, "watch", "", "configmaps", "", "dev"}, "None"},
      {{alice, kUserGroups, "get", "", "pods", "log", "dev"}, "None"},
      {{alice, kUserGroups, "create", "", "events", "", "dev"}, "None"},
      {{alice, kUserGroups, "create", "events.k8s.io", "events", "", "dev"}, "None"},
      {{"system:kube-controller-manager", kUserGroups, "update", "coordination.k8s.io", "leases",
        "", "kube-system"},
       "None"},
      {{alice, kUserGroups, "update", "", "endpoints", "", "dev"}, "None"},
      {{alice, kUserGroups, "create", "discovery.k8s.io", "endpointslices", "", "dev"}, "None"},
      {{"system:kube-proxy", kUserGroups, "watch", "", "services", "", ""}, "None"},
      {{"system:node:n1", kNodeGroups, "get", "", "secrets", "", "dev"}, "None"},
      {{"system:node:n1", kNodeGroups, "patch", "", "pods", "status", "dev"}, "Metadata"},
      {{"system:anonymous", {"system:unauthenticated"}, "get", "", "", "", "", "/healthz"}, "None"},
      {{alice, kUserGroups, "get", "", "", "", "", "/readyz?verbose"}, "None"},
      {{alice, kUserGroups, "get", "", "", "", "", "/livez/etcd"}, "None"},
      {{alice, kUserGroups, "get", "", "", "", "", "/metrics"}, "None"},
      {{alice, kUserGroups, "get", "", "", "", "", "/apis"}, "None"},
      {{alice, kUserGroups, "post", "", "", "", "", "/logs"}, "Metadata"},
  };
  for (const auto& c : cases) {
    const auto& q = c.req;
    EXPECT_EQ(level_for(p, q), c.level)
        << q.user << " " << q.verb << " " << q.group << "/" << q.resource
        << (q.subresource.empty() ? "" : "/" + q.subresource) << " ns=" << q.ns << q.path;
  }
}

TEST(AuditPolicy, IgnoredNamespacesAreNotRecorded) {
  AuditPolicyOptions o;
  o.ignored_namespaces = {"ci", "load-test"};
  const YAML::Node p = YAML::Load(vigil::audit::render_audit_policy(o));
  EXPECT_EQ(level_for(p, {"alice", kUserGroups, "create", "", "services", "", "ci"}), "None");
  EXPECT_EQ(level_for(p, {"alice", kUserGroups, "get", "", "secrets", "", "load-test"}), "None");
  EXPECT_EQ(level_for(p, {"alice", kUserGroups, "create", "", "services", "", "prod"}),
            "RequestResponse");
  // Cluster-scoped requests are still recorded.
  EXPECT_EQ(level_for(p, {"alice", kUserGroups, "create", "rbac.authorization.k8s.io",
                          "clusterroles", "", ""}),
            "RequestResponse");
}

// ---- webhook kubeconfig

TEST(WebhookKubeconfig, DefaultsToTheOperatorServiceWithTheCa) {
  WebhookOptions o;
  o.ca_pem = kCa;
  auto kc = vigil::audit::render_webhook_kubeconfig(o);
  ASSERT_TRUE(kc.ok()) << kc.error();
  const YAML::Node y = YAML::Load(*kc);
  EXPECT_EQ(y["kind"].as<std::string>(), "Config");
  EXPECT_EQ(y["apiVersion"].as<std::string>(), "v1");
  ASSERT_EQ(y["clusters"].size(), 1u);
  const auto cluster = y["clusters"][0]["cluster"];
  EXPECT_EQ(cluster["server"].as<std::string>(),
            "https://vigil-operator.vigil-system.svc:443/k8s-audit");
  auto ca = vigil::k8s::base64_decode(cluster["certificate-authority-data"].as<std::string>());
  ASSERT_TRUE(ca);
  EXPECT_EQ(*ca, kCa);
  ASSERT_EQ(y["contexts"].size(), 1u);
  EXPECT_EQ(y["current-context"].as<std::string>(), y["contexts"][0]["name"].as<std::string>());
  EXPECT_EQ(y["contexts"][0]["context"]["cluster"].as<std::string>(),
            y["clusters"][0]["name"].as<std::string>());
  EXPECT_EQ(y["contexts"][0]["context"]["user"].as<std::string>(),
            y["users"][0]["name"].as<std::string>());
  EXPECT_FALSE(y["users"][0]["user"]["token"]);
  EXPECT_FALSE(vigil::audit::webhook_has_credentials(o));
}

TEST(WebhookKubeconfig, ServiceNamespacePortAndPath) {
  WebhookOptions o;
  o.ca_pem = kCa;
  o.service = "vigil";
  o.ns = "security";
  o.port = 8443;
  o.path = std::string(vigil::audit::kAuditPathAlt);
  auto kc = vigil::audit::render_webhook_kubeconfig(o);
  ASSERT_TRUE(kc.ok()) << kc.error();
  EXPECT_EQ(YAML::Load(*kc)["clusters"][0]["cluster"]["server"].as<std::string>(),
            "https://vigil.security.svc:8443/k8s_audit");
}

TEST(WebhookKubeconfig, ClientCertificateOrToken) {
  WebhookOptions o;
  o.ca_pem = kCa;
  o.client_cert_pem = kCert;
  o.client_key_pem = kKey;
  auto kc = vigil::audit::render_webhook_kubeconfig(o);
  ASSERT_TRUE(kc.ok()) << kc.error();
  auto user = YAML::Load(*kc)["users"][0]["user"];
  EXPECT_EQ(*vigil::k8s::base64_decode(user["client-certificate-data"].as<std::string>()), kCert);
  EXPECT_EQ(*vigil::k8s::base64_decode(user["client-key-data"].as<std::string>()), kKey);
  EXPECT_TRUE(vigil::audit::webhook_has_credentials(o));

  WebhookOptions t;
  t.ca_pem = kCa;
  t.url = "https://10.96.0.20:8443/k8s-audit";
  t.token = "s3cr3t-token\n";
  kc = vigil::audit::render_webhook_kubeconfig(t);
  ASSERT_TRUE(kc.ok()) << kc.error();
  const YAML::Node y = YAML::Load(*kc);
  EXPECT_EQ(y["users"][0]["user"]["token"].as<std::string>(), "s3cr3t-token");
  EXPECT_EQ(y["clusters"][0]["cluster"]["server"].as<std::string>(),
            "https://10.96.0.20:8443/k8s-audit");
  EXPECT_TRUE(vigil::audit::webhook_has_credentials(t));
}

TEST(WebhookKubeconfig, Base64) {
  EXPECT_EQ(vigil::audit::base64_encode(""), "");
  EXPECT_EQ(vigil::audit::base64_encode("f"), "Zg==");
  EXPECT_EQ(vigil::audit::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(vigil::audit::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(vigil::audit::base64_encode("foobar"), "Zm9vYmFy");
  std::string bin;
  for (int i = 0; i < 256; ++i) bin += static_cast<char>(i);
  EXPECT_EQ(*vigil::k8s::base64_decode(vigil::audit::base64_encode(bin)), bin);
}

std::string error_for(WebhookOptions o) {
  auto kc = vigil::audit::render_webhook_kubeconfig(o);
  return kc.ok() ? "(no error)" : kc.error();
}

TEST(WebhookKubeconfig, Errors) {
  WebhookOptions base;
  base.ca_pem = kCa;
  auto with = [&](auto f) {
    WebhookOptions o = base;
    f(o);
    return error_for(o);
  };
  EXPECT_THAT(with([](auto& o) { o.url = "http://vigil:80/k8s-audit"; }), HasSubstr("not https"));
  EXPECT_THAT(with([](auto& o) { o.url = "ftp://vigil/k8s-audit"; }), HasSubstr("https://"));
  EXPECT_THAT(with([](auto& o) { o.url = "https://vigil:8443"; }), HasSubstr("no path"));
  EXPECT_THAT(with([](auto& o) { o.url = "https://vigil:8443/"; }), HasSubstr("/k8s-audit"));
  EXPECT_THAT(with([](auto& o) { o.url = "https:///k8s-audit"; }), HasSubstr("no host"));
  EXPECT_THAT(with([](auto& o) { o.url = "https://vigil:99999/k8s-audit"; }),
              HasSubstr("invalid port"));
  EXPECT_THAT(with([](auto& o) { o.url = "https://u:p@vigil/k8s-audit"; }),
              HasSubstr("user information"));
  EXPECT_THAT(with([](auto& o) { o.url = "https://vi gil/k8s-audit"; }), HasSubstr("spaces"));
  EXPECT_THAT(with([](auto& o) { o.service = "Vigil_Operator"; }), HasSubstr("DNS label"));
  EXPECT_THAT(with([](auto& o) { o.ns = ""; }), HasSubstr("DNS label"));
  EXPECT_THAT(with([](auto& o) { o.port = 0; }), HasSubstr("between 1 and 65535"));
  EXPECT_THAT(with([](auto& o) { o.ca_pem = ""; }), HasSubstr("no CA bundle"));
  EXPECT_THAT(with([](auto& o) { o.ca_pem = "not a certificate"; }), HasSubstr("not PEM"));
  EXPECT_THAT(with([](auto& o) { o.ca_pem = kKey; }), HasSubstr("not PEM"));
  EXPECT_THAT(
      with([](auto& o) { o.ca_pem = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"; }),
      HasSubstr("not PEM"));
  EXPECT_THAT(with([](auto& o) { o.client_cert_pem = kCert; }), HasSubstr("needs its key"));
  EXPECT_THAT(with([](auto& o) { o.client_key_pem = kKey; }), HasSubstr("needs its certificate"));
  EXPECT_THAT(with([](auto& o) {
                o.client_cert_pem = kCert;
                o.client_key_pem = kCert;
              }),
              HasSubstr("not a PEM private key"));
  EXPECT_THAT(with([](auto& o) {
                o.client_cert_pem = kCert;
                o.client_key_pem = kKey;
                o.token = "t";
              }),
              HasSubstr("not both"));
  EXPECT_THAT(with([](auto& o) { o.token = "two words"; }), HasSubstr("spaces"));
  EXPECT_THAT(with([](auto& o) { o.token = "\n"; }), HasSubstr("empty"));

  // http only for tests, and then no CA is needed.
  WebhookOptions insecure;
  insecure.url = "http://127.0.0.1:9000/k8s-audit";
  insecure.allow_insecure = true;
  auto kc = vigil::audit::render_webhook_kubeconfig(insecure);
  ASSERT_TRUE(kc.ok()) << kc.error();
  EXPECT_FALSE(YAML::Load(*kc)["clusters"][0]["cluster"]["certificate-authority-data"]);
}

}  // namespace
