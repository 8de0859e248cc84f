// Every k8s_audit field, extracted from real-looking audit events: the corpus in test/data/audit
// and a few events written here for what the corpus does not show.

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/fields/audit_event.h"
#include "common/fields/registry.h"
#include "common/fields/source.h"
#include "common/fields/value.h"
#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"

namespace vigil::fields {
namespace {

using Strings = std::vector<std::string>;

std::string read_file(const std::string& relative) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<AuditEvent> decode(std::string_view body, const AuditDecodeOptions& options = {}) {
  Result<std::vector<AuditEvent>> r = decode_audit_events(body, options);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(*r) : std::vector<AuditEvent>();
}

const FieldRegistry& registry() { return *audit_source().fields; }

// Extracts `name` (with `arg` as written between brackets) and returns the values as strings;
// numbers are printed. Checks the field's declared list-ness against what it yields.
Strings extract(const AuditEvent& ev, std::string_view name,
                std::optional<std::string> arg = std::nullopt) {
  const FieldInfo* info = registry().find(name);
  EXPECT_NE(info, nullptr) << name;
  if (!info) return {};
  FieldArg fa;
  if (arg) {
    fa.present = true;
    fa.text = *arg;
    if (!arg->empty() && arg->find_first_not_of("0123456789") == std::string::npos)
      fa.index = std::stoll(*arg);
    if (info->prepare) {
      std::string err = info->prepare(fa);
      EXPECT_EQ(err, "") << name;
    }
  }
  ValuePool pool;
  Arena arena;
  ValueWriter out(pool, arena);
  info->extract(&ev, fa, out);
  Strings values;
  for (const Value& v : pool) {
    values.push_back(info->type == FieldType::kNumber ? std::to_string(v.num) : std::string(v.str));
  }
  if (!(info->flags & kList)) {
    EXPECT_LE(values.size(), 1u) << name << " is not a list field but yielded several values";
  }
  return values;
}

class AuditFieldsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    attack_ = new std::vector<AuditEvent>(decode(read_file("test/data/audit/attack.json")));
    benign_ = new std::vector<AuditEvent>(decode(read_file("test/data/audit/benign.json")));
    lines_ = new std::vector<AuditEvent>(decode(read_file("test/data/audit/events.jsonl")));
  }
  static void TearDownTestSuite() {
    delete attack_;
    delete benign_;
    delete lines_;
  }

  // The first corpus event about resource[/subresource] `what`, optionally of a given name.
  static const AuditEvent& find(const std::vector<AuditEvent>& events, std::string_view what,
                                std::string_view name = {},
                                std::string_view stage = "ResponseComplete") {
    for (const AuditEvent& ev : events) {
      std::string target(ev.target_resource().str());
      if (ev.target_subresource()) target += "/" + std::string(ev.target_subresource().str());
      if (target == what && (name.empty() || ev.target_name().str() == name) &&
          ev.stage().str() == stage)
        return ev;
    }
    ADD_FAILURE() << "no event about " << what << " " << name;
    return events.front();
  }
  static const AuditEvent& attack(std::string_view what, std::string_view name = {},
                                  std::string_view stage = "ResponseComplete") {
    return find(*attack_, what, name, stage);
  }

  static std::vector<AuditEvent>* attack_;
  static std::vector<AuditEvent>* benign_;
  static std::vector<AuditEvent>* lines_;
};
std::vector<AuditEvent>* AuditFieldsTest::attack_ = nullptr;
std::vector<AuditEvent>* AuditFieldsTest::benign_ = nullptr;
std::vector<AuditEvent>* AuditFieldsTest::lines_ = nullptr;

// A pod create at RequestResponse level with a bit of everything a pod spec can hold.
constexpr std::string_view kLedgerPod = R"json({
  "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
  "auditID": "6f1e2d3c-9b8a-4c7d-8e6f-5a4b3c2d1e0f", "stage": "ResponseComplete",
  "requestURI": "/api/v1/namespaces/payments/pods?fieldManager=kubectl-client-side-apply\u0026fieldValidation=Strict",
  "verb": "create",
  "user": {"username": "alice@example.com", "uid": "oidc:alice", "groups": ["sre", "system:authenticated"]},
  "impersonatedUser": {"username": "system:serviceaccount:payments:deployer",
                       "groups": ["system:serviceaccounts", "system:serviceaccounts:payments", "system:authenticated"]},
  "sourceIPs": ["203.0.113.9", "10.0.0.4"],
  "userAgent": "kubectl/v1.36.0 (linux/amd64) kubernetes/5c3d2f1",
  "objectRef": {"resource": "pods", "namespace": "payments", "name": "ledger-0", "apiVersion": "v1"},
  "responseStatus": {"metadata": {}, "code": 201},
  "requestObject": {
    "kind": "Pod", "apiVersion": "v1",
    "metadata": {"name": "ledger-0", "namespace": "payments", "creationTimestamp": null},
    "spec": {
      "volumes": [
        {"name": "data", "hostPath": {"path": "/var/lib/ledger", "type": "DirectoryOrCreate"}},
        {"name": "plugins", "flexVolume": {"driver": "example.com/lvm", "fsType": "ext4"}},
        {"name": "config", "configMap": {"name": "ledger", "defaultMode": 420}},
        {"name": "proc", "hostPath": {"path": "/proc", "type": ""}}
      ],
      "initContainers": [
        {"name": "migrate",
         "image": "registry.example.com/ledger/migrate@sha256:4b1e2f0c9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c",
         "command": ["/migrate", "--up"], "resources": {},
         "securityContext": {"privileged": true, "runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"]}}}
      ],
      "containers": [
        {"name": "ledger", "image": "registry.example.com:5000/ledger/app:3.2.1", "args": ["--port=8443", "--tls"],
         "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"},
                   {"name": "metrics", "hostPort": 19090, "containerPort": 9090, "protocol": "TCP"}],
         "resources": {},
         "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE", "NET_ADMIN"], "drop": ["ALL"]},
                             "privileged": false, "runAsUser": 1001, "readOnlyRootFilesystem": true,
                             "allowPrivilegeEscalation": false, "procMount": "Default"}},
        {"name": "envoy", "image": "envoyproxy/envoy:v1.31.0", "resources": {}}
      ],
      "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
      "hostNetwork": false, "hostPID": true,
      "securityContext": {"runAsUser": 2000, "runAsGroup": 3000, "fsGroup": 4000, "supplementalGroups": [5000, 5001]},
      "schedulerName": "default-scheduler"
    },
    "status": {}
  },
  "responseObject": {"kind": "Pod", "apiVersion": "v1",
                     "metadata": {"name": "ledger-0", "namespace": "payments", "uid": "0d7c1d9e-8f4b-4a7e-9c55-1e2f3a4b5c6d"}},
  "requestReceivedTimestamp": "2026-09-15T14:26:53.946487Z",
  "stageTimestamp": "2026-09-15T14:26:53.948683Z",
  "annotations": {
    "authorization.k8s.io/decision": "allow",
    "authorization.k8s.io/reason": "RBAC: allowed by RoleBinding \"deployers/payments\" of ClusterRole \"edit\" to User \"alice@example.com\"",
    "pod-security.kubernetes.io/audit-violations": "would violate PodSecurity \"baseline:latest\": host namespaces (hostPID=true)",
    "pod-security.kubernetes.io/enforce-policy": "privileged:latest"
  }
})json";

class AuditLedgerPodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    events_ = decode(kLedgerPod);
    ASSERT_EQ(events_.size(), 1u);
  }
  Strings x(std::string_view name, std::optional<std::string> arg = std::nullopt) {
    return extract(events_[0], name, std::move(arg));
  }
  std::vector<AuditEvent> events_;
};

TEST_F(AuditLedgerPodTest, Envelope) {
  EXPECT_EQ(x("ka.auditid"), Strings{"6f1e2d3c-9b8a-4c7d-8e6f-5a4b3c2d1e0f"});
  EXPECT_EQ(x("ka.stage"), Strings{"ResponseComplete"});
  EXPECT_EQ(x("ka.verb"), Strings{"create"});
  EXPECT_EQ(x("ka.uri"),
            Strings{"/api/v1/namespaces/payments/"
                    "pods?fieldManager=kubectl-client-side-apply&fieldValidation=Strict"});
  EXPECT_EQ(x("ka.user.name"), Strings{"alice@example.com"});
  EXPECT_EQ(x("ka.user.groups"), (Strings{"sre", "system:authenticated"}));
  EXPECT_EQ(x("ka.impuser.name"), Strings{"system:serviceaccount:payments:deployer"});
  EXPECT_EQ(x("ka.useragent"), Strings{"kubectl/v1.36.0 (linux/amd64) kubernetes/5c3d2f1"});
  EXPECT_EQ(x("ka.sourceips"), (Strings{"203.0.113.9", "10.0.0.4"}));
  EXPECT_EQ(x("ka.sourceips", "1"), Strings{"10.0.0.4"});
  EXPECT_EQ(x("ka.sourceips", "2"), Strings{});
  EXPECT_EQ(x("ka.target.name"), Strings{"ledger-0"});
  EXPECT_EQ(x("ka.target.namespace"), Strings{"payments"});
  EXPECT_EQ(x("ka.target.resource"), Strings{"pods"});
  EXPECT_EQ(x("ka.target.subresource"), Strings{});
  EXPECT_EQ(x("ka.target.pod.name"), Strings{"ledger-0"});
  EXPECT_EQ(x("ka.resp.name"), Strings{"ledger-0"});
  EXPECT_EQ(x("ka.response.code"), Strings{"201"});
  EXPECT_EQ(x("ka.response.reason"), Strings{});
  EXPECT_EQ(x("ka.auth.decision"), Strings{"allow"});
  EXPECT_EQ(x("ka.auth.reason"), Strings{"RBAC: allowed by RoleBinding \"deployers/payments\" of "
                                         "ClusterRole \"edit\" to User \"alice@example.com\""});
  EXPECT_EQ(
      x("ka.security.pod.violations"),
      Strings{"would violate PodSecurity \"baseline:latest\": host namespaces (hostPID=true)"});
  EXPECT_EQ(x("ka.auth.openshift.decision"), Strings{});
  EXPECT_EQ(x("ka.cluster.name"), Strings{});
}

TEST_F(AuditLedgerPodTest, Containers) {
  EXPECT_EQ(x("ka.req.pod.containers.name"), (Strings{"ledger", "envoy"}));
  EXPECT_EQ(x("ka.req.pod.containers.name", "1"), Strings{"envoy"});
  EXPECT_EQ(x("ka.req.pod.containers.image"),
            (Strings{"registry.example.com:5000/ledger/app:3.2.1", "envoyproxy/envoy:v1.31.0"}));
  EXPECT_EQ(x("ka.req.pod.containers.image", "1"), Strings{"envoyproxy/envoy:v1.31.0"});
  EXPECT_EQ(x("ka.req.pod.containers.image", "2"), Strings{});
  // Falco cuts the repository at the first ':', registry port included.
  EXPECT_EQ(x("ka.req.pod.containers.image.repository"),
            (Strings{"registry.example.com", "envoyproxy/envoy"}));
  EXPECT_EQ(x("ka.req.container.image"), Strings{"registry.example.com:5000/ledger/app:3.2.1"});
  EXPECT_EQ(x("ka.req.container.image.repository"), Strings{"registry.example.com"});
  EXPECT_EQ(x("ka.req.pod.containers.command"), Strings{});
  EXPECT_EQ(x("ka.req.pod.containers.args"), (Strings{"--port=8443", "--tls"}));
  // Only containers that set the flag yield a value (envoy has no securityContext).
  EXPECT_EQ(x("ka.req.pod.containers.privileged"), Strings{"false"});
  EXPECT_EQ(x("ka.req.pod.containers.privileged", "1"), Strings{});
  EXPECT_EQ(x("ka.req.container.privileged"), Strings{"false"});
  EXPECT_EQ(x("ka.req.pod.containers.allow_privilege_escalation"), Strings{"false"});
  EXPECT_EQ(x("ka.req.pod.containers.read_only_fs"), Strings{"true"});
  EXPECT_EQ(x("ka.req.pod.containers.run_as_user"), Strings{"1001"});
  EXPECT_EQ(x("ka.req.pod.containers.eff_run_as_user"), (Strings{"1001", "2000"}));
  EXPECT_EQ(x("ka.req.pod.containers.eff_run_as_user", "1"), Strings{"2000"});
  EXPECT_EQ(x("ka.req.pod.containers.run_as_group"), Strings{});
  EXPECT_EQ(x("ka.req.pod.containers.eff_run_as_group"), (Strings{"3000", "3000"}));
  EXPECT_EQ(x("ka.req.pod.containers.proc_mount"), Strings{"Default"});
  EXPECT_EQ(x("ka.req.pod.containers.add_capabilities"),
            (Strings{"NET_BIND_SERVICE", "NET_ADMIN"}));
  // hostPort when set, else containerPort.
  EXPECT_EQ(x("ka.req.pod.containers.host_port"), (Strings{"8443", "19090"}));
  EXPECT_EQ(x("ka.req.pod.containers.host_port", "0"), (Strings{"8443", "19090"}));
  EXPECT_EQ(x("ka.req.pod.containers.host_port", "1"), Strings{});
}

