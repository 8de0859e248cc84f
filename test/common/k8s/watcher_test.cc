#include "common/k8s/watcher.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/fakes/fake_kube_client.h"
#include "test/fakes/watch_recorder.h"

namespace vigil::k8s {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeKubeClient;

std::string configmap(const std::string& name, const std::string& value,
                      const std::string& labels = R"({"app":"vigil"})") {
  return json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"labels", json::parse(labels)}}},
              {"data", {{"v", value}}}}
      .dump();
}

using Recorder = vigil::testing::WatchRecorder;  // 5 s waits

WatcherOptions options(int64_t page_size = 500) {
  WatcherOptions o;
  o.resource = configmaps();
  o.ns = "ns";
  o.page_size = page_size;
  o.backoff = {.initial = 10ms, .max = 50ms};
  return o;
}

TEST(K8sWatcherTest, ListsThenStreamsEventsInOrder) {
  FakeKubeClient client;
  for (const char* n : {"a", "b", "c", "d", "e"})
    ASSERT_TRUE(client.create(configmaps(), "ns", configmap(n, "0")).ok());
  ASSERT_TRUE(client.create(configmaps(), "other", configmap("x", "0")).ok());
  Recorder rec;
  Watcher w(client, options(/*page_size=*/2), rec.handler());
  EXPECT_FALSE(w.has_synced());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(5s));
  EXPECT_EQ(rec.events(), (std::vector<std::string>{"ADDED a=0", "ADDED b=0", "ADDED c=0",
                                                    "ADDED d=0", "ADDED e=0"}));
  EXPECT_EQ(w.snapshot().size(), 5u);
  auto cached = w.get("ns/c");
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(json::parse(*cached->object)["kind"], "ConfigMap");  // filled in from the List's kind

  auto a = json::parse(client.get(configmaps(), "ns", "a").value());
  a["data"]["v"] = "1";
  const auto updated = json::parse(client.update(configmaps(), "ns", "a", a.dump()).value());
  ASSERT_TRUE(client.create(configmaps(), "ns", configmap("f", "0")).ok());
  const auto deleted = json::parse(client.remove(configmaps(), "ns", "b").value());
  ASSERT_TRUE(client.create(configmaps(), "other", configmap("y", "0")).ok());  // not watched
  ASSERT_TRUE(rec.wait_for(8));
  EXPECT_EQ(rec.events(),
            (std::vector<std::string>{"ADDED a=0", "ADDED b=0", "ADDED c=0", "ADDED d=0",
                                      "ADDED e=0", "MODIFIED a=1", "ADDED f=0", "DELETED b=0"}));
  EXPECT_FALSE(w.get("ns/b").has_value());
  EXPECT_EQ(w.get("ns/a")->resource_version, updated["metadata"]["resourceVersion"]);
  EXPECT_EQ(w.resource_version(), deleted["metadata"]["resourceVersion"]);
  w.stop();
  EXPECT_EQ(w.stats().lists, 1u);
}

TEST(K8sWatcherTest, ResumesFromTheLastVersionWithoutMissingEvents) {
  FakeKubeClient client;
  Recorder rec;
  Watcher w(client, options(), rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(5s));
  const auto watch_calls = [&] {
    auto calls = client.calls();
    return std::count_if(calls.begin(), calls.end(),
                         [](const std::string& c) { return c.rfind("watch ", 0) == 0; });
  };
  for (int round = 0; round < 5; ++round) {
    // Once the watcher's next watch is open, end it as a server timeout or a dropped connection
    // would.
    for (int i = 0; i < 500 && watch_calls() < round + 1; ++i) std::this_thread::sleep_for(2ms);
    ASSERT_EQ(watch_calls(), round + 1);
    client.close_watches();
    ASSERT_TRUE(
        client.create(configmaps(), "ns", configmap("r" + std::to_string(round), "0")).ok());
  }
  ASSERT_TRUE(rec.wait_for(5));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rec.events(), (std::vector<std::string>{"ADDED r0=0", "ADDED r1=0", "ADDED r2=0",
                                                    "ADDED r3=0", "ADDED r4=0"}));
  EXPECT_EQ(w.stats().lists, 1u);  // resumed, never relisted
  EXPECT_GE(w.stats().watches, 6u);
}

