#include "operator/audit/audit_receiver.h"

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/alerts/alert.h"
#include "common/alerts/dispatcher.h"
#include "common/bundle/bundle.h"
#include "operator/audit/receiver_report.h"
#include "operator/controllers/node_status.h"
#include "operator/controllers/rule_compilation.h"

namespace vigil::op {
namespace {

namespace api = vigil::api::v1alpha1;
using namespace std::chrono_literals;

constexpr const char* kNodePortRule =
    R"({"source":"k8s_audit","condition":"kevt and service and kcreate and ka.req.service.type = NodePort","output":"NodePort %ka.target.namespace/%ka.target.name by %ka.user.name","priority":"Notice"})";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<const rules::RuleSet> rule_set(const std::vector<RuleObject>& objects) {
  auto compiled = compile_security_rules(objects, "vigil-system");
  for (const auto& v : compiled.verdicts) EXPECT_TRUE(v.accepted) << v.name << ": " << v.message;
  auto set =
      compile_receiver_rules(bundle::render_bundle(compiled.accepted, {}).rules, "vigil-system");
  EXPECT_NE(set, nullptr);
  return set;
}

// One Service create in `ns`, with its own auditID.
std::string service_event(const std::string& id, const std::string& ns, const std::string& type,
                          const std::string& stage = "ResponseComplete") {
  return R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":")" + id +
         R"(","stage":")" + stage + R"(","requestURI":"/api/v1/namespaces/)" + ns +
         R"(/services","verb":"create","user":{"username":"jane"},"objectRef":{"resource":"services","namespace":")" +
         ns +
         R"(","name":"web","apiVersion":"v1"},"responseStatus":{"code":201},"requestObject":{"kind":"Service","apiVersion":"v1","metadata":{"name":"web"},"spec":{"type":")" +
         type +
         R"(","ports":[{"port":80,"nodePort":31000}]}},"requestReceivedTimestamp":"2026-09-16T09:00:01.000000Z","stageTimestamp":"2026-09-16T09:00:01.017000Z"})";
}

std::string event_list(const std::vector<std::string>& items) {
  std::string out = R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]}";
}

http::Request post(std::string body, std::string token = "") {
  http::Request r;
  r.method = "POST";
  r.target = "/k8s-audit?timeout=30s";
  r.path = "/k8s-audit";
  r.body = std::move(body);
  r.peer = "127.0.0.1:1";
  r.headers.emplace_back("Content-Type", "application/json");
  if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
  return r;
}

struct Collected {
  std::mutex mu;
  std::vector<alerts::Alert> alerts;
  void add(const alerts::Alert& a) {
    std::lock_guard<std::mutex> lock(mu);
    alerts.push_back(a);
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return alerts.size();
  }
};

AuditReceiverOptions options_with_token() {
  AuditReceiverOptions o;
  o.tokens = {"s3cret-token"};
  o.hostname = "op-1";
  return o;
}

TEST(AuditReceiverTest, RefusesCallersWithoutCertificateOrToken) {
  AuditReceiver receiver(options_with_token(), nullptr);
  receiver.set_rules(rule_set({{"vigil-system", "nodeport", 1, kNodePortRule}}));
  const std::string body = event_list({service_event("a1", "shop", "NodePort")});
  EXPECT_EQ(receiver.handle(post(body)).status, 401);
  EXPECT_EQ(receiver.handle(post(body, "wrong-token")).status, 401);
  EXPECT_EQ(receiver.handle(post(body, "s3cret-token-and-more")).status, 401);
  auto bad_scheme = post(body);
  bad_scheme.headers.emplace_back("Authorization", "Basic s3cret-token");
  EXPECT_EQ(receiver.handle(bad_scheme).status, 401);
  EXPECT_EQ(receiver.handle(post(body, "s3cret-token")).status, 200);
  auto with_cert = post(event_list({service_event("a2", "shop", "NodePort")}));
  with_cert.client_cert_verified = true;
  EXPECT_EQ(receiver.handle(with_cert).status, 200);
  ASSERT_TRUE(receiver.flush(5s));
  const auto st = receiver.stats();
  EXPECT_EQ(st.unauthorized, 4u);
  EXPECT_EQ(st.events, 2u);
  EXPECT_EQ(st.alerts, 2u);
}