TEST_F(AuditLedgerPodTest, InitContainers) {
  EXPECT_EQ(x("ka.req.pod.initContainers.name"), Strings{"migrate"});
  EXPECT_EQ(
      x("ka.req.pod.initContainers.image"),
      Strings{"registry.example.com/ledger/"
              "migrate@sha256:4b1e2f0c9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"});
  EXPECT_EQ(x("ka.req.pod.initContainers.image.repository"),
            Strings{"registry.example.com/ledger/migrate"});
  EXPECT_EQ(x("ka.req.pod.initContainers.command"), (Strings{"/migrate", "--up"}));
  EXPECT_EQ(x("ka.req.pod.initContainers.args"), Strings{});
  EXPECT_EQ(x("ka.req.pod.initContainers.privileged"), Strings{"true"});
  EXPECT_EQ(x("ka.req.pod.initContainers.allow_privilege_escalation"), Strings{});
  EXPECT_EQ(x("ka.req.pod.initContainers.read_only_fs"), Strings{});
  EXPECT_EQ(x("ka.req.pod.initContainers.run_as_user"), Strings{"0"});
  EXPECT_EQ(x("ka.req.pod.initContainers.eff_run_as_user"), Strings{"0"});
  EXPECT_EQ(x("ka.req.pod.initContainers.run_as_group"), Strings{});
  EXPECT_EQ(x("ka.req.pod.initContainers.eff_run_as_group"), Strings{"3000"});
  EXPECT_EQ(x("ka.req.pod.initContainers.proc_mount"), Strings{});
  EXPECT_EQ(x("ka.req.pod.initContainers.add_capabilities"), Strings{"SYS_ADMIN"});
  EXPECT_EQ(x("ka.req.pod.initContainers.host_port"), Strings{});
  // The containers.* fields do not reach into the init containers.
  EXPECT_EQ(x("ka.req.pod.ephemeralContainers.image"), Strings{});
}

TEST_F(AuditLedgerPodTest, PodSpec) {
  EXPECT_EQ(x("ka.req.pod.host_network"), Strings{"false"});
  EXPECT_EQ(x("ka.req.container.host_network"), Strings{"false"});
  EXPECT_EQ(x("ka.req.pod.host_pid"), Strings{"true"});
  EXPECT_EQ(x("ka.req.pod.host_ipc"), Strings{});
  EXPECT_EQ(x("ka.req.pod.run_as_user"), Strings{"2000"});
  EXPECT_EQ(x("ka.req.pod.run_as_group"), Strings{"3000"});
  EXPECT_EQ(x("ka.req.pod.fs_group"), Strings{"4000"});
  EXPECT_EQ(x("ka.req.pod.supplemental_groups"), (Strings{"5000", "5001"}));
  EXPECT_EQ(x("ka.req.pod.volumes.hostpath"), (Strings{"/var/lib/ledger", "/proc"}));
  EXPECT_EQ(x("ka.req.pod.volumes.hostpath", "3"), Strings{"/proc"});
  EXPECT_EQ(x("ka.req.pod.volumes.hostpath", "1"), Strings{});
  EXPECT_EQ(x("ka.req.pod.volumes.flexvolume_driver"), Strings{"example.com/lvm"});
  EXPECT_EQ(x("ka.req.pod.volumes.volume_type"),
            (Strings{"hostPath", "flexVolume", "configMap", "hostPath"}));
  EXPECT_EQ(x("ka.req.pod.volumes.volume_type", "2"), Strings{"configMap"});
  EXPECT_EQ(x("ka.req.volume.hostpath", "/proc"), Strings{"true"});
  EXPECT_EQ(x("ka.req.volume.hostpath", "/var/lib*"), Strings{"true"});
  EXPECT_EQ(x("ka.req.volume.hostpath", "/var/lib"), Strings{"false"});
  EXPECT_EQ(x("ka.req.volume.hostpath", "/etc"), Strings{"false"});
}

TEST_F(AuditLedgerPodTest, JsonFields) {
  EXPECT_EQ(
      x("jevt.value", "/requestObject/spec/securityContext"),
      Strings{
          R"({"runAsUser":2000,"runAsGroup":3000,"fsGroup":4000,"supplementalGroups":[5000,5001]})"});
  EXPECT_EQ(x("jevt.value", "/requestObject/spec/volumes/1/flexVolume/driver"),
            Strings{"example.com/lvm"});
  EXPECT_EQ(x("jevt.value", "/annotations/authorization.k8s.io~1decision"), Strings{"allow"});
  EXPECT_EQ(x("jevt.value", "/responseStatus/code"), Strings{"201"});
  EXPECT_EQ(x("jevt.value", "/requestObject/spec/hostPID"), Strings{"true"});
  EXPECT_EQ(x("jevt.value", "/requestObject/metadata/creationTimestamp"), Strings{"null"});
  EXPECT_EQ(x("jevt.value", "/responseStatus/metadata"), Strings{"{}"});
  EXPECT_EQ(x("jevt.value", "stage"), Strings{"ResponseComplete"});  // the leading '/' is optional
  EXPECT_EQ(x("jevt.value", "/nope"), Strings{});
  EXPECT_EQ(x("jevt.value", "/requestObject/spec/volumes/9"), Strings{});
  EXPECT_EQ(x("json.value", "/user/groups"), Strings{R"(["sre","system:authenticated"])"});
  EXPECT_EQ(x("jevt.rawtime"), Strings{"1789482413948683000"});
  EXPECT_EQ(x("json.rawtime"), Strings{"1789482413948683000"});
  EXPECT_EQ(x("jevt.time"), Strings{"14:26:53.948683000"});
  EXPECT_EQ(x("jevt.time.iso8601"), Strings{"2026-09-15T14:26:53.948683000Z"});
  Strings obj = x("jevt.obj");
  ASSERT_EQ(obj.size(), 1u);
  EXPECT_TRUE(
      obj[0].starts_with("{\n  \"kind\": \"Event\",\n  \"apiVersion\": \"audit.k8s.io/v1\",\n"));
  EXPECT_NE(obj[0].find("\n        \"supplementalGroups\": [\n          5000,\n          5001\n    "
                        "    ]\n      },\n"),
            std::string::npos);
  EXPECT_TRUE(obj[0].ends_with("\"privileged:latest\"\n  }\n}"));
  EXPECT_EQ(x("json.obj"), obj);
}

