#include "operator/controllers/node_status.h"

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/api/v1alpha1/types.h"
#include "operator/controllers/alert_sink_controller.h"
#include "operator/controllers/resources.h"
#include "operator/controllers/security_rule_controller.h"
#include "operator/controllers/status_write_limiter.h"
#include "test/fakes/fake_kube_client.h"

namespace vigil::op {
namespace {

namespace api = vigil::api::v1alpha1;
using std::chrono::milliseconds;
using std::chrono::seconds;

const api::Time kNow{seconds(1'800'000'000)};
constexpr seconds kStale{90};

api::NodeRuleStatus entry(const std::string& ns, const std::string& name, int64_t generation,
                          int64_t alerts, bool programmed, const std::string& error = "",
                          std::optional<api::Time> last_triggered = std::nullopt) {
  api::NodeRuleStatus r;
  r.namespace_ = ns;
  r.name = name;
  r.generation = generation;
  r.alerts = alerts;
  r.programmed = programmed;
  r.error = error;
  r.last_triggered = last_triggered;
  return r;
}

api::NodeAgent agent(const std::string& name, std::optional<api::Time> heartbeat,
                     std::vector<api::NodeRuleStatus> rules = {},
                     std::vector<api::NodeSinkStatus> sinks = {},
                     const std::string& bundle_error = "") {
  api::NodeAgent a;
  a.metadata.name = name;
  a.spec.node_name = name;
  a.status.last_heartbeat_time = heartbeat;
  a.status.probe.state = api::ProbeState::kRunning;
  a.status.bundle.generation = 4;
  a.status.bundle.error = bundle_error;
  a.status.rules = std::move(rules);
  a.status.sinks = std::move(sinks);
  return a;
}

RuleNodeStatus shell_rule(const NodeStatusIndex& index, int64_t generation = 2) {
  return index.rule("vigil-system", "shell", generation, api::RuleSource::kSyscall);
}

TEST(NodeStatusTest, ProgrammedOnEveryFreshNodeIsTrue) {
  NodeStatusIndex index(
      {agent("node-b", kNow, {entry("vigil-system", "shell", 2, 0, true)}),
       agent("node-a", kNow - seconds(30), {entry("vigil-system", "shell", 2, 0, true)}),
       agent("node-c", kNow - kStale, {entry("vigil-system", "shell", 2, 0, true)})},
      kNow, kStale);
  auto r = shell_rule(index);
  EXPECT_EQ(r.nodes, (api::NodeCounts{3, 3, 0}));
  EXPECT_EQ(r.programmed, api::ConditionStatus::kTrue);
  EXPECT_EQ(r.reason, "Programmed");
  EXPECT_EQ(r.message, "programmed on 3 of 3 nodes");
  EXPECT_EQ(api::nodes_summary(r.nodes), "3/3");
  EXPECT_EQ(index.agent_count(), 3u);
  EXPECT_EQ(index.stale_count(), 0u);  // exactly the threshold is still fresh
}

TEST(NodeStatusTest, NodesListingNothingCountWhenTheyRunABundleWithTheRule) {
  auto on_bundle = [](const std::string& name, int64_t bundle, api::ProbeState probe,
                      std::vector<api::NodeRuleStatus> rules = {}) {
    api::NodeAgent a = agent(name, kNow, std::move(rules));
    a.status.bundle.generation = bundle;
    a.status.probe.state = probe;
    return a;
  };
  NodeStatusIndex index({on_bundle("current", 7, api::ProbeState::kRunning),
                         on_bundle("newer", 9, api::ProbeState::kRunning),
                         on_bundle("behind", 6, api::ProbeState::kRunning),
                         on_bundle("stopped", 7, api::ProbeState::kStarting),
                         // Lists the rule (it fired) at an older generation: its own word wins.
                         on_bundle("old-entry", 7, api::ProbeState::kRunning,
                                   {entry("vigil-system", "shell", 1, 4, true)})},
                        kNow, kStale);
  auto r = index.rule("vigil-system", "shell", 2, api::RuleSource::kSyscall, 7);
  EXPECT_EQ(r.nodes, (api::NodeCounts{5, 2, 0}));
  EXPECT_EQ(r.alerts.total, 4);
  EXPECT_EQ(r.reason, "Pending");
  // Unknown history: only listed entries count.
  EXPECT_EQ(index.rule("vigil-system", "shell", 2, api::RuleSource::kSyscall, 0).nodes.programmed,
            0);
}

TEST(NodeStatusTest, AStoppedAgentIsNotProgrammedEvenWhereItListsTheRule) {
  api::NodeAgent a = agent("node-a", kNow, {entry("vigil-system", "shell", 2, 3, true)});
  a.status.probe.state = api::ProbeState::kStarting;  // the agent's last report on shutdown
  NodeStatusIndex index({a}, kNow, kStale);
  auto r = index.rule("vigil-system", "shell", 2, api::RuleSource::kSyscall, 4);
  EXPECT_EQ(r.nodes, (api::NodeCounts{1, 0, 0}));
  EXPECT_EQ(r.alerts.total, 3);  // history still counts
}

TEST(BundleHistoryTest, RemembersTheFirstBundleOfEachRuleGeneration) {
  BundleHistory h;
  EXPECT_EQ(h.since("ns", "a", 1), 0);
  h.record({{"ns", "a", 1}, {"ns", "b", 5}}, 10);
  EXPECT_EQ(h.since("ns", "a", 1), 10);
  EXPECT_EQ(h.since("ns", "a", 2), 0);  // not published at that generation
  h.record({{"ns", "a", 1}, {"ns", "b", 6}}, 11);
  EXPECT_EQ(h.since("ns", "a", 1), 10);  // unchanged rule: still the first bundle
  EXPECT_EQ(h.since("ns", "b", 6), 11);  // edited rule: the bundle that carried the edit
  EXPECT_EQ(h.since("ns", "b", 5), 0);
  h.record({{"ns", "b", 6}}, 12);
  EXPECT_EQ(h.since("ns", "a", 1), 0);  // deleted rule forgotten
  EXPECT_EQ(h.size(), 1u);
}

TEST(NodeStatusTest, StaleNodesAreTargetedButNeverProgrammed) {
  NodeStatusIndex index(
      {agent("node-a", kNow, {entry("vigil-system", "shell", 2, 0, true)}),
       agent("node-b", kNow - seconds(5), {entry("vigil-system", "shell", 2, 0, true)}),
       agent("node-x", kNow - kStale - seconds(1), {entry("vigil-system", "shell", 2, 0, true)})},
      kNow, kStale);
  auto r = shell_rule(index);
  EXPECT_EQ(r.nodes, (api::NodeCounts{3, 2, 0}));
  EXPECT_EQ(r.programmed, api::ConditionStatus::kUnknown);
  EXPECT_EQ(r.reason, "Pending");
  EXPECT_EQ(r.message, "programmed on 2 of 3 nodes; waiting for 1 (1 stale: node-x)");
  EXPECT_EQ(index.stale_count(), 1u);
}

TEST(NodeStatusTest, MissingHeartbeatIsStaleAndStaleErrorsAreNotFailures) {
  NodeStatusIndex index(
      {agent("node-a", kNow, {entry("vigil-system", "shell", 2, 0, true)}),
       agent("node-b", std::nullopt, {entry("vigil-system", "shell", 2, 0, false, "boom")}),
       agent("node-c", kNow - seconds(600), {}, {}, "bundle is corrupt"),
       agent("node-d", kNow - seconds(600)), agent("node-e", kNow - seconds(600))},
      kNow, kStale);
  auto r = shell_rule(index);
  EXPECT_EQ(r.nodes, (api::NodeCounts{5, 1, 0}));
  EXPECT_EQ(r.reason, "Pending");
  EXPECT_EQ(r.message,
            "programmed on 1 of 5 nodes; waiting for 4 (4 stale: node-b, node-c, node-d and 1 "
            "more)");
  EXPECT_EQ(index.stale_count(), 4u);
}

TEST(NodeStatusTest, OnlyTheCurrentGenerationCountsAsProgrammed) {
  NodeStatusIndex index(
      {agent("node-a", kNow, {entry("vigil-system", "shell", 3, 1, true)}),
       agent("node-b", kNow, {entry("vigil-system", "shell", 2, 4, true)}),
       // An error for an old generation is not a failure of the current one.
       agent("node-c", kNow, {entry("vigil-system", "shell", 2, 0, false, "old error")})},
      kNow, kStale);
  auto r = shell_rule(index, 3);
  EXPECT_EQ(r.nodes, (api::NodeCounts{3, 1, 0}));
  EXPECT_EQ(r.reason, "Pending");
  EXPECT_EQ(r.message, "programmed on 1 of 3 nodes; waiting for 2");
  EXPECT_EQ(r.alerts.total, 5);  // counters count whatever generation produced them
  auto old = shell_rule(index, 2);
  EXPECT_EQ(old.nodes, (api::NodeCounts{3, 1, 1}));
}

TEST(NodeStatusTest, FailuresNameUpToThreeNodesWithTheirErrors) {
  const std::string long_error(1000, 'e');
  NodeStatusIndex index(
      {agent("node-a", kNow, {entry("vigil-system", "shell", 2, 0, true)}),
       agent("node-b", kNow, {entry("vigil-system", "shell", 2, 0, false, "unknown field x")}),
       agent("node-c", kNow, {}, {}, "bundle hash mismatch"),
       agent("node-d", kNow, {entry("vigil-system", "shell", 2, 0, false, long_error)}),
       agent("node-e", kNow, {entry("vigil-system", "shell", 2, 0, true, "claims both")}),
       agent("node-f", kNow, {entry("vigil-system", "shell", 1, 0, false)}, {}, "no memory"),
       // A bundle error does not fail a rule the node runs at the current generation.
       agent("node-g", kNow, {entry("vigil-system", "shell", 2, 0, true)}, {}, "other rule"),
       agent("node-z", kNow - seconds(100))},
      kNow, kStale);
  auto r = shell_rule(index);
  // Failed: b, c (bundle), d, e (an error wins over "programmed"), f (bundle, old generation).
  EXPECT_EQ(r.nodes, (api::NodeCounts{8, 2, 5}));
  EXPECT_EQ(r.programmed, api::ConditionStatus::kFalse);
  EXPECT_EQ(r.reason, "FailedOnNodes");
  EXPECT_EQ(r.message,
            "failed on 5 of 8 nodes: node-b: unknown field x; node-c: bundle not "
            "applied: bundle hash mismatch; node-d: " +
                std::string(253, 'e') + "... ... and 2 more (1 stale: node-z)");
}

TEST(NodeStatusTest, AuditRulesAreNotRunByNodes) {
  NodeStatusIndex index({agent("node-a", kNow, {entry("vigil-system", "nodeport", 1, 2, false)})},
                        kNow, kStale);
  auto r = index.rule("vigil-system", "nodeport", 1, api::RuleSource::kK8sAudit);
  EXPECT_EQ(r.nodes, (api::NodeCounts{0, 0, 0}));
  EXPECT_EQ(r.programmed, api::ConditionStatus::kUnknown);
  EXPECT_EQ(r.reason, "NoAuditReceiver");  // no operator replica reports a receiver
  EXPECT_NE(r.message.find("audit receiver"), std::string::npos);
  EXPECT_EQ(r.alerts.total, 2);
}

TEST(NodeStatusTest, NoNodeAgentsIsNoNodes) {
  NodeStatusIndex index(std::vector<api::NodeAgent>{}, kNow, kStale);
  auto r = shell_rule(index);
  EXPECT_EQ(r.nodes, (api::NodeCounts{0, 0, 0}));
  EXPECT_EQ(r.programmed, api::ConditionStatus::kUnknown);
  EXPECT_EQ(r.reason, "NoNodes");
  EXPECT_EQ(r.alerts, api::AlertCounts{});
}

TEST(NodeStatusTest, RuleWithoutEntriesIsPendingOnEveryNode) {
  NodeStatusIndex index({agent("node-a", kNow), agent("node-b", kNow)}, kNow, kStale);
  auto r = index.rule("team-a", "new-rule", 1, api::RuleSource::kSyscall);
  EXPECT_EQ(r.nodes, (api::NodeCounts{2, 0, 0}));
  EXPECT_EQ(r.message, "programmed on 0 of 2 nodes; waiting for 2");
}

TEST(NodeStatusTest, AlertsSumEveryNodeStaleIncludedAndTakeTheLatestTrigger) {
  const api::Time t1 = kNow - seconds(500), t2 = kNow - seconds(3000);
  NodeStatusIndex index(
      {agent("node-a", kNow, {entry("vigil-system", "shell", 2, 3, true, "", t2)}),
       agent("node-b", kNow - seconds(1000), {entry("vigil-system", "shell", 2, 2, true, "", t1)}),
       agent("node-c", kNow, {entry("vigil-system", "shell", 1, 10, true)}),
       agent("node-d", kNow, {entry("team-a", "shell", 2, 100, true, "", kNow)})},
      kNow, kStale);
  auto r = shell_rule(index);
  EXPECT_EQ(r.alerts.total, 15);
  EXPECT_EQ(r.alerts.last_triggered, t1);
  EXPECT_EQ(index.rule("team-a", "shell", 2, api::RuleSource::kSyscall).alerts.total, 100);
}

TEST(NodeStatusTest, SinkCountersAreSummedOverNodes) {
  auto sink = [](const std::string& ns, const std::string& name, int64_t d, int64_t f, int64_t x) {
    return api::NodeSinkStatus{ns, name, d, f, x};
  };
  NodeStatusIndex index(
      {agent("node-a", kNow, {},
             {sink("vigil-system", "slack", 10, 1, 0), sink("team-a", "hook", 1, 0, 0)}),
       agent("node-b", kNow - seconds(1000), {}, {sink("vigil-system", "slack", 5, 0, 2)})},
      kNow, kStale);
  const SinkNodeStatus slack = index.sink("vigil-system", "slack");
  EXPECT_EQ(slack.delivered, 15);
  EXPECT_EQ(slack.failed, 1);
  EXPECT_EQ(slack.dropped, 2);
  EXPECT_EQ(slack.reporting, 1);  // node-b is stale
  EXPECT_EQ(index.sink("team-a", "hook").delivered, 1);
  EXPECT_EQ(index.sink("team-a", "none"), SinkNodeStatus{});
}

TEST(NodeStatusTest, FailingSinksAreNamedWithTheirNodesAndErrors) {
  auto sink = [](const std::string& state, const std::string& error,
                 std::optional<api::Time> delivered_at) {
    api::NodeSinkStatus k;
    k.namespace_ = "vigil-system";
    k.name = "slack";
    k.delivered = 1;
    k.state = state;
    k.last_error = error;
    k.last_delivery_time = delivered_at;
    return k;
  };
  NodeStatusIndex index(
      {agent("node-a", kNow, {}, {sink("Ready", "", kNow - seconds(5))}),
       agent("node-b", kNow, {}, {sink("CircuitOpen", "HTTP 500 from hooks.slack.com/…", {})}),
       agent("node-c", kNow, {}, {sink("Degraded", "timed out", kNow - seconds(1))})},
      kNow, kStale);
  const SinkNodeStatus s = index.sink("vigil-system", "slack");
  EXPECT_EQ(s.reporting, 3);
  EXPECT_EQ(s.failing, 2);
  EXPECT_EQ(s.failing_message,
            "node-b (CircuitOpen): HTTP 500 from hooks.slack.com/…; node-c (Degraded): timed out");
  EXPECT_EQ(s.last_error, "HTTP 500 from hooks.slack.com/…");
  EXPECT_EQ(s.last_delivery_time, kNow - seconds(1));
}

TEST(NodeStatusTest, ThousandRulesOnHundredNodes) {
  std::vector<api::NodeAgent> agents;
  for (int n = 0; n < 100; ++n) {
    std::vector<api::NodeRuleStatus> rules;
    for (int r = 0; r < 1000; ++r)
      rules.push_back(entry("ns-" + std::to_string(r % 10), "rule-" + std::to_string(r), 1, 1,
                            !(n == 7 && r == 42)));
    agents.push_back(agent("node-" + std::to_string(n), kNow, std::move(rules)));
  }
  const auto start = std::chrono::steady_clock::now();
  NodeStatusIndex index(agents, kNow, kStale);
  int64_t programmed = 0, alerts = 0;
  for (int r = 0; r < 1000; ++r) {
    auto s = index.rule("ns-" + std::to_string(r % 10), "rule-" + std::to_string(r), 1,
                        api::RuleSource::kSyscall);
    programmed += s.nodes.programmed;
    alerts += s.alerts.total;
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(programmed, 100 * 1000 - 1);
  EXPECT_EQ(alerts, 100 * 1000);
  // Indexed once: well under a second even unoptimized (a nested scan is ~100x more).
  EXPECT_LT(took, seconds(2));
}

// ---- the write decision

TEST(NodeStatusWritesTest, ClassifiesCounterOnlyChanges) {
  api::SecurityRuleStatus stored;
  stored.nodes = {2, 2, 0};
  stored.alerts.total = 4;
  api::SecurityRuleStatus desired = stored;
  EXPECT_EQ(classify_change(stored, desired), StatusChange::kNone);
  desired.alerts.total = 5;
  desired.alerts.last_triggered = kNow;
  EXPECT_EQ(classify_change(stored, desired), StatusChange::kCountersOnly);
  desired.nodes.programmed = 1;
  EXPECT_EQ(classify_change(stored, desired), StatusChange::kSignificant);
  desired = stored;
  api::set_condition(
      desired.conditions,
      api::Condition{"Programmed", api::ConditionStatus::kTrue, 1, {}, "Programmed", "m"}, kNow);
  EXPECT_EQ(classify_change(stored, desired), StatusChange::kSignificant);

  api::AlertSinkStatus sink_stored;
  api::AlertSinkStatus sink_desired = sink_stored;
  EXPECT_EQ(classify_change(sink_stored, sink_desired), StatusChange::kNone);
  sink_desired.delivered = 3;
  sink_desired.dropped = 1;
  EXPECT_EQ(classify_change(sink_stored, sink_desired), StatusChange::kCountersOnly);
  sink_desired.observed_generation = 2;
  EXPECT_EQ(classify_change(sink_stored, sink_desired), StatusChange::kSignificant);
}

TEST(NodeStatusWritesTest, DecisionIsAPureFunction) {
  const SteadyTime t0{seconds(1000)};
  const milliseconds interval{10000};
  EXPECT_EQ(decide_status_write(StatusChange::kNone, std::nullopt, t0, interval, true),
            WriteDecision::kSkip);
  EXPECT_EQ(decide_status_write(StatusChange::kNone, t0, t0, interval, false),
            WriteDecision::kSkip);
  // Counters: at most once per interval per object.
  EXPECT_EQ(decide_status_write(StatusChange::kCountersOnly, std::nullopt, t0, interval, true),
            WriteDecision::kWrite);
  EXPECT_EQ(decide_status_write(StatusChange::kCountersOnly, t0 - seconds(9), t0, interval, true),
            WriteDecision::kDeferCounters);
  EXPECT_EQ(decide_status_write(StatusChange::kCountersOnly, t0 - seconds(10), t0, interval, true),
            WriteDecision::kWrite);
  EXPECT_EQ(decide_status_write(StatusChange::kCountersOnly, t0 - seconds(10), t0, interval, false),
            WriteDecision::kDeferTokens);
  // Conditions and nodes: as soon as tokens allow, however recent the last write.
  EXPECT_EQ(decide_status_write(StatusChange::kSignificant, t0, t0, interval, true),
            WriteDecision::kWrite);
  EXPECT_EQ(decide_status_write(StatusChange::kSignificant, t0, t0, interval, false),
            WriteDecision::kDeferTokens);
}

TEST(NodeStatusWritesTest, TokenBucketAllowsBurstThenQps) {
  const SteadyTime t0{seconds(1000)};
  TokenBucket bucket(20, 3, t0);
  EXPECT_TRUE(bucket.try_take(t0));
  EXPECT_TRUE(bucket.try_take(t0));
  EXPECT_TRUE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0));
  EXPECT_EQ(bucket.next_token(t0), t0 + milliseconds(50));
  EXPECT_FALSE(bucket.try_take(t0 + milliseconds(40)));
  EXPECT_TRUE(bucket.try_take(t0 + milliseconds(50)));
  EXPECT_FALSE(bucket.try_take(t0 + milliseconds(60)));
  // Refills up to the burst, not beyond.
  const SteadyTime later = t0 + seconds(100);
  int taken = 0;
  while (bucket.try_take(later)) ++taken;
  EXPECT_EQ(taken, 3);
}

TEST(NodeStatusWritesTest, LimiterDefersAndSaysWhenToRetry) {
  const SteadyTime t0{seconds(1000)};
  StatusWriteLimiter limiter(StatusWriteLimits{1, 2, milliseconds(10000)}, t0);
  EXPECT_EQ(limiter.admit("r/a", StatusChange::kNone, t0), WriteDecision::kSkip);
  EXPECT_FALSE(limiter.take_retry_at());

  EXPECT_EQ(limiter.admit("r/a", StatusChange::kCountersOnly, t0), WriteDecision::kWrite);
  limiter.wrote("r/a", t0);
  // Alerts moved again 100 ms later: deferred until 10 s after the write.
  const SteadyTime t1 = t0 + milliseconds(100);
  EXPECT_EQ(limiter.admit("r/a", StatusChange::kCountersOnly, t1), WriteDecision::kDeferCounters);
  EXPECT_EQ(limiter.take_retry_at(), t0 + seconds(10));
  EXPECT_FALSE(limiter.take_retry_at());  // taken
  // A condition change is not held back by the counters interval.
  EXPECT_EQ(limiter.admit("r/a", StatusChange::kSignificant, t1), WriteDecision::kWrite);
  limiter.wrote("r/a", t1);
  // The burst (2) is spent: the next write waits for a token (1 qps: 1 s after the first).
  EXPECT_EQ(limiter.admit("r/b", StatusChange::kSignificant, t1), WriteDecision::kDeferTokens);
  EXPECT_EQ(limiter.take_retry_at(), t0 + seconds(1));
  // Never sooner than 500 ms, so passes do not spin.
  EXPECT_EQ(limiter.admit("r/b", StatusChange::kSignificant, t0 + milliseconds(900)),
            WriteDecision::kDeferTokens);
  EXPECT_EQ(limiter.take_retry_at(), t0 + milliseconds(1400));
  EXPECT_EQ(limiter.admit("r/b", StatusChange::kSignificant, t0 + seconds(1)),
            WriteDecision::kWrite);
  // Counters of an object written 11.9 s ago go at once.
  EXPECT_EQ(limiter.admit("r/a", StatusChange::kCountersOnly, t0 + seconds(12)),
            WriteDecision::kWrite);
  limiter.prune(t0 + seconds(12));
  EXPECT_EQ(limiter.tracked(), 0u);
}

// ---- the controllers, against the fake API server

class NodeStatusControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.enable_status_subresource(security_rules());
    client_.enable_status_subresource(alert_sinks());
    for (const char* name : {"shell", "curl"}) {
      api::SecurityRule rule;
      rule.metadata.name = name;
      rule.metadata.namespace_ = "vigil-system";
      rule.spec.condition = std::string("spawned_process and proc.name = ") + name;
      rule.spec.output = "ran %proc.name";
      ASSERT_TRUE(client_.create(security_rules(), "vigil-system", api::to_json(rule)).ok());
    }
    api::SecurityRule audit;
    audit.metadata.name = "nodeport";
    audit.metadata.namespace_ = "vigil-system";
    audit.spec.source = api::RuleSource::kK8sAudit;
    audit.spec.condition = "kevt and service and kcreate and ka.req.service.type = NodePort";
    audit.spec.output = "np %ka.target.name";
    ASSERT_TRUE(client_.create(security_rules(), "vigil-system", api::to_json(audit)).ok());
    api::AlertSink sink;
    sink.metadata.name = "out";
    sink.metadata.namespace_ = "vigil-system";
    sink.spec.stdout_ = api::StdoutSink{};
    ASSERT_TRUE(client_.create(alert_sinks(), "vigil-system", api::to_json(sink)).ok());
  }