TEST(AuditReceiverTest, EvaluatesAcceptedBatchesOffTheRequestAndCountsPerRule) {
  Collected got;
  AuditReceiver receiver(options_with_token(), nullptr,
                         [&](const alerts::Alert& a) { got.add(a); });
  receiver.set_rules(rule_set({{"vigil-system", "nodeport", 1, kNodePortRule}}));
  auto res = receiver.handle(post(
      event_list({service_event("b1", "shop", "NodePort"), service_event("b2", "shop", "ClusterIP"),
                  service_event("b3", "web", "NodePort")}),
      "s3cret-token"));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "{\"accepted\":3,\"rejected\":0}\n");
  ASSERT_TRUE(receiver.flush(5s));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.alerts[0].rule, "nodeport");
  EXPECT_EQ(got.alerts[0].source, "k8s_audit");
  EXPECT_EQ(got.alerts[0].hostname, "op-1");
  EXPECT_EQ(got.alerts[0].event_namespace, "shop");
  EXPECT_NE(got.alerts[0].message.find("NodePort shop/web by jane"), std::string::npos)
      << got.alerts[0].message;
  auto counts = receiver.rule_counts();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0].ns, "vigil-system");
  EXPECT_EQ(counts[0].name, "nodeport");
  EXPECT_EQ(counts[0].alerts, 2u);
  EXPECT_GT(counts[0].last_time_ns, 0);
  const auto st = receiver.stats();
  EXPECT_EQ(st.evaluated, 3u);
  EXPECT_EQ(st.delay_count, 1u);
  EXPECT_NE(receiver.metrics_text().find("vigil_operator_audit_alerts_total 2"), std::string::npos);
}

TEST(AuditReceiverTest, SingleEventsAndTheSharedAttackRecordingAreAccepted) {
  Collected got;
  AuditReceiver receiver(options_with_token(), nullptr,
                         [&](const alerts::Alert& a) { got.add(a); });
  receiver.set_rules(rule_set({{"vigil-system", "nodeport", 1, kNodePortRule}}));
  EXPECT_EQ(receiver.handle(post(service_event("c1", "shop", "NodePort"), "s3cret-token")).status,
            200);
  const std::string recorded =
      read_file(std::string(VIGIL_SOURCE_DIR) +
                "/test/data/audit/default_rules/nodeport-service-created.json");
  ASSERT_FALSE(recorded.empty());
  EXPECT_EQ(receiver.handle(post(recorded, "s3cret-token")).status, 200);
  ASSERT_TRUE(receiver.flush(5s));
  EXPECT_GE(got.size(), 2u);
}

TEST(AuditReceiverTest, DuplicatesOfAnAuditIdAndStageAreEvaluatedOnce) {
  Collected got;
  AuditReceiver receiver(options_with_token(), nullptr,
                         [&](const alerts::Alert& a) { got.add(a); });
  receiver.set_rules(rule_set({{"vigil-system", "nodeport", 1, kNodePortRule}}));
  const std::string body = event_list({service_event("d1", "shop", "NodePort")});
  EXPECT_EQ(receiver.handle(post(body, "s3cret-token")).status, 200);
  EXPECT_EQ(receiver.handle(post(body, "s3cret-token")).status, 200);  // the API server retried
  // Same auditID at another stage is another event.
  EXPECT_EQ(receiver
                .handle(post(event_list({service_event("d1", "shop", "NodePort", "Panic")}),
                             "s3cret-token"))
                .status,
            200);
  ASSERT_TRUE(receiver.flush(5s));
  EXPECT_EQ(got.size(), 1u);  // the rules look at ResponseComplete only
  EXPECT_EQ(receiver.stats().duplicates, 1u);
  EXPECT_EQ(receiver.stats().evaluated, 2u);
}