TEST_F(AuditFieldsTest, ServicesAndQueryParameters) {
  const AuditEvent& svc = attack("services", "payments-debug");
  EXPECT_EQ(extract(svc, "ka.req.service.type"), Strings{"NodePort"});
  EXPECT_EQ(
      extract(svc, "ka.req.service.ports"),
      Strings{
          R"({"name":"http","protocol":"TCP","port":8080,"targetPort":8080,"nodePort":31337})"});
  EXPECT_EQ(extract(svc, "ka.req.service.ports", "0"), extract(svc, "ka.req.service.ports"));
  EXPECT_EQ(extract(svc, "ka.req.service.ports", "1"), Strings{});
  EXPECT_EQ(extract(svc, "ka.uri.param", "fieldManager"), Strings{"kubectl-create"});

  const AuditEvent& exec = attack("pods/exec", "", "ResponseStarted");
  EXPECT_EQ(extract(exec, "ka.uri.param", "command"), Strings{"/bin/sh"});  // the first of three
  EXPECT_EQ(extract(exec, "ka.uri.param", "container"), Strings{"payments"});
  EXPECT_EQ(extract(exec, "ka.uri.param", "stdin"), Strings{});
  EXPECT_EQ(extract(exec, "ka.target.subresource"), Strings{"exec"});
  EXPECT_EQ(extract(exec, "ka.target.pod.name"), Strings{"payments-7d9c6b8f5-kx2lq"});
  EXPECT_EQ(extract(exec, "ka.response.code"), Strings{"101"});
  EXPECT_EQ(extract(exec, "ka.stage"), Strings{"ResponseStarted"});
  EXPECT_EQ(extract(exec, "jevt.value", "/stage"), Strings{"ResponseStarted"});
  EXPECT_EQ(extract(exec, "ka.req.pod.containers.image"), Strings{});

  const AuditEvent& watch = find(*benign_, "configmaps", "", "ResponseStarted");
  EXPECT_EQ(extract(watch, "ka.uri.param", "fieldSelector"), Strings{"metadata.name=web-config"});
  EXPECT_EQ(extract(watch, "ka.uri.param", "timeout"), Strings{"7m14s"});
  EXPECT_EQ(extract(watch, "ka.uri.param", "watch"), Strings{"true"});
}

TEST(AuditUriParamTest, FollowsGoQueryParsing) {
  struct Case {
    std::string uri;
    std::string key;
    Strings want;
  };
  const Case cases[] = {
      {"/api?a=1&a=2", "a", {"1"}},
      {"/api?a", "a", {""}},
      {"/api?a=", "a", {""}},
      {"/api?&&a=x&&", "a", {"x"}},
      {"/api?a+b=c%20d+e", "a b", {"c d e"}},
      {"/api?q=%2Fbin%2Fsh#frag", "q", {"/bin/sh"}},
      {"/api?q=1#a=2", "a", {}},
      {"/api?x=1;y=2", "x", {}},    // Go refuses ';' separators: the whole query fails
      {"/api?x=%zz&y=2", "y", {}},  // a bad escape anywhere fails it too
      {"/api%zz?y=2", "y", {}},     // so does one in the path
      {"/api?y=%e2%82%ac", "y", {"\xE2\x82\xAC"}},
      {"/api", "a", {}},
      {"/api?A=1", "a", {}},
  };
  for (const Case& c : cases) {
    std::string body =
        R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","stage":"ResponseComplete",)"
        R"("stageTimestamp":"2026-09-15T14:26:53Z","requestURI":")" +
        c.uri + R"("})";
    std::vector<AuditEvent> events = decode(body);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(extract(events[0], "ka.uri.param", c.key), c.want) << c.uri << " [" << c.key << "]";
  }
}

TEST_F(AuditFieldsTest, PodsFromTheCorpus) {
  const AuditEvent& priv = attack("pods", "priv-shell");
  EXPECT_EQ(extract(priv, "ka.req.pod.containers.privileged"), Strings{"true"});
  EXPECT_EQ(extract(priv, "ka.req.container.privileged"), Strings{"true"});
  EXPECT_EQ(extract(priv, "ka.req.pod.containers.image.repository"),
            Strings{"docker.io/library/alpine"});
  EXPECT_EQ(extract(priv, "ka.req.pod.containers.command"), (Strings{"sleep", "infinity"}));
  EXPECT_EQ(extract(priv, "ka.req.pod.containers.eff_run_as_user"), Strings{"0"});
  EXPECT_EQ(extract(priv, "ka.req.pod.volumes.hostpath"), Strings{});
  EXPECT_EQ(extract(priv, "ka.req.pod.volumes.volume_type"), Strings{});

  const AuditEvent& mount = attack("pods", "node-inspector");
  EXPECT_EQ(extract(mount, "ka.req.pod.volumes.hostpath"),
            (Strings{"/etc", "/var/run/docker.sock"}));
  EXPECT_EQ(extract(mount, "ka.req.volume.hostpath", "/var/run/*"), Strings{"true"});
  EXPECT_EQ(extract(mount, "ka.req.pod.containers.privileged"), Strings{});
  EXPECT_EQ(extract(mount, "ka.req.container.privileged"), Strings{"false"});
  EXPECT_EQ(
      extract(mount, "jevt.value", "/requestObject/spec/volumes"),
      Strings{
          R"([{"name":"host-etc","hostPath":{"path":"/etc","type":"Directory"}},)"
          R"({"name":"docker-sock","hostPath":{"path":"/var/run/docker.sock","type":"Socket"}}])"});

  const AuditEvent& host = attack("pods", "kube-proxy-helper");
  EXPECT_EQ(extract(host, "ka.req.pod.host_network"), Strings{"true"});
  EXPECT_EQ(extract(host, "ka.req.pod.host_pid"), Strings{"true"});
  EXPECT_EQ(extract(host, "ka.req.pod.host_ipc"), Strings{"true"});
  EXPECT_EQ(extract(host, "ka.req.pod.containers.host_port"), Strings{"8080"});
  EXPECT_EQ(extract(host, "ka.target.namespace"), Strings{"kube-system"});

  // Created by the replicaset controller with generateName: objectRef has no name.
  const AuditEvent* tuner = nullptr;
  for (const AuditEvent& ev : *attack_) {
    if (ev.target_resource().str() == "pods" && !ev.target_name()) tuner = &ev;
  }
  ASSERT_NE(tuner, nullptr);
  EXPECT_EQ(extract(*tuner, "ka.target.name"), Strings{});
  EXPECT_EQ(extract(*tuner, "ka.resp.name"), Strings{"node-tuner-6c8f7d9b4-9wz7p"});
  EXPECT_EQ(extract(*tuner, "ka.target.pod.name"), Strings{"node-tuner-6c8f7d9b4-9wz7p"});
  EXPECT_EQ(extract(*tuner, "ka.user.name"),
            Strings{"system:serviceaccount:kube-system:replicaset-controller"});
  EXPECT_EQ(extract(*tuner, "ka.req.pod.initContainers.privileged"), Strings{"true"});
  EXPECT_EQ(extract(*tuner, "ka.req.pod.containers.privileged"), Strings{});
  EXPECT_EQ(extract(*tuner, "ka.req.container.privileged"), Strings{"false"});
  EXPECT_EQ(extract(*tuner, "ka.req.pod.containers.allow_privilege_escalation"), Strings{"false"});
  EXPECT_EQ(extract(*tuner, "ka.req.pod.initContainers.image.repository"),
            Strings{"docker.io/library/busybox"});

  const AuditEvent& debug = attack("pods/ephemeralcontainers");
  EXPECT_EQ(extract(debug, "ka.req.pod.ephemeralContainers.name"), Strings{"debugger-x8k2m"});
  EXPECT_EQ(extract(debug, "ka.req.pod.ephemeralContainers.image"),
            Strings{"docker.io/library/busybox:1.36"});
  EXPECT_EQ(extract(debug, "ka.req.pod.ephemeralContainers.image.repository"),
            Strings{"docker.io/library/busybox"});
  EXPECT_EQ(extract(debug, "ka.verb"), Strings{"patch"});
  // Falco's rule output points at /requestObject/ephemeralContainers, the shape of the old
  // EphemeralContainers kind; kubectl now sends a patch of the pod spec.
  EXPECT_EQ(extract(debug, "jevt.value", "/requestObject/ephemeralContainers/0/name"), Strings{});
  EXPECT_EQ(extract(debug, "jevt.value", "/requestObject/spec/ephemeralContainers/0/name"),
            Strings{"debugger-x8k2m"});
}

