#include "common/alerts/sink_secrets.h"

#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vigil::alerts {
namespace {

namespace v1 = api::v1alpha1;
using ::testing::ElementsAre;

v1::AlertSinkSpec webhook_with_everything() {
  v1::AlertSinkSpec spec;
  spec.type = v1::SinkType::kWebhook;
  spec.webhook.emplace();
  spec.webhook->endpoint.url = "https://receiver.example/alerts";
  spec.webhook->endpoint.headers_secret_ref = v1::SecretRef{"auth"};
  spec.webhook->endpoint.tls.ca_secret_ref = v1::SecretKeyRef{"ca", "ca.crt"};
  spec.webhook->endpoint.tls.client_cert_secret_ref = v1::SecretRef{"client-tls"};
  return spec;
}

// Secrets by name, as the API server returns them.
SecretGetter secrets(std::map<std::string, std::string> objects) {
  return [objects = std::move(objects)](const std::string& name) -> Result<std::string> {
    auto it = objects.find(name);
    if (it == objects.end()) return Error{"secrets \"" + name + "\" not found", 404};
    return it->second;
  };
}

TEST(SinkSecretsTest, ListsEveryReferenceWithItsField) {
  auto uses = secret_uses(webhook_with_everything());
  ASSERT_EQ(uses.size(), 3u);
  EXPECT_EQ(uses[0].name, "auth");
  EXPECT_EQ(uses[0].key, "");
  EXPECT_EQ(uses[0].path, "spec.webhook.headersSecretRef");
  EXPECT_EQ(uses[1].path, "spec.webhook.tls.caSecretRef");
  EXPECT_EQ(uses[1].key, "ca.crt");
  EXPECT_EQ(uses[2].path, "spec.webhook.tls.clientCertSecretRef");

  v1::AlertSinkSpec slack;
  slack.type = v1::SinkType::kSlack;
  slack.slack.emplace();
  slack.slack->webhook_secret_ref = {"slack-webhook", "url"};
  uses = secret_uses(slack);
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_EQ(uses[0].path, "spec.slack.webhookSecretRef");
  EXPECT_TRUE(secret_uses(v1::AlertSinkSpec{}).empty());  // stdout
}

TEST(SinkSecretsTest, DecodesDataAndStringDataIntoCredentials) {
  auto r = resolve_sink_credentials(
      "vigil-system", webhook_with_everything(),
      secrets({{"auth", R"({"data":{"Authorization":"QmVhcmVyIHQ="}})"},
               // stringData wins over data, as the API server merges a manifest.
               {"ca", R"({"data":{"ca.crt":"b2xk","other":"eA=="},"stringData":{"ca.crt":"PEM"}})"},
               {"client-tls", R"({"data":{"tls.crt":"Y3J0","tls.key":"a2V5"}})"}}));
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.credentials, (Credentials{{"auth/Authorization", "Bearer t"},
                                        {"ca/ca.crt", "PEM"},
                                        {"client-tls/tls.crt", "crt"},
                                        {"client-tls/tls.key", "key"}}));
}

TEST(SinkSecretsTest, ReportsMissingSecretsAndKeysWithoutValues) {
  auto r = resolve_sink_credentials("team-a", webhook_with_everything(),
                                    secrets({{"ca", R"({"data":{"wrong":"c2VjcmV0dmFsdWU="}})"}}));
  EXPECT_THAT(
      r.problems,
      ElementsAre("spec.webhook.headersSecretRef: Secret team-a/auth not found",
                  "spec.webhook.tls.caSecretRef: Secret team-a/ca has no key 'ca.crt'",
                  "spec.webhook.tls.clientCertSecretRef: Secret team-a/client-tls not found"));
  for (const auto& p : r.problems) EXPECT_EQ(p.find("secretvalue"), std::string::npos);

  v1::AlertSinkSpec slack;
  slack.type = v1::SinkType::kSlack;
  slack.slack.emplace();
  slack.slack->webhook_secret_ref = {"slack-webhook", "url"};
  r = resolve_sink_credentials("vigil-system", slack, secrets({}));
  EXPECT_THAT(r.problems,
              ElementsAre("spec.slack.webhookSecretRef: Secret "
                          "vigil-system/slack-webhook not found (wanted for key 'url')"));

  r = resolve_sink_credentials("vigil-system", slack,
                               [](const std::string&) -> Result<std::string> {
                                 return Error{"connection refused", 0};
                               });
  EXPECT_THAT(r.problems, ElementsAre("spec.slack.webhookSecretRef: Secret "
                                      "vigil-system/slack-webhook unreadable (wanted for key "
                                      "'url'): connection refused"));
}

TEST(SinkSecretsTest, InvalidBase64IsAMissingKey) {
  v1::AlertSinkSpec slack;
  slack.type = v1::SinkType::kSlack;
  slack.slack.emplace();
  slack.slack->webhook_secret_ref = {"slack-webhook", "url"};
  auto r = resolve_sink_credentials("ns", slack,
                                    secrets({{"slack-webhook", R"({"data":{"url":"!!!"}})"}}));
  EXPECT_THAT(r.problems, ElementsAre("spec.slack.webhookSecretRef: Secret ns/slack-webhook has "
                                      "no key 'url'"));
  EXPECT_TRUE(r.credentials.empty());
}

}  // namespace
}  // namespace vigil::alerts