TEST(AuditReceiverTest, BadBodiesGet400WithAReasonAndBadEventsAreSetAsideAlone) {
  AuditReceiver receiver(options_with_token(), nullptr);
  receiver.set_rules(rule_set({{"vigil-system", "nodeport", 1, kNodePortRule}}));
  for (const std::string& body :
       {std::string("{"), std::string("not json"), std::string(R"({"kind":"PodList","items":[]})"),
        std::string(20000, '[') + std::string(20000, ']'), std::string(""),
        event_list({service_event("e1", "shop", "NodePort")}).substr(0, 200)}) {
    auto r = receiver.handle(post(body, "s3cret-token"));
    EXPECT_EQ(r.status, 400) << body.substr(0, 60);
    EXPECT_EQ(r.body.rfind("bad audit body: ", 0), 0u) << r.body;
    EXPECT_LT(r.body.size(), 260u);
  }
  auto wrong_type = post(event_list({service_event("e2", "shop", "NodePort")}), "s3cret-token");
  wrong_type.headers[0].second = "text/plain";
  EXPECT_EQ(receiver.handle(wrong_type).status, 415);
  // One event without a stageTimestamp among good ones: the batch is accepted.
  std::string broken = service_event("e3", "shop", "NodePort");
  broken.replace(broken.find("\"stageTimestamp\""), 16, "\"stageTimestampX\"");
  auto r = receiver.handle(
      post(event_list({broken, service_event("e4", "shop", "NodePort")}), "s3cret-token"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "{\"accepted\":1,\"rejected\":1}\n");
  ASSERT_TRUE(receiver.flush(5s));
  const auto st = receiver.stats();
  EXPECT_EQ(st.bad_requests, 7u);
  EXPECT_EQ(st.rejected_events, 1u);
  EXPECT_EQ(st.alerts, 1u);
}

TEST(AuditReceiverTest, AFullQueueAnswers429AndLosesNothing) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  Collected got;
  AuditReceiverOptions o = options_with_token();
  o.max_queued_batches = 1;
  AuditReceiver receiver(o, nullptr, [&](const alerts::Alert& a) {
    got.add(a);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
  });
  receiver.set_rules(rule_set({{"vigil-system", "nodeport", 1, kNodePortRule}}));
  auto send = [&](const std::string& id) {
    return receiver.handle(
        post(event_list({service_event(id, "shop", "NodePort")}), "s3cret-token"));
  };
  EXPECT_EQ(send("f1").status, 200);  // taken by the evaluator, which blocks in on_alert
  for (int i = 0; i < 200 && got.size() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(send("f2").status, 200);  // queued
  auto busy = send("f3");
  EXPECT_EQ(busy.status, 429);
  bool retry_after = false;
  for (const auto& [k, v] : busy.headers) retry_after |= k == "Retry-After" && v == "1";
  EXPECT_TRUE(retry_after);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(receiver.flush(5s));
  EXPECT_EQ(send("f3").status, 200);  // the API server's retry
  ASSERT_TRUE(receiver.flush(5s));
  EXPECT_EQ(got.size(), 3u);
  EXPECT_EQ(receiver.stats().busy, 1u);
}

TEST(AuditReceiverTest, ATenantRuleSeesOnlyItsNamespace) {
  Collected got;
  AuditReceiver receiver(options_with_token(), nullptr,
                         [&](const alerts::Alert& a) { got.add(a); });
  receiver.set_rules(rule_set({{"team-a", "nodeport", 1, kNodePortRule}}));
  EXPECT_EQ(receiver
                .handle(post(event_list({service_event("g1", "team-a", "NodePort"),
                                         service_event("g2", "team-b", "NodePort")}),
                             "s3cret-token"))
                .status,
            200);
  ASSERT_TRUE(receiver.flush(5s));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got.alerts[0].event_namespace, "team-a");
  EXPECT_EQ(got.alerts[0].rule_namespace, "team-a");
}

TEST(AuditReceiverTest, WithoutRulesEventsAreAcceptedAndNothingFires) {
  AuditReceiver receiver(options_with_token(), nullptr);
  EXPECT_FALSE(receiver.has_rules());
  EXPECT_EQ(
      receiver.handle(post(event_list({service_event("h1", "shop", "NodePort")}), "s3cret-token"))
          .status,
      200);
  ASSERT_TRUE(receiver.flush(5s));
  EXPECT_EQ(receiver.stats().alerts, 0u);
  EXPECT_EQ(receiver.stats().evaluated, 1u);
}