// kubectl debug sending the whole pod to the ephemeralcontainers subresource.
TEST(AuditEphemeralTest, SecurityOfEphemeralContainers) {
  std::vector<AuditEvent> events =
      decode(R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request",
    "auditID":"9a7b5c3d-1e2f-4a6b-8c0d-2e4f6a8b0c1d","stage":"ResponseComplete",
    "requestURI":"/api/v1/namespaces/shop/pods/web-0/ephemeralcontainers","verb":"update",
    "user":{"username":"kubernetes-admin","groups":["kubeadm:cluster-admins","system:authenticated"]},
    "objectRef":{"resource":"pods","namespace":"shop","name":"web-0","apiVersion":"v1","subresource":"ephemeralcontainers"},
    "responseStatus":{"metadata":{},"code":200},
    "requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-0","namespace":"shop"},
      "spec":{"securityContext":{"runAsUser":1000},
              "containers":[{"name":"web","image":"nginx:1.27"}],
              "ephemeralContainers":[{"name":"debugger","image":"nicolaka/netshoot","command":["bash"],
                 "ports":[{"containerPort":7000}],
                 "securityContext":{"privileged":true,"allowPrivilegeEscalation":true,"readOnlyRootFilesystem":false,
                   "runAsUser":0,"runAsGroup":0,"procMount":"Unmasked","capabilities":{"add":["SYS_PTRACE","SYS_ADMIN"]}}},
                 {"name":"debugger-2","image":"busybox","targetContainerName":"web"}]}},
    "stageTimestamp":"2026-09-15T14:30:00.000001Z"})json");
  ASSERT_EQ(events.size(), 1u);
  const AuditEvent& ev = events[0];
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.name"),
            (Strings{"debugger", "debugger-2"}));
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.image.repository"),
            (Strings{"nicolaka/netshoot", "busybox"}));
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.command"), Strings{"bash"});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.args"), Strings{});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.privileged"), Strings{"true"});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.allow_privilege_escalation"),
            Strings{"true"});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.read_only_fs"), Strings{"false"});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.run_as_user"), Strings{"0"});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.eff_run_as_user"), (Strings{"0", "1000"}));
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.run_as_group"), Strings{"0"});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.eff_run_as_group"), (Strings{"0", "0"}));
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.proc_mount"), Strings{"Unmasked"});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.add_capabilities"),
            (Strings{"SYS_PTRACE", "SYS_ADMIN"}));
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.add_capabilities", "1"), Strings{});
  EXPECT_EQ(extract(ev, "ka.req.pod.ephemeralContainers.host_port"), Strings{"7000"});
  EXPECT_EQ(extract(ev, "ka.req.pod.containers.privileged"), Strings{});
  EXPECT_EQ(extract(ev, "ka.req.container.image"), Strings{"nginx:1.27"});
  EXPECT_EQ(extract(ev, "ka.req.container.image.repository"), Strings{"nginx"});
}

TEST_F(AuditFieldsTest, RbacFromTheCorpus) {
  const AuditEvent& crb = attack("clusterrolebindings", "system-metrics-reader");
  EXPECT_EQ(extract(crb, "ka.req.binding.role"), Strings{"cluster-admin"});
  EXPECT_EQ(
      extract(crb, "ka.req.binding.subjects"),
      Strings{R"({"kind":"ServiceAccount","name":"metrics-helper","namespace":"monitoring"})"});
  EXPECT_EQ(extract(crb, "ka.req.binding.subjects.serviceaccount_names"),
            Strings{"metrics-helper"});
  EXPECT_EQ(extract(crb, "ka.req.binding.subjects.serviceaccount_ns_names"),
            Strings{"monitoring:metrics-helper"});
  EXPECT_EQ(extract(crb, "ka.req.binding.subjects.user_names"), Strings{});
  EXPECT_EQ(extract(crb, "ka.req.binding.subjects.group_names"), Strings{});
  EXPECT_EQ(extract(crb, "ka.req.binding.subject.has_name", "anyone"), Strings{"true"});
  EXPECT_EQ(extract(crb, "ka.target.namespace"), Strings{});
  EXPECT_EQ(extract(crb, "ka.target.pod.name"), Strings{});

  const AuditEvent& wildcard = attack("clusterroles", "ops-superuser");
  EXPECT_EQ(extract(wildcard, "ka.req.role.rules"),
            Strings{R"({"verbs":["*"],"apiGroups":["*"],"resources":["*"]})"});
  EXPECT_EQ(extract(wildcard, "ka.req.role.rules.verbs"), Strings{"*"});
  EXPECT_EQ(extract(wildcard, "ka.req.role.rules.resources"), Strings{"*"});
  EXPECT_EQ(extract(wildcard, "ka.req.role.rules.apiGroups"), Strings{"*"});
  EXPECT_EQ(extract(wildcard, "ka.req.role.rules.nonResourceURLs"), Strings{});

  const AuditEvent& exec_role = attack("clusterroles", "pod-debugger");
  EXPECT_EQ(extract(exec_role, "ka.req.role.rules.resources"), (Strings{"pods", "pods/exec"}));
  EXPECT_EQ(extract(exec_role, "ka.req.role.rules.verbs", "0"), (Strings{"get", "list", "create"}));
  EXPECT_EQ(extract(exec_role, "ka.req.role.rules.verbs", "1"), Strings{});
  EXPECT_EQ(extract(exec_role, "ka.req.role.rules.apiGroups"), Strings{""});

  // A JSON patch: requestObject is an array of operations, not a ClusterRole.
  const AuditEvent& patch = attack("clusterroles", "system:aggregate-to-edit");
  EXPECT_EQ(extract(patch, "ka.req.role.rules"), Strings{});
  EXPECT_EQ(extract(patch, "ka.req.role.rules.verbs"), Strings{});
  EXPECT_EQ(extract(patch, "jevt.value", "/requestObject/0/op"), Strings{"add"});
  EXPECT_EQ(extract(patch, "jevt.value", "/responseObject/rules/1/resources/0"),
            Strings{"nodes/proxy"});

  std::vector<AuditEvent> events =
      decode(R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"r",
    "stage":"ResponseComplete","stageTimestamp":"2026-09-15T14:30:00Z","verb":"create",
    "objectRef":{"resource":"rolebindings","namespace":"shop","name":"mixed","apiGroup":"rbac.authorization.k8s.io","apiVersion":"v1"},
    "requestObject":{"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1","metadata":{"name":"mixed"},
      "subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"jane@example.com"},
                  {"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"developers"},
                  {"kind":"ServiceAccount","name":"ci","namespace":"build"},
                  {"kind":"ServiceAccount","name":"deployer","namespace":"shop"},
                  {"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"system:serviceaccount:x:y"}],
      "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"}}})json");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(extract(events[0], "ka.req.binding.subjects.user_names"),
            (Strings{"jane@example.com", "system:serviceaccount:x:y"}));
  EXPECT_EQ(extract(events[0], "ka.req.binding.subjects.group_names"), Strings{"developers"});
  EXPECT_EQ(extract(events[0], "ka.req.binding.subjects.serviceaccount_names"),
            (Strings{"ci", "deployer"}));
  EXPECT_EQ(extract(events[0], "ka.req.binding.subjects.serviceaccount_ns_names"),
            (Strings{"build:ci", "shop:deployer"}));
  EXPECT_EQ(extract(events[0], "ka.req.binding.role"), Strings{"edit"});
  EXPECT_EQ(extract(events[0], "ka.req.binding.subjects").size(), 5u);
}