  std::vector<std::string> objects(const k8s::ResourceRef& ref, std::vector<std::string> names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(client_.get(ref, "vigil-system", n).value());
    return out;
  }
  std::vector<std::string> rules() {
    return objects(security_rules(), {"shell", "curl", "nodeport"});
  }
  std::vector<std::string> sinks() { return objects(alert_sinks(), {"out"}); }
  api::SecurityRule rule(const std::string& name) {
    return api::parse_security_rule(client_.get(security_rules(), "vigil-system", name).value())
        .value();
  }

  // Two nodes heartbeating at `now`; node-b stops at `b_heartbeat`.
  std::vector<api::NodeAgent> agents(api::Time now, int64_t shell_alerts_a,
                                     std::optional<api::Time> b_heartbeat = std::nullopt) {
    auto rules_of = [](int64_t shell_alerts) {
      return std::vector<api::NodeRuleStatus>{entry("vigil-system", "shell", 1, shell_alerts, true),
                                              entry("vigil-system", "curl", 1, 0, true)};
    };
    return {agent("node-a", now, rules_of(shell_alerts_a), {{"vigil-system", "out", 7, 1, 0}}),
            agent("node-b", b_heartbeat.value_or(now), rules_of(2),
                  {{"vigil-system", "out", 3, 0, 0}})};
  }

