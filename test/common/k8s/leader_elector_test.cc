#include "common/k8s/leader_elector.h"

#include <atomic>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test/fakes/fake_kube_client.h"

namespace vigil::k8s {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeKubeClient;

LeaderElectionConfig fast_config(const std::string& identity) {
  LeaderElectionConfig c;
  c.lease_namespace = "vigil-system";
  c.lease_name = "vigil-operator";
  c.identity = identity;
  c.lease_duration = 2s;
  c.renew_deadline = 1500ms;
  c.retry_period = 200ms;
  return c;
}

struct Candidate {
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
  std::unique_ptr<LeaderElector> elector;

  Candidate(Client& client, LeaderElectionConfig config) {
    auto e = LeaderElector::create(
        client, std::move(config),
        {.on_started_leading = [this] { ++started; }, .on_stopped_leading = [this] { ++stopped; }});
    EXPECT_TRUE(e.ok()) << e.error();
    elector = std::move(*e);
  }
};

template <typename F>
bool eventually(F f, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return f();
}

json lease(FakeKubeClient& client) {
  return json::parse(client.get(leases(), "vigil-system", "vigil-operator").value());
}

TEST(K8sLeaderElectorTest, ValidatesTheConfiguration) {
  FakeKubeClient client;
  auto bad = [&](LeaderElectionConfig c, const char* message) {
    auto e = LeaderElector::create(client, std::move(c), {});
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().find(message), std::string::npos) << e.error();
  };
  auto c = fast_config("a");
  c.lease_duration = c.renew_deadline;
  bad(c, "lease_duration must be greater than renew_deadline");
  c = fast_config("a");
  c.renew_deadline = 240ms;
  bad(c, "1.2 * retry_period");
  c = fast_config("");
  bad(c, "identity");
  c = fast_config("a");
  c.lease_name = "";
  bad(c, "namespace and name");
}

TEST(K8sLeaderElectorTest, CreatesAClientGoCompatibleLease) {
  FakeKubeClient client;
  Candidate a(client, fast_config("a"));
  a.elector->start();
  ASSERT_TRUE(eventually([&] { return a.elector->is_leader(); }));
  EXPECT_EQ(a.started, 1);
  const json spec = lease(client)["spec"];
  EXPECT_EQ(spec["holderIdentity"], "a");
  EXPECT_EQ(spec["leaseDurationSeconds"], 2);
  EXPECT_EQ(spec["leaseTransitions"], 0);
  const std::regex micro(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  EXPECT_TRUE(std::regex_match(spec["acquireTime"].get<std::string>(), micro)) << spec;
  EXPECT_TRUE(std::regex_match(spec["renewTime"].get<std::string>(), micro)) << spec;

  // It keeps renewing: renewTime moves, acquireTime does not.
  const std::string first_renew = spec["renewTime"];
  ASSERT_TRUE(eventually([&] { return lease(client)["spec"]["renewTime"] != first_renew; }));
  EXPECT_EQ(lease(client)["spec"]["acquireTime"], spec["acquireTime"]);
  EXPECT_EQ(a.elector->leader(), "a");

  a.elector->stop();
  EXPECT_FALSE(a.elector->is_leader());
  EXPECT_EQ(a.stopped, 1);
  const json released = lease(client)["spec"];
  EXPECT_EQ(released["holderIdentity"], "");
  EXPECT_EQ(released["leaseDurationSeconds"], 1);
  EXPECT_EQ(released["leaseTransitions"], 0);
}

TEST(K8sLeaderElectorTest, ExactlyOneLeadsAndTheOtherTakesOverOnRelease) {
  FakeKubeClient client;
  Candidate a(client, fast_config("a"));
  Candidate b(client, fast_config("b"));
  a.elector->start();
  b.elector->start();
  ASSERT_TRUE(eventually([&] { return a.elector->is_leader() || b.elector->is_leader(); }));
  std::this_thread::sleep_for(1s);
  EXPECT_NE(a.elector->is_leader(), b.elector->is_leader());
  EXPECT_EQ(a.started + b.started, 1);

  Candidate& leader = a.elector->is_leader() ? a : b;
  Candidate& follower = a.elector->is_leader() ? b : a;
  const auto stopped_at = std::chrono::steady_clock::now();
  leader.elector->stop();
  // Released, so the follower takes over within about a retry period, not a lease duration.
  ASSERT_TRUE(eventually([&] { return follower.elector->is_leader(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, 1500ms);
  EXPECT_EQ(lease(client)["spec"]["holderIdentity"], follower.elector->identity());
  EXPECT_EQ(lease(client)["spec"]["leaseTransitions"], 1);
}

TEST(K8sLeaderElectorTest, TakesOverAnExpiredLeaseAfterTheLeaseDuration) {
  FakeKubeClient client;
  auto ca = fast_config("a");
  ca.release_on_stop = false;  // as if the process died
  Candidate a(client, ca);
  a.elector->start();
  ASSERT_TRUE(eventually([&] { return a.elector->is_leader(); }));
  Candidate b(client, fast_config("b"));
  b.elector->start();
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(b.elector->is_leader());
  const auto stopped_at = std::chrono::steady_clock::now();
  a.elector->stop();
  EXPECT_EQ(lease(client)["spec"]["holderIdentity"], "a");
  ASSERT_TRUE(eventually([&] { return b.elector->is_leader(); }));
  const auto waited = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_GE(waited, 1000ms);  // the lease had to expire (2 s from b's last observation)
  EXPECT_LT(waited, 3500ms);
}

TEST(K8sLeaderElectorTest, StepsDownWhenItCannotRenew) {
  FakeKubeClient client;
  Candidate a(client, fast_config("a"));
  a.elector->start();
  ASSERT_TRUE(eventually([&] { return a.elector->is_leader(); }));
  client.fail_next("update", 500, 1000);
  client.fail_next("get", 500, 1000);
  ASSERT_TRUE(eventually([&] { return a.stopped == 1; }, 3s));
  EXPECT_FALSE(a.elector->is_leader());
  // Once the server is back it is a candidate again and re-acquires its own lease.
  client.fail_next("update", 500, 0);
  client.fail_next("get", 500, 0);
  ASSERT_TRUE(eventually([&] { return a.elector->is_leader(); }));
  EXPECT_GE(a.started, 2);
}

TEST(K8sLeaderElectorTest, DefaultIdentityIsUnique) {
  const std::string a = default_leader_identity();
  EXPECT_NE(a, default_leader_identity());
  EXPECT_NE(a.find('_'), std::string::npos);
}

}  // namespace
}  // namespace vigil::k8s