TEST_F(AuditFieldsTest, ConfigMapsSecretsAndUsers) {
  const AuditEvent& cm = attack("configmaps", "payments-env");
  EXPECT_EQ(extract(cm, "ka.req.configmap.name"), Strings{"payments-env"});
  EXPECT_EQ(
      extract(cm, "ka.req.configmap.obj"),
      Strings{
          R"({"aws_access_key_id":"AKIAIOSFODNN7EXAMPLE","aws_secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","region":"eu-west-1"})"});

  const AuditEvent* anon_ptr = nullptr;
  for (const AuditEvent& ev : *attack_) {
    if (ev.user_name().str() == "system:anonymous") anon_ptr = &ev;
  }
  ASSERT_NE(anon_ptr, nullptr);
  const AuditEvent& anon = *anon_ptr;
  EXPECT_EQ(extract(anon, "ka.user.name"), Strings{"system:anonymous"});
  EXPECT_EQ(extract(anon, "ka.user.groups"), Strings{"system:unauthenticated"});
  EXPECT_EQ(extract(anon, "ka.useragent"), Strings{"curl/8.5.0"});
  EXPECT_EQ(extract(anon, "ka.uri.param", "limit"), Strings{"500"});
  EXPECT_EQ(extract(anon, "ka.target.name"), Strings{});
  EXPECT_EQ(extract(anon, "ka.req.configmap.name"), Strings{});
  EXPECT_EQ(extract(anon, "ka.req.configmap.obj"), Strings{});

  const AuditEvent& forbidden = find(*benign_, "secrets");
  EXPECT_EQ(extract(forbidden, "ka.response.code"), Strings{"403"});
  EXPECT_EQ(extract(forbidden, "ka.response.reason"), Strings{"Forbidden"});
  EXPECT_EQ(extract(forbidden, "ka.auth.decision"), Strings{"forbid"});
  EXPECT_EQ(extract(forbidden, "ka.auth.reason"), Strings{""});  // present, empty

  const AuditEvent& impersonating = (*lines_)[1];
  EXPECT_EQ(extract(impersonating, "ka.user.name"), Strings{"kubernetes-admin"});
  EXPECT_EQ(extract(impersonating, "ka.impuser.name"), Strings{"system:serviceaccount:shop:web"});

  const AuditEvent& received = (*lines_)[3];
  EXPECT_EQ(extract(received, "ka.stage"), Strings{"RequestReceived"});
  EXPECT_EQ(extract(received, "ka.response.code"), Strings{});
  EXPECT_EQ(extract(received, "ka.auth.decision"), Strings{});
}

TEST_F(AuditFieldsTest, NonResourceRequests) {
  const AuditEvent* livez = nullptr;
  for (const AuditEvent& ev : *benign_) {
    if (ev.request_uri().str() == "/livez") livez = &ev;
  }
  ASSERT_NE(livez, nullptr);
  for (const char* f : {"ka.target.name", "ka.target.namespace", "ka.target.resource",
                        "ka.target.subresource", "ka.target.pod.name", "ka.req.configmap.name",
                        "ka.resp.name", "ka.req.pod.containers.image",
                        "ka.req.container.privileged", "ka.req.role.rules", "ka.impuser.name"}) {
    EXPECT_EQ(extract(*livez, f), Strings{}) << f;
  }
  EXPECT_EQ(extract(*livez, "ka.uri"), Strings{"/livez"});
  EXPECT_EQ(extract(*livez, "ka.uri.param", "verbose"), Strings{});
  EXPECT_EQ(extract(*livez, "ka.user.name"), Strings{"system:anonymous"});
  EXPECT_EQ(extract(*livez, "ka.req.binding.subject.has_name", "x"), Strings{"true"});
}

TEST(AuditOtherFieldsTest, AnnotationsAndClusterName) {
  std::string body =
      R"json({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"o",
    "stage":"ResponseComplete","stageTimestamp":"2026-09-15T14:30:00Z","verb":"create",
    "requestURI":"/apis/oauth.openshift.io/v1/oauthaccesstokens",
    "annotations":{"authentication.openshift.io/decision":"deny","authentication.openshift.io/username":"jane",
      "validation.policy.admission.k8s.io/validation_failure":"[{\"message\":\"replicas must be <= 5\",\"policy\":\"max-replicas\",\"binding\":\"max-replicas-prod\",\"expressionIndex\":0,\"validationActions\":[\"Audit\"]}]"}})json";
  AuditDecodeOptions options;
  options.cluster_name = "prod-eu-1";
  std::vector<AuditEvent> events = decode(body, options);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(extract(events[0], "ka.auth.openshift.decision"), Strings{"deny"});
  EXPECT_EQ(extract(events[0], "ka.auth.openshift.username"), Strings{"jane"});
  EXPECT_EQ(
      extract(events[0], "ka.validations.admission.policy.failure"),
      Strings{
          R"([{"message":"replicas must be <= 5","policy":"max-replicas","binding":"max-replicas-prod","expressionIndex":0,"validationActions":["Audit"]}])"});
  EXPECT_EQ(extract(events[0], "ka.cluster.name"), Strings{"prod-eu-1"});
  EXPECT_EQ(extract(events[0], "ka.user.name"), Strings{});
  EXPECT_EQ(extract(events[0], "ka.user.groups"), Strings{});
  EXPECT_EQ(extract(events[0], "ka.sourceips"), Strings{});
  EXPECT_EQ(extract(events[0], "jevt.obj")[0].substr(0, 2), "{\n");
}