  size_t pass(const std::vector<api::NodeAgent>& nodes, api::Time now, SteadyTime clock,
              size_t* deferred = nullptr) {
    NodeStatusIndex index(nodes, now, kStale);
    StatusInputs in{&index, nullptr, &limiter_, clock};
    auto r = rules_ctl_.reconcile(rules(), true, now, in);
    auto s = sinks_ctl_.reconcile(sinks(), true, now, in);
    EXPECT_EQ(r.status_failures + s.status_failures, 0u);
    if (deferred) *deferred = r.status_deferred + s.status_deferred;
    return r.status_writes + s.status_writes;
  }

  testing::FakeKubeClient client_;
  SecurityRuleController rules_ctl_{client_, "vigil-system"};
  AlertSinkController sinks_ctl_{client_};
  const SteadyTime t0_{seconds(5000)};
  StatusWriteLimiter limiter_{StatusWriteLimits{20, 50, milliseconds(10000)}, t0_};
};

TEST_F(NodeStatusControllerTest, MergesReportsAndWritesNothingAtRest) {
  EXPECT_EQ(pass(agents(kNow, 3), kNow, t0_), 4u);  // 3 rules and 1 sink, first visit
  auto shell = rule("shell");
  EXPECT_EQ(shell.status.nodes, (api::NodeCounts{2, 2, 0}));
  EXPECT_EQ(shell.status.alerts.total, 5);
  const api::Condition* programmed =
      api::find_condition(shell.status.conditions, api::kConditionProgrammed);
  ASSERT_NE(programmed, nullptr);
  EXPECT_EQ(programmed->status, api::ConditionStatus::kTrue);
  EXPECT_EQ(programmed->observed_generation, 1);
  const api::Condition* audit =
      api::find_condition(rule("nodeport").status.conditions, api::kConditionProgrammed);
  ASSERT_NE(audit, nullptr);
  EXPECT_EQ(audit->reason, "NoAuditReceiver");
  auto sink = api::parse_alert_sink(sinks()[0]).value();
  EXPECT_EQ(sink.status.delivered, 10);
  EXPECT_EQ(sink.status.failed, 1);
  EXPECT_EQ(sink.status.dropped, 0);
  EXPECT_NE(client_.get(security_rules(), "vigil-system", "shell")
                .value()
                .find(R"("nodesSummary":"2/2")"),
            std::string::npos);

  // At rest: heartbeats move only lastHeartbeatTime, for minutes. Zero writes, zero deferrals.
  for (int i = 1; i <= 20; ++i) {
    size_t deferred = 99;
    EXPECT_EQ(pass(agents(kNow + seconds(30 * i), 3), kNow + seconds(30 * i), t0_ + seconds(30 * i),
                   &deferred),
              0u)
        << "pass " << i;
    EXPECT_EQ(deferred, 0u);
  }
  EXPECT_FALSE(limiter_.take_retry_at());
}

TEST_F(NodeStatusControllerTest, AlertCountersAreRateBoundedButConditionsAreNot) {
  EXPECT_EQ(pass(agents(kNow, 3), kNow, t0_), 4u);
  // An alert 1 s later moves only counters; the first visit wrote this status 1 s ago, so the
  // change waits for the interval.
  size_t deferred = 0;
  EXPECT_EQ(pass(agents(kNow + seconds(1), 4), kNow + seconds(1), t0_ + seconds(1), &deferred), 0u);
  EXPECT_EQ(deferred, 1u);
  EXPECT_EQ(rule("shell").status.alerts.total, 5);
  EXPECT_EQ(limiter_.take_retry_at(), t0_ + seconds(10));
  // Still pending 5 s later, with more alerts.
  EXPECT_EQ(pass(agents(kNow + seconds(5), 9), kNow + seconds(5), t0_ + seconds(5), &deferred), 0u);
  EXPECT_EQ(deferred, 1u);
  // At the retry time it is written, with the latest count.
  EXPECT_EQ(pass(agents(kNow + seconds(10), 9), kNow + seconds(10), t0_ + seconds(10)), 1u);
  EXPECT_EQ(rule("shell").status.alerts.total, 11);
  // node-b goes stale: a nodes/condition change, written at once although shell was just written.
  const api::Time later = kNow + seconds(10) + kStale + seconds(1);
  EXPECT_EQ(pass(agents(later, 9, kNow + seconds(10)), later, t0_ + seconds(11)),
            2u);  // shell, curl
  auto shell = rule("shell");
  EXPECT_EQ(shell.status.nodes, (api::NodeCounts{2, 1, 0}));
  EXPECT_EQ(shell.status.alerts.total, 11);  // a stale node's counters still count
  const api::Condition* programmed =
      api::find_condition(shell.status.conditions, api::kConditionProgrammed);
  ASSERT_NE(programmed, nullptr);
  EXPECT_EQ(programmed->status, api::ConditionStatus::kUnknown);
  EXPECT_EQ(programmed->message, "programmed on 1 of 2 nodes; waiting for 1 (1 stale: node-b)");
}

TEST_F(NodeStatusControllerTest, TokenBudgetBoundsWritesAndPendingOnesFollow) {
  StatusWriteLimiter tight(StatusWriteLimits{1, 2, milliseconds(10000)}, t0_);
  NodeStatusIndex index(agents(kNow, 3), kNow, kStale);
  StatusInputs in{&index, nullptr, &tight, t0_};
  auto r = rules_ctl_.reconcile(rules(), true, kNow, in);
  auto s = sinks_ctl_.reconcile(sinks(), true, kNow, in);
  EXPECT_EQ(r.status_writes + s.status_writes, 2u);
  EXPECT_EQ(r.status_deferred + s.status_deferred, 2u);
  auto retry = tight.take_retry_at();
  ASSERT_TRUE(retry);
  EXPECT_EQ(*retry, t0_ + seconds(1));
  // Two seconds later two more tokens: the pending ones are written.
  in.clock = t0_ + seconds(2);
  r = rules_ctl_.reconcile(rules(), true, kNow, in);
  s = sinks_ctl_.reconcile(sinks(), true, kNow, in);
  EXPECT_EQ(r.status_writes + s.status_writes, 2u);
  EXPECT_EQ(r.status_deferred + s.status_deferred, 0u);
  EXPECT_FALSE(tight.take_retry_at());
}

}  // namespace
}  // namespace vigil::op
