#include "agent/sink_sync.h"

#include <nlohmann/json.hpp>

#include "common/k8s/client_config.h"
#include "gtest/gtest.h"

namespace vigil::agent {
namespace {

using Json = nlohmann::json;

std::string configmap(const Json& sinks) {
  return Json{{"metadata", {{"name", "vigil-bundle"}}}, {"data", {{"sinks.json", sinks.dump()}}}}
      .dump();
}

std::string secret(const Json& creds) {
  return Json{{"metadata", {{"name", "vigil-bundle-credentials"}}},
              {"data", {{"credentials.json", k8s::base64_encode(creds.dump())}}}}
      .dump();
}

const Json kStdout = {{"namespace", "vigil-system"},
                      {"name", "stdout"},
                      {"generation", 1},
                      {"spec", {{"type", "stdout"}, {"stdout", {{"format", "text"}}}}}};
const Json kSlack = {
    {"namespace", "vigil-system"},
    {"name", "slack"},
    {"generation", 3},
    {"spec",
     {{"type", "slack"}, {"slack", {{"webhookSecretRef", {{"name", "hook"}, {"key", "url"}}}}}}}};

TEST(SinkSyncTest, BuildsEverySinkWithItsCredentials) {
  auto s = build_bundle_sinks(
      configmap(Json::array({kStdout, kSlack})),
      secret({{"vigil-system/slack", {{"hook/url", "https://hooks.example.com/T0/B0/secret"}}}}));
  EXPECT_EQ(s.error, "");
  EXPECT_TRUE(s.errors.empty()) << s.errors.front();
  ASSERT_EQ(s.targets.size(), 2u);
  EXPECT_EQ(s.targets[0].name, "stdout");
  EXPECT_NE(s.targets[0].local, nullptr);
  EXPECT_EQ(s.targets[1].name, "slack");
  EXPECT_EQ(s.targets[1].generation, 3);
  ASSERT_NE(s.targets[1].encoder, nullptr);
}

TEST(SinkSyncTest, ASinkWithoutItsCredentialsIsLeftOutAndNamedWithoutSecrets) {
  auto s = build_bundle_sinks(configmap(Json::array({kStdout, kSlack})), "");
  ASSERT_EQ(s.targets.size(), 1u);
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_NE(s.errors[0].find("vigil-system/slack"), std::string::npos) << s.errors[0];
}

TEST(SinkSyncTest, MalformedInputIsAnErrorNotACrash) {
  EXPECT_NE(build_bundle_sinks("", "").error, "");
  EXPECT_NE(build_bundle_sinks("{\"data\":{\"sinks.json\":\"{\"}}", "").error, "");
  auto s = build_bundle_sinks(configmap(Json::array({1, Json::object(), kStdout})),
                              "{\"data\":{\"credentials.json\":\"!!\"}}");
  EXPECT_EQ(s.targets.size(), 1u);
  EXPECT_EQ(s.errors.size(), 3u);  // two bad entries and the undecodable Secret
  auto bad_spec = kStdout;
  bad_spec["spec"]["type"] = "carrier-pigeon";
  EXPECT_EQ(build_bundle_sinks(configmap(Json::array({bad_spec})), "").targets.size(), 0u);
}

}  // namespace
}  // namespace vigil::agent