// The report: counters continue from what was stored, and the leader's index turns receivers
// into Programmed and alert counts for audit rules, never into nodes.
TEST(ReceiverReportTest, RoundTripsThroughTheConfigMapAndContinuesCounters) {
  const api::Time now{std::chrono::seconds(1800000000)};
  api::NodeAgentStatus stored;
  stored.rules.push_back(api::NodeRuleStatus{
      "vigil-system", "nodeport", 0, 5, api::Time{std::chrono::seconds(1700000000)}, true, ""});
  std::vector<AuditRuleCount> counts{{"vigil-system", "nodeport", 2, 1790000000LL * 1000000000},
                                     {"team-a", "priv", 1, 1790000001LL * 1000000000}};
  alerts::SinkStats sink;
  sink.ns = "vigil-system";
  sink.name = "slack";
  sink.delivered = 3;
  sink.failed = 1;
  auto status = build_receiver_status(&stored, counts, {sink}, now, false);
  ASSERT_EQ(status.rules.size(), 2u);
  EXPECT_EQ(status.alerts, 8);
  const std::string cm = render_receiver_configmap("vigil-system", "Op_1.example", status, "42");
  EXPECT_NE(cm.find("\"name\":\"vigil-audit-receiver-op-1-example\""), std::string::npos) << cm;
  EXPECT_NE(cm.find("\"vigil.dev/audit-receiver\":\"true\""), std::string::npos);
  auto parsed = parse_receiver_configmap(cm);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->metadata.name, "Op_1.example");
  EXPECT_EQ(parsed->status.rules, status.rules);
  EXPECT_EQ(parsed->status.sinks.size(), 1u);
  EXPECT_FALSE(parse_receiver_configmap(R"({"metadata":{"name":"x"},"data":{}})").ok());
  EXPECT_FALSE(parse_receiver_configmap("garbage").ok());

  NodeStatusIndex index(std::vector<api::NodeAgent>{}, now, std::chrono::seconds(90), {*parsed});
  auto r = index.rule("vigil-system", "nodeport", 1, api::RuleSource::kK8sAudit);
  EXPECT_EQ(r.programmed, api::ConditionStatus::kTrue);
  EXPECT_EQ(r.reason, "AuditReceiver");
  EXPECT_EQ(r.alerts.total, 7);
  EXPECT_EQ(r.nodes.targeted, 0);
  EXPECT_EQ(index.agent_count(), 0u);
  EXPECT_EQ(index.sink("vigil-system", "slack").delivered, 3);
  // A syscall rule is not made Programmed by a receiver.
  EXPECT_NE(index.rule("vigil-system", "shell", 1, api::RuleSource::kSyscall).programmed,
            api::ConditionStatus::kTrue);

  // Stale or stopped receivers: counts stay, Programmed goes.
  NodeStatusIndex later(std::vector<api::NodeAgent>{}, now + std::chrono::seconds(600),
                        std::chrono::seconds(90), {*parsed});
  auto stale = later.rule("vigil-system", "nodeport", 1, api::RuleSource::kK8sAudit);
  EXPECT_NE(stale.programmed, api::ConditionStatus::kTrue);
  EXPECT_EQ(stale.reason, "NoAuditReceiver");
  EXPECT_EQ(stale.alerts.total, 7);
  NodeStatusIndex none(std::vector<api::NodeAgent>{}, now, std::chrono::seconds(90));
  EXPECT_EQ(none.rule("vigil-system", "nodeport", 1, api::RuleSource::kK8sAudit).reason,
            "NoAuditReceiver");
  auto stopped = build_receiver_status(&stored, counts, {}, now, true);
  api::NodeAgent stopped_agent = *parsed;
  stopped_agent.status = stopped;
  NodeStatusIndex after_stop(std::vector<api::NodeAgent>{}, now, std::chrono::seconds(90),
                             {stopped_agent});
  EXPECT_EQ(after_stop.fresh_receiver_count(), 0u);
}

}  // namespace
}  // namespace vigil::op