TEST(AuditTimeFieldsTest, FormatsAnyTime) {
  struct Case {
    std::string stamp;
    std::string time;
    std::string iso;
  };
  for (const Case& c :
       {Case{"1970-01-01T00:00:00Z", "00:00:00.000000000", "1970-01-01T00:00:00.000000000Z"},
        Case{"1969-12-31T23:59:59.5Z", "23:59:59.500000000", "1969-12-31T23:59:59.500000000Z"},
        Case{"2024-02-29T23:59:59.999999999+01:00", "22:59:59.999999999",
             "2024-02-29T22:59:59.999999999Z"}}) {
    std::vector<AuditEvent> events =
        decode(R"({"kind":"Event","auditID":"t","stage":"ResponseComplete","stageTimestamp":")" +
               c.stamp + R"("})");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(extract(events[0], "jevt.time"), Strings{c.time}) << c.stamp;
    EXPECT_EQ(extract(events[0], "jevt.time.iso8601"), Strings{c.iso}) << c.stamp;
  }
}

TEST(AuditSourceTest, DescribesTheSource) {
  const EventSource& source = audit_source();
  EXPECT_EQ(source.name, "k8s_audit");
  EXPECT_TRUE(source.type_field.empty());
  EXPECT_EQ(source.type_id, nullptr);
  ASSERT_NE(source.fields, nullptr);
  EXPECT_EQ(source.fields->source(), "k8s_audit");
  EXPECT_GE(source.fields->all().size(), 100u);
  for (const FieldInfo* f : source.fields->all()) {
    EXPECT_TRUE(std::string_view(f->name).starts_with("ka.") ||
                std::string_view(f->name).starts_with("jevt.") ||
                std::string_view(f->name).starts_with("json."))
        << f->name;
    EXPECT_NE(f->extract, nullptr) << f->name;
    EXPECT_GT(std::string_view(f->description).size(), 10u) << f->name;
    if (f->flags & kArgIndex) {
      EXPECT_TRUE(f->flags & kList) << f->name;
    }
  }
}

// The fields Falco's k8s_audit_rules.yaml uses, with the types and list-ness the rules need.
TEST(AuditSourceTest, HasEveryFieldTheFalcoRulesUse) {
  struct Want {
    const char* name;
    bool list;
  };
  const Want fields[] = {
      {"jevt.rawtime", false},
      {"jevt.value", false},
      {"jevt.obj", false},
      {"ka.user.name", false},
      {"ka.verb", false},
      {"ka.uri", false},
      {"ka.uri.param", false},
      {"ka.response.code", false},
      {"ka.response.reason", false},
      {"ka.auth.decision", false},
      {"ka.auth.reason", false},
      {"ka.target.name", false},
      {"ka.target.namespace", false},
      {"ka.target.resource", false},
      {"ka.target.subresource", false},
      {"ka.resp.name", false},
      {"ka.req.pod.containers.image", true},
      {"ka.req.pod.containers.image.repository", true},
      {"ka.req.pod.initContainers.image", true},
      {"ka.req.pod.ephemeralContainers.image", true},
      {"ka.req.pod.containers.privileged", true},
      {"ka.req.pod.initContainers.privileged", true},
      {"ka.req.pod.ephemeralContainers.privileged", true},
      {"ka.req.pod.volumes.hostpath", true},
      {"ka.req.pod.host_network", false},
      {"ka.req.pod.host_pid", false},
      {"ka.req.pod.host_ipc", false},
      {"ka.req.service.type", false},
      {"ka.req.service.ports", true},
      {"ka.req.configmap.obj", false},
      {"ka.req.configmap.name", false},
      {"ka.req.role.rules", true},
      {"ka.req.role.rules.resources", true},
      {"ka.req.role.rules.verbs", true},
      {"ka.req.binding.role", false},
      {"ka.req.binding.subjects", true},
  };
  for (const Want& w : fields) {
    const FieldInfo* f = audit_source().fields->find(w.name);
    ASSERT_NE(f, nullptr) << w.name;
    EXPECT_EQ((f->flags & kList) != 0, w.list) << w.name;
    EXPECT_EQ(f->type,
              std::string_view(w.name) == "jevt.rawtime" ? FieldType::kNumber : FieldType::kString)
        << w.name;
  }
  EXPECT_TRUE(audit_source().fields->find("ka.uri.param")->flags & kArgRequired);
  EXPECT_TRUE(audit_source().fields->find("jevt.value")->flags & kArgRequired);
  EXPECT_TRUE(audit_source().fields->find("ka.req.pod.containers.image")->flags & kArgIndex);
}

TEST(AuditSourceTest, BindsArgumentFields) {
  const FieldRegistry& fields = *audit_source().fields;
  Result<BoundField> value = fields.bind("jevt.value", std::string_view("/requestObject/spec"));
  ASSERT_TRUE(value.ok()) << value.error();
  EXPECT_NE(value->arg.prepared, nullptr);
  Result<BoundField> image = fields.bind("ka.req.pod.containers.image", std::string_view("0"));
  ASSERT_TRUE(image.ok()) << image.error();
  EXPECT_EQ(image->arg.index, 0);
  EXPECT_TRUE(fields.bind("ka.uri.param", std::string_view("command")).ok());
  EXPECT_FALSE(fields.bind("ka.uri.param", std::nullopt).ok());
  EXPECT_FALSE(fields.bind("jevt.value", std::string_view("")).ok());
  EXPECT_FALSE(fields.bind("ka.req.volume.hostpath", std::string_view("")).ok());
  EXPECT_FALSE(fields.bind("ka.no.such.field", std::nullopt).ok());
}

TEST(AuditSourceTest, PreparesJsonPointers) {
  const FieldInfo* f = audit_source().fields->find("jevt.value");
  ASSERT_NE(f, nullptr);
  ASSERT_NE(f->prepare, nullptr);
  FieldArg empty;
  empty.present = true;
  EXPECT_NE(f->prepare(empty), "");
  FieldArg slash;
  slash.present = true;
  slash.text = "/";
  EXPECT_EQ(f->prepare(slash), "");  // the member named "" of the event
  std::vector<AuditEvent> events = decode(
      R"({"kind":"Event","auditID":"p","stage":"ResponseComplete","stageTimestamp":"2026-09-15T14:30:00Z",)"
      R"("":"empty key","a/b":{"c~d":[10,20]}})");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(extract(events[0], "jevt.value", "/"), Strings{"empty key"});
  EXPECT_EQ(extract(events[0], "jevt.value", "/a~1b/c~0d/1"), Strings{"20"});
  EXPECT_EQ(extract(events[0], "jevt.value", "/a~1b/c~0d/01"), Strings{"20"});
  EXPECT_EQ(extract(events[0], "jevt.value", "/a~1b/c~0d/2"), Strings{});
  EXPECT_EQ(extract(events[0], "jevt.value", "/a~1b/c~0d/-1"), Strings{});
}

