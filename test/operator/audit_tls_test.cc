#include "operator/audit/audit_tls.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/http/tls_certs.h"
#include "common/k8s/client_config.h"
#include "common/k8s/resource.h"
#include "test/fakes/fake_kube_client.h"

namespace vigil::op {
namespace {

AuditTlsOptions options() {
  AuditTlsOptions o;
  o.ns = "vigil-system";
  o.extra_names = {"127.0.0.1", "audit.example.com"};
  return o;
}

std::string secret_value(testing::FakeKubeClient& client, const std::string& key) {
  auto got = client.get(k8s::secrets(), "vigil-system", "vigil-audit-tls");
  if (!got.ok()) return {};
  auto doc = nlohmann::json::parse(*got);
  if (!doc["data"].contains(key)) return {};
  return k8s::base64_decode(doc["data"][key].get<std::string>()).value_or("");
}

TEST(AuditTlsTest, GeneratesOnceAndEveryReplicaReadsTheSame) {
  testing::FakeKubeClient client;
  auto first = ensure_audit_tls(client, options());
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_TRUE(first->generated);
  EXPECT_TRUE(http::certificate_signed_by(first->cert_pem, first->ca_pem));
  EXPECT_TRUE(http::certificate_signed_by(first->client_cert_pem, first->ca_pem));
  auto info = http::inspect_certificate(first->cert_pem);
  ASSERT_TRUE(info.ok());
  for (const char* name : {"vigil-operator", "vigil-operator.vigil-system.svc",
                           "vigil-operator.vigil-system.svc.cluster.local", "audit.example.com"}) {
    EXPECT_NE(std::find(info->dns_names.begin(), info->dns_names.end(), name),
              info->dns_names.end())
        << name;
  }
  EXPECT_EQ(first->token.size(), 64u);
  EXPECT_NE(first->webhook_kubeconfig.find("client-certificate-data"), std::string::npos);
  EXPECT_NE(first->webhook_kubeconfig.find("https://vigil-operator.vigil-system.svc:443/k8s-audit"),
            std::string::npos);
  EXPECT_EQ(secret_value(client, "tls.crt"), first->cert_pem);

  auto second = ensure_audit_tls(client, options());
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(second->cert_pem, first->cert_pem);
  EXPECT_EQ(second->token, first->token);
  EXPECT_EQ(second->client_ca_pem, first->ca_pem);
}

TEST(AuditTlsTest, RenewsWhenExpiringSoonOrLackingAName) {
  testing::FakeKubeClient client;
  AuditTlsOptions short_lived = options();
  short_lived.validity = std::chrono::hours(24 * 10);
  short_lived.renew_before = std::chrono::hours(1);
  auto first = ensure_audit_tls(client, short_lived);
  ASSERT_TRUE(first.ok()) << first.error();
  // Within the renewal window now (10 days left, renew 30 days before): all new, the CA too.
  auto renewed = ensure_audit_tls(client, options());
  ASSERT_TRUE(renewed.ok()) << renewed.error();
  EXPECT_NE(renewed->cert_pem, first->cert_pem);
  EXPECT_NE(renewed->ca_pem, first->ca_pem);
  EXPECT_EQ(renewed->token, first->token);
  EXPECT_EQ(secret_value(client, "tls.crt"), renewed->cert_pem);
  // A new name for the certificate: a new serving certificate under the same CA, and the API
  // server's client certificate and token stay (its kubeconfig keeps working).
  AuditTlsOptions more = options();
  more.extra_names.push_back("other.example.com");
  auto again = ensure_audit_tls(client, more);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_NE(again->cert_pem, renewed->cert_pem);
  EXPECT_EQ(again->ca_pem, renewed->ca_pem);
  EXPECT_EQ(again->client_cert_pem, renewed->client_cert_pem);
  EXPECT_EQ(again->token, renewed->token);
  EXPECT_EQ(again->webhook_kubeconfig, renewed->webhook_kubeconfig);
  EXPECT_TRUE(http::certificate_signed_by(again->cert_pem, renewed->ca_pem));
}

TEST(AuditTlsTest, AUserMadeSecretIsUsedAsItIs) {
  testing::FakeKubeClient client;
  auto ca = http::generate_ca("my-ca", std::chrono::hours(24));
  ASSERT_TRUE(ca.ok());
  http::CertRequest req;
  req.common_name = "audit";
  req.dns_names = {"audit.example.com"};
  auto cert = http::issue_certificate(*ca, req);
  ASSERT_TRUE(cert.ok());
  nlohmann::json secret{{"apiVersion", "v1"},
                        {"kind", "Secret"},
                        {"metadata", {{"name", "vigil-audit-tls"}, {"namespace", "vigil-system"}}},
                        {"data",
                         {{"tls.crt", k8s::base64_encode(cert->cert_pem)},
                          {"tls.key", k8s::base64_encode(cert->key_pem)},
                          {"client-ca.crt", k8s::base64_encode(ca->cert_pem)}}}};
  ASSERT_TRUE(client.create(k8s::secrets(), "vigil-system", secret.dump()).ok());
  auto m = ensure_audit_tls(client, options());
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_FALSE(m->generated);
  EXPECT_EQ(m->cert_pem, cert->cert_pem);  // short-lived and without the Service's names: kept
  EXPECT_EQ(m->client_ca_pem, ca->cert_pem);
  EXPECT_TRUE(m->token.empty());

  // A user-made Secret whose key does not match: a clear error, nothing overwritten.
  auto other = http::issue_certificate(*ca, req);
  secret["data"]["tls.key"] = k8s::base64_encode(other->key_pem);
  auto stored =
      nlohmann::json::parse(*client.get(k8s::secrets(), "vigil-system", "vigil-audit-tls"));
  secret["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"];
  ASSERT_TRUE(client.update(k8s::secrets(), "vigil-system", "vigil-audit-tls", secret.dump()).ok());
  auto bad = ensure_audit_tls(client, options());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("tls.key does not match tls.crt"), std::string::npos) << bad.error();
}

TEST(AuditTlsTest, LosingTheCreateRaceReadsTheWinner) {
  testing::FakeKubeClient client;
  client.fail_next("create", 409);
  auto winner = ensure_audit_tls(client, options());  // create "fails": retried, then created
  ASSERT_TRUE(winner.ok()) << winner.error();
  EXPECT_EQ(secret_value(client, "tls.crt"), winner->cert_pem);
  client.fail_next("get", 500);
  EXPECT_FALSE(ensure_audit_tls(client, options()).ok());
}

}  // namespace
}  // namespace vigil::op
