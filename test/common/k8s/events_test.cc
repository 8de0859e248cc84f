#include "common/k8s/events.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/fakes/fake_kube_client.h"

namespace vigil::k8s {
namespace {

using nlohmann::json;
using testing::FakeKubeClient;

ObjectReference rule(const std::string& name) {
  return {"vigil.dev/v1alpha1", "SecurityRule", "team-a", name, "uid-1", "7"};
}

TEST(K8sEventsTest, CreatesAnEventsV1Event) {
  FakeKubeClient client;
  record_event(client, rule("shell"), EventType::kWarning, "CompileFailed",
               "condition: unknown field proc.nam at line 1, column 3", "vigil-operator");
  const json list = json::parse(client.list(events(), "team-a").value());
  ASSERT_EQ(list["items"].size(), 1u);
  const json& e = list["items"][0];
  EXPECT_EQ(e["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["reason"], "CompileFailed");
  EXPECT_EQ(e["action"], "CompileFailed");
  EXPECT_EQ(e["reportingController"], "vigil-operator");
  EXPECT_EQ(e["reportingInstance"].get<std::string>().rfind("vigil-operator-", 0), 0u);
  EXPECT_EQ(e["regarding"]["kind"], "SecurityRule");
  EXPECT_EQ(e["regarding"]["namespace"], "team-a");
  EXPECT_EQ(e["regarding"]["uid"], "uid-1");
  EXPECT_EQ(e["metadata"]["name"].get<std::string>().rfind("shell.", 0), 0u);
  EXPECT_EQ(e["eventTime"].get<std::string>().size(),
            std::string("2026-01-01T00:00:00.000000Z").size());
}

TEST(K8sEventsTest, ClusterScopedObjectsGoToDefaultAndLongNotesAreCut) {
  FakeKubeClient client;
  record_event(client, {"v1", "Node", "", "node-1", "", ""}, EventType::kNormal, "AgentReady",
               std::string(5000, 'x'), "vigil-agent");
  const json list = json::parse(client.list(events(), "default").value());
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["note"].get<std::string>().size(), 1024u);
  EXPECT_FALSE(list["items"][0]["regarding"].contains("namespace"));
}

TEST(K8sEventsTest, FallsBackToCoreEvents) {
  FakeKubeClient client;
  client.fail_next("create", 404, 1);  // no events.k8s.io/v1
  record_event(client, rule("old"), EventType::kNormal, "Compiled", "ok", "vigil-operator");
  EXPECT_EQ(json::parse(client.list(events(), "team-a").value())["items"].size(), 0u);
  const json list = json::parse(client.list(core_events(), "team-a").value());
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0]["involvedObject"]["name"], "old");
  EXPECT_EQ(list["items"][0]["source"]["component"], "vigil-operator");
  EXPECT_EQ(list["items"][0]["count"], 1);
}

TEST(K8sEventsTest, RateLimitsEachObject) {
  FakeKubeClient client;
  EventRecorder recorder(client, "vigil-operator");
  for (int i = 0; i < 40; ++i) {
    recorder.record(rule("noisy"), EventType::kNormal, "Compiled", "again");
  }
  recorder.record(rule("quiet"), EventType::kNormal, "Compiled", "once");
  const json list = json::parse(client.list(events(), "team-a").value());
  size_t noisy = 0, quiet = 0;
  for (const auto& e : list["items"]) {
    (e["regarding"]["name"] == "noisy" ? noisy : quiet)++;
  }
  EXPECT_EQ(noisy, 25u);
  EXPECT_EQ(quiet, 1u);
}

TEST(K8sEventsTest, RecorderLimitsItsTotalRate) {
  FakeKubeClient client;
  EventRecorder recorder(client, "vigil-operator");
  for (int i = 0; i < 150; ++i) {
    recorder.record(rule("r" + std::to_string(i)), EventType::kNormal, "Compiled", "ok");
  }
  const size_t created = json::parse(client.list(events(), "team-a").value())["items"].size();
  EXPECT_GE(created, 100u);
  EXPECT_LT(created, 110u);  // the burst, plus what refilled at 10/s meanwhile
}

}  // namespace
}  // namespace vigil::k8s