// Every field on every corpus event: nothing crashes, non-list fields yield at most one value,
// and each field yields something somewhere in the tests' events.
TEST_F(AuditFieldsTest, EveryFieldOnEveryEvent) {
  std::vector<AuditEvent> all = *attack_;
  all.insert(all.end(), benign_->begin(), benign_->end());
  all.insert(all.end(), lines_->begin(), lines_->end());
  std::vector<AuditEvent> ledger = decode(kLedgerPod);
  all.insert(all.end(), ledger.begin(), ledger.end());
  AuditDecodeOptions named;
  named.cluster_name = "c";
  std::vector<AuditEvent> with_name = decode(kLedgerPod, named);
  all.insert(all.end(), with_name.begin(), with_name.end());

  std::set<std::string> silent;
  for (const FieldInfo* f : registry().all()) {
    std::optional<std::string> arg;
    if (f->flags & kArgRequired) {
      arg = std::string_view(f->name) == "ka.uri.param" ? "limit" : "/proc";
      if (std::string_view(f->name).ends_with(".value")) arg = "/requestObject/spec/containers/0";
    }
    bool any = false;
    for (const AuditEvent& ev : all) {
      any = any || !extract(ev, f->name, arg).empty();
      if (f->flags & kArgIndex) extract(ev, f->name, "1");
    }
    if (!any) silent.insert(f->name);
  }
  // Fields these events leave empty; the tests above extract each of them from an event written
  // for it.
  const std::set<std::string> covered_elsewhere = {
      "ka.auth.openshift.decision",
      "ka.auth.openshift.username",
      "ka.validations.admission.policy.failure",
      "ka.req.binding.subjects.user_names",
      "ka.req.binding.subjects.group_names",
      "ka.req.role.rules.nonResourceURLs",
      "ka.req.pod.containers.run_as_group",
      "ka.req.pod.initContainers.allow_privilege_escalation",
      "ka.req.pod.initContainers.read_only_fs",
      "ka.req.pod.initContainers.run_as_group",
      "ka.req.pod.initContainers.proc_mount",
      "ka.req.pod.initContainers.args",
      "ka.req.pod.initContainers.host_port",
      "ka.req.pod.ephemeralContainers.command",
      "ka.req.pod.ephemeralContainers.args",
      "ka.req.pod.ephemeralContainers.privileged",
      "ka.req.pod.ephemeralContainers.allow_privilege_escalation",
      "ka.req.pod.ephemeralContainers.read_only_fs",
      "ka.req.pod.ephemeralContainers.run_as_user",
      "ka.req.pod.ephemeralContainers.eff_run_as_user",
      "ka.req.pod.ephemeralContainers.run_as_group",
      "ka.req.pod.ephemeralContainers.eff_run_as_group",
      "ka.req.pod.ephemeralContainers.proc_mount",
      "ka.req.pod.ephemeralContainers.add_capabilities",
      "ka.req.pod.ephemeralContainers.host_port",
  };
  for (const std::string& name : silent) {
    EXPECT_TRUE(covered_elsewhere.count(name)) << name << " yields nothing on any event";
  }
}

// The corpus against Falco's own k8s_audit_rules.yaml (kept in shared/reference beside the
// repository, not in it): each event fires exactly the rules test/data/audit/README.md lists.
// Rules the engine does not accept are reported, not failed here (the compiler's tests own that).
TEST(AuditCorpusTest, FalcoRulesFireAsDocumented) {
  const std::string rules_path =
      std::string(VIGIL_SOURCE_DIR) + "/../shared/reference/falco/k8s_audit_rules.yaml";
  if (!std::filesystem::exists(rules_path)) GTEST_SKIP() << "no " << rules_path;
  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader loader(defs, diags);
  loader.load_file(rules_path);
  rules::CompileOutput compiled = rules::compile_rules(defs);
  ASSERT_NE(compiled.rule_set, nullptr);
  std::set<std::string> accepted;
  std::string first_error;
  for (const rules::RuleStatus& st : compiled.statuses) {
    if (st.accepted) {
      accepted.insert(st.name);
    } else if (first_error.empty()) {
      first_error = st.name + ": " + st.message;
    }
  }
  if (accepted.size() < compiled.statuses.size()) {
    std::cout << "[ NOTE     ] " << compiled.statuses.size() - accepted.size() << " of "
              << compiled.statuses.size()
              << " Falco k8s_audit rules did not compile and were not checked; first: "
              << first_error << "\n";
  }
  const rules::SourceRules* src = compiled.rule_set->source("k8s_audit");
  ASSERT_NE(src, nullptr);

  using Fired = std::set<std::string>;
  const std::map<std::string, std::vector<Fired>> expected = {
      {"attack.json",
       {{"Create NodePort Service", "K8s Service Created"},
        {"Attach/Exec Pod"},
        {},
        {"Create Privileged Pod"},
        {"Create Sensitive Mount Pod"},
        {"Create HostNetwork Pod", "Create HostPid Pod", "Create HostIPC Pod",
         "Pod Created in Kube Namespace"},
        {"Create Privileged Pod"},
        {"Attach to cluster-admin Role", "K8s ClusterRoleBinding Created"},
        {"ClusterRole With Wildcard Created", "K8s ClusterRole Created"},
        {"ClusterRole With Write Privileges Created", "ClusterRole With Pod Exec Created",
         "K8s ClusterRole Created"},
        {"Create/Modify Configmap With Private Credentials", "K8s ConfigMap Created"},
        {"Anonymous Request Allowed"},
        {"Disallowed K8s User", "K8s Secret Get Successfully"},
        {"K8s Secret Created"},
        {"Service Account Created in Kube Namespace", "K8s Serviceaccount Created"},
        {"Create Disallowed Namespace", "K8s Namespace Created"},
        {"K8s Deployment Created"},
        {"port-forward"},
        {"port-forward"},
        {"EphemeralContainers Created"},
        {"System ClusterRole Modified/Deleted"},
        {"K8s Namespace Deleted"},
        {"Ingress Object without TLS Certificate Created"}}},
      {"benign.json", std::vector<Fired>(21)},
      {"events.jsonl",
       {{}, {}, {"Disallowed K8s User", "K8s Secret Get Unsuccessfully Tried"}, {}}},
  };
  rules::EvalContext ctx;
  for (const auto& [file, want] : expected) {
    std::vector<AuditEvent> events = decode(read_file("test/data/audit/" + file));
    ASSERT_EQ(events.size(), want.size()) << file;
    for (size_t i = 0; i < events.size(); ++i) {
      Fired fired;
      for (uint32_t r : src->evaluate(&events[i], ctx)) fired.insert(src->rules()[r].name);
      Fired want_compiled;
      for (const std::string& name : want[i]) {
        if (accepted.count(name)) want_compiled.insert(name);
      }
      EXPECT_EQ(fired, want_compiled) << file << " event " << i;
    }
  }
}

}  // namespace
}  // namespace vigil::fields
