// Routing: which alerts a sink receives (sink_accepts) and which namespace an alert is about
// (alert_namespace). Table tests, one row per case.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/alerts/sink.h"

namespace vigil::alerts {
namespace {

namespace v1 = api::v1alpha1;
using P = rules::Priority;

constexpr std::string_view kCluster = "vigil-system";

Alert make(std::string rule, P priority, std::string source = "syscall",
           std::vector<std::string> tags = {}, std::string event_ns = "",
           std::string rule_ns = "") {
  Alert a;
  a.rule = std::move(rule);
  a.priority = priority;
  a.source = std::move(source);
  a.tags = std::move(tags);
  a.event_namespace = std::move(event_ns);
  a.rule_namespace = std::move(rule_ns);
  return a;
}

struct Row {
  const char* what;
  v1::SinkFilter filter;
  std::string sink_ns;
  Alert alert;
  bool want;
};

v1::SinkFilter min_priority(P p) {
  v1::SinkFilter f;
  f.minimum_priority = p;
  return f;
}
v1::SinkFilter rules_filter(std::vector<std::string> r) {
  v1::SinkFilter f;
  f.rules = std::move(r);
  return f;
}
v1::SinkFilter tags_filter(std::vector<std::string> t) {
  v1::SinkFilter f;
  f.tags = std::move(t);
  return f;
}
v1::SinkFilter sources_filter(std::vector<v1::RuleSource> s) {
  v1::SinkFilter f;
  f.sources = std::move(s);
  return f;
}
v1::SinkFilter namespaces_filter(std::vector<std::string> n) {
  v1::SinkFilter f;
  f.namespaces = std::move(n);
  return f;
}

TEST(SinkFilterTest, Table) {
  const std::string cluster(kCluster);
  const Alert shell = make("Terminal shell in container", P::kWarning, "syscall",
                           {"container", "shell", "mitre_execution"}, "shop");
  std::vector<Row> rows = {
      {"empty filter accepts everything", {}, cluster, shell, true},
      {"empty filter, alert with nothing set", {}, cluster, make("r", P::kDebug), true},

      // minimumPriority: Falco's order, Emergency most severe.
      {"minimum Warning accepts Warning", min_priority(P::kWarning), cluster, shell, true},
      {"minimum Warning accepts Emergency", min_priority(P::kWarning), cluster,
       make("r", P::kEmergency), true},
      {"minimum Warning accepts Error", min_priority(P::kWarning), cluster, make("r", P::kError),
       true},
      {"minimum Warning rejects Notice", min_priority(P::kWarning), cluster, make("r", P::kNotice),
       false},
      {"minimum Warning rejects Debug", min_priority(P::kWarning), cluster, make("r", P::kDebug),
       false},
      {"minimum Emergency rejects Alert", min_priority(P::kEmergency), cluster,
       make("r", P::kAlert), false},
      {"minimum Debug accepts Debug", min_priority(P::kDebug), cluster, make("r", P::kDebug), true},

      // rules: globs on the rule name.
      {"exact rule name", rules_filter({"Terminal shell in container"}), cluster, shell, true},
      {"star glob", rules_filter({"Terminal shell*"}), cluster, shell, true},
      {"star in the middle", rules_filter({"*shell*container"}), cluster, shell, true},
      {"question mark", rules_filter({"Terminal she?l in container"}), cluster, shell, true},
      {"question mark needs one character", rules_filter({"Terminal shell in container?"}), cluster,
       shell, false},
      {"no pattern matches", rules_filter({"Write below etc", "Read*"}), cluster, shell, false},
      {"any of several patterns", rules_filter({"Write below etc", "*container"}), cluster, shell,
       true},
      {"globs are anchored", rules_filter({"shell"}), cluster, shell, false},
      {"lone star", rules_filter({"*"}), cluster, make("", P::kDebug), true},

      // tags: any tag matches.
      {"one tag matches", tags_filter({"network", "shell"}), cluster, shell, true},
      {"no tag matches", tags_filter({"network", "filesystem"}), cluster, shell, false},
      {"alert without tags", tags_filter({"shell"}), cluster, make("r", P::kWarning), false},

      // sources.
      {"syscall source", sources_filter({v1::RuleSource::kSyscall}), cluster, shell, true},
      {"audit only rejects syscall", sources_filter({v1::RuleSource::kK8sAudit}), cluster, shell,
       false},
      {"audit source", sources_filter({v1::RuleSource::kK8sAudit}), cluster,
       make("r", P::kWarning, "k8s_audit"), true},

      // namespaces: the alert's namespace must be listed.
      {"listed namespace", namespaces_filter({"web", "shop"}), cluster, shell, true},
      {"unlisted namespace", namespaces_filter({"web"}), cluster, shell, false},
      {"unknown namespace is not listed", namespaces_filter({"web"}), cluster,
       make("r", P::kWarning), false},
      {"a tenant rule's namespace counts", namespaces_filter({"team-a"}), cluster,
       make("r", P::kWarning, "syscall", {}, "", "team-a"), true},

      // every set field must match.
      {"all fields match",
       [] {
         v1::SinkFilter f;
         f.minimum_priority = P::kNotice;
         f.rules = {"Terminal*"};
         f.tags = {"shell"};
         f.sources = {v1::RuleSource::kSyscall};
         f.namespaces = {"shop"};
         return f;
       }(),
       cluster, shell, true},
      {"one field fails",
       [] {
         v1::SinkFilter f;
         f.minimum_priority = P::kNotice;
         f.rules = {"Terminal*"};
         f.tags = {"network"};
         return f;
       }(),
       cluster, shell, false},

      // tenant sinks: only alerts about their own namespace.
      {"cluster sink hears every namespace", {}, cluster, shell, true},
      {"tenant sink hears its namespace", {}, "shop", shell, true},
      {"tenant sink does not hear another namespace", {}, "web", shell, false},
      {"tenant sink does not hear alerts without a namespace",
       {},
       "shop",
       make("r", P::kWarning),
       false},
      {"tenant sink hears its own rules",
       {},
       "team-a",
       make("r", P::kWarning, "syscall", {}, "", "team-a"),
       true},
      {"a tenant rule is about its namespace, not the event's",
       {},
       "shop",
       make("r", P::kWarning, "syscall", {}, "shop", "team-a"),
       false},
      {"a cluster rule is about the event's namespace",
       {},
       "shop",
       make("r", P::kWarning, "syscall", {}, "shop", cluster),
       true},
      {"tenant sink filter still applies", min_priority(P::kError), "shop", shell, false},
      {"tenant sink listing another namespace still hears only its own", namespaces_filter({"web"}),
       "shop", shell, false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(sink_accepts(r.filter, r.sink_ns, kCluster, r.alert), r.want) << r.what;
  }
}

TEST(SinkFilterTest, DryRunAlertsGoNowhere) {
  Alert a = make("r", P::kEmergency, "syscall", {}, "shop");
  a.mode = rules::RuleMode::kDryRun;
  EXPECT_FALSE(sink_accepts({}, kCluster, kCluster, a));
  EXPECT_FALSE(sink_accepts({}, "shop", kCluster, a));
}

TEST(SinkFilterTest, AlertNamespace) {
  EXPECT_EQ(alert_namespace(make("r", P::kWarning, "syscall", {}, "shop", "team-a"), kCluster),
            "team-a");
  EXPECT_EQ(alert_namespace(make("r", P::kWarning, "syscall", {}, "shop", ""), kCluster), "shop");
  EXPECT_EQ(alert_namespace(make("r", P::kWarning, "syscall", {}, "shop", std::string(kCluster)),
                            kCluster),
            "shop");
  EXPECT_EQ(alert_namespace(make("r", P::kWarning), kCluster), "");
}

TEST(SinkFilterTest, GlobsDoNotBacktrackExponentially) {
  // a*a*a*...b against a long run of a's: linear-time matching answers at once.
  const std::string pattern = std::string(30, 'a') + std::string("*a*a*a*a*a*a*a*a*a*b");
  Alert a = make(std::string(5000, 'a'), P::kWarning);
  EXPECT_FALSE(sink_accepts(rules_filter({pattern}), kCluster, kCluster, a));
  a.rule += "b";
  EXPECT_TRUE(sink_accepts(rules_filter({pattern}), kCluster, kCluster, a));
}

}  // namespace
}  // namespace vigil::alerts
