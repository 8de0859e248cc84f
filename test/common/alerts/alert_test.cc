// The alert model: what make_alert() records about the event (its namespace and pod, for
// routing) and that Falco's JSON format stays Falco's.

#include "common/alerts/alert.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/fields/audit_event.h"
#include "common/fields/source.h"
#include "common/fields/syscall_event.h"
#include "test/common/rules/engine_test_util.h"

namespace vigil::testing {
namespace {

std::string read_source_file(const std::string& relative) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const rules::CompiledRule& only_rule(const Compiled& c, const char* source) {
  const auto* src = c.out.rule_set->source(source);
  EXPECT_NE(src, nullptr) << source;
  return src->rules().at(0);
}

TEST(AlertTest, EventNamespaceFromTheSourcesNamespaceField) {
  auto c = compile_text(
      "- rule: r\n  desc: d\n  condition: fake.name = bash\n  output: 'shell %fake.name'\n"
      "  priority: NOTICE\n  source: fake\n  warn_evttypes: false\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  const auto& rule = only_rule(c, "fake");
  rules::EvalContext ctx;

  FakeEvent e;
  e.name = "bash";
  e.ns = "team-a";
  auto alert = alerts::make_alert(rule, fake_source(), &e, ctx, "node-1");
  EXPECT_EQ(alert.event_namespace, "team-a");
  EXPECT_EQ(alert.event_pod, "");  // the fake source has no pods

  e.ns.clear();
  alert = alerts::make_alert(rule, fake_source(), &e, ctx, "node-1");
  EXPECT_EQ(alert.event_namespace, "");
}

TEST(AlertTest, SyscallEventsNameTheirPod) {
  auto c = compile_text(
      "- rule: s\n  desc: d\n  condition: evt.type = openat\n  output: 'open %fd.name'\n"
      "  priority: WARNING\n  source: syscall\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  const auto& rule = only_rule(c, "syscall");
  rules::EvalContext ctx;

  fields::SyscallEvent ev;
  ev.ts = 1764214316746609046;
  ev.hostname = "node-1";
  fields::ContainerInfo container;
  container.id = "0123456789ab";
  fields::K8sInfo k8s;
  k8s.pod_name = "web-7d9c";
  k8s.ns_name = "prod";
  ev.container = &container;
  ev.k8s = &k8s;
  auto alert = alerts::make_alert(rule, fields::syscall_source(), &ev, ctx, "node-1");
  EXPECT_EQ(alert.time_ns, 1764214316746609046);
  EXPECT_EQ(alert.event_namespace, "prod");
  EXPECT_EQ(alert.event_pod, "web-7d9c");

  // A host process: no pod, no namespace.
  ev.container = nullptr;
  ev.k8s = nullptr;
  alert = alerts::make_alert(rule, fields::syscall_source(), &ev, ctx, "node-1");
  EXPECT_EQ(alert.event_namespace, "");
  EXPECT_EQ(alert.event_pod, "");
}

TEST(AlertTest, AuditEventsNameTheTargetPodOnlyForPods) {
  auto c = compile_text(
      "- rule: a\n  desc: d\n  condition: ka.verb != ''\n  output: 'audit %ka.target.name'\n"
      "  priority: WARNING\n  source: k8s_audit\n");
  ASSERT_FALSE(c.has_errors()) << c.all_diagnostics();
  const auto& rule = only_rule(c, "k8s_audit");
  auto events = fields::decode_audit_events(read_source_file("test/data/audit/attack.json"));
  ASSERT_TRUE(events.ok()) << events.error();
  ASSERT_GE(events->size(), 2u);
  rules::EvalContext ctx;

  // [0] creates a Service: its namespace, no pod.
  auto alert = alerts::make_alert(rule, fields::audit_source(), &(*events)[0], ctx, "operator");
  EXPECT_EQ(alert.event_namespace, "shop");
  EXPECT_EQ(alert.event_pod, "");
  // [1] execs into a pod (pods/exec): the pod.
  alert = alerts::make_alert(rule, fields::audit_source(), &(*events)[1], ctx, "operator");
  EXPECT_EQ(alert.event_namespace, "shop");
  EXPECT_EQ(alert.event_pod, "payments-7d9c6b8f5-kx2lq");
}

TEST(AlertTest, FalcoJsonHasFalcosKeysOnly) {
  alerts::Alert a;
  a.time_ns = 1764214316746609046;
  a.rule = "Terminal shell in container";
  a.priority = rules::Priority::kWarning;
  a.source = "syscall";
  a.hostname = "node-1";
  a.message = "A shell was spawned (pod=web-7d9c)";
  a.output_fields = {{"k8s.pod.name", std::string("web-7d9c")}, {"user.uid", int64_t{0}}};
  a.tags = {"shell", "container"};
  a.rule_namespace = "team-a";
  a.event_namespace = "prod";
  a.event_pod = "web-7d9c";
  const auto j = nlohmann::json::parse(alerts::to_falco_json(a));
  const auto want = nlohmann::json::parse(R"json({
    "hostname": "node-1",
    "output": "03:31:56.746609046: Warning A shell was spawned (pod=web-7d9c)",
    "output_fields": {"k8s.pod.name": "web-7d9c", "user.uid": 0},
    "priority": "Warning",
    "rule": "Terminal shell in container",
    "source": "syscall",
    "tags": ["shell", "container"],
    "time": "2025-11-27T03:31:56.746609046Z"
})json");
  EXPECT_EQ(j, want);
}

}  // namespace
}  // namespace vigil::testing