TEST(K8sWatcherTest, RelistsAfterGoneAndSynthesizesDeletes) {
  FakeKubeClient client;
  for (const char* n : {"keep", "change", "vanish"})
    ASSERT_TRUE(client.create(configmaps(), "ns", configmap(n, "0")).ok());
  Recorder rec;
  Watcher w(client, options(), rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(5s));
  ASSERT_TRUE(rec.wait_for(3));

  // While the watcher is disconnected, objects change and the history is compacted away.
  client.fail_next("watch", 503, 1000);
  client.close_watches();
  std::this_thread::sleep_for(50ms);
  auto c = json::parse(client.get(configmaps(), "ns", "change").value());
  c["data"]["v"] = "1";
  ASSERT_TRUE(client.update(configmaps(), "ns", "change", c.dump()).ok());
  ASSERT_TRUE(client.remove(configmaps(), "ns", "vanish").ok());
  ASSERT_TRUE(client.create(configmaps(), "ns", configmap("new", "0")).ok());
  client.compact();
  client.fail_next("watch", 503, 0);

  ASSERT_TRUE(rec.wait_for(6));
  auto events = rec.events();
  std::vector<std::string> after(events.begin() + 3, events.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after,
            (std::vector<std::string>{"ADDED new=0", "DELETED vanish=0", "MODIFIED change=1"}));
  EXPECT_EQ(w.stats().relists, 1u);
  EXPECT_GE(w.stats().errors, 1u);
  EXPECT_EQ(w.snapshot().size(), 3u);
  EXPECT_FALSE(w.get("ns/vanish").has_value());
}

TEST(K8sWatcherTest, RetriesAFailedListWithBackoff) {
  FakeKubeClient client;
  ASSERT_TRUE(client.create(configmaps(), "ns", configmap("a", "0")).ok());
  client.fail_next("list", 500, 3);
  Recorder rec;
  Watcher w(client, options(), rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(5s));
  EXPECT_EQ(w.stats().errors, 3u);
  EXPECT_EQ(rec.events(), std::vector<std::string>{"ADDED a=0"});
}

TEST(K8sWatcherTest, FiltersByLabelSelector) {
  FakeKubeClient client;
  ASSERT_TRUE(client.create(configmaps(), "ns", configmap("a", "0", R"({"app":"vigil"})")).ok());
  ASSERT_TRUE(client.create(configmaps(), "ns", configmap("b", "0", R"({"app":"other"})")).ok());
  auto o = options();
  o.label_selector = "app=vigil";
  Recorder rec;
  Watcher w(client, o, rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(5s));
  ASSERT_TRUE(client.create(configmaps(), "ns", configmap("c", "0", R"({"app":"other"})")).ok());
  ASSERT_TRUE(client.create(configmaps(), "ns", configmap("d", "0", R"({"app":"vigil"})")).ok());
  ASSERT_TRUE(rec.wait_for(2));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rec.events(), (std::vector<std::string>{"ADDED a=0", "ADDED d=0"}));
}

TEST(K8sWatcherTest, StopReturnsPromptlyWhileAWatchIsOpen) {
  FakeKubeClient client;
  Recorder rec;
  auto o = options();
  o.min_watch_timeout = 3600s;
  Watcher w(client, o, rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(5s));
  for (int i = 0; i < 100 && client.open_watches() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(client.open_watches(), 1);
  const auto start = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_EQ(client.open_watches(), 0);
}

TEST(K8sWatcherTest, StopDuringBackoff) {
  FakeKubeClient client;
  client.fail_next("list", 500, 1000);
  Recorder rec;
  auto o = options();
  o.backoff = {.initial = 10s, .max = 10s};
  Watcher w(client, o, rec.handler());
  w.start();
  std::this_thread::sleep_for(50ms);
  const auto start = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_FALSE(w.has_synced());
}

}  // namespace
}  // namespace vigil::k8s
