// common/k8s against a real kube-apiserver and etcd (scripts/controlplane.sh). No mock server:
// every test talks HTTPS to the apiserver named by $VIGIL_KUBECONFIG and is skipped without it.
//
//   scripts/controlplane.sh start /tmp/cp
//   VIGIL_KUBECONFIG=/tmp/cp/kubeconfig build/vigil_e2e_tests --gtest_filter='K8s*'
//   scripts/controlplane.sh stop /tmp/cp
//
// Each run works in a fresh namespace (vigil-e2e-<random>) and a CRD group of its own, so runs
// against the same control plane do not interfere. Namespaces stay Terminating after deletion
// (there is no namespace controller), so they are left in place.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/k8s/client_config.h"
#include "common/k8s/curl_client.h"
#include "common/k8s/events.h"
#include "common/k8s/leader_elector.h"
#include "common/k8s/watch_stream.h"
#include "common/k8s/watcher.h"
#include "test/fakes/watch_recorder.h"

namespace vigil::k8s {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const ResourceRef kWidgets{"e2e.vigil.dev", "v1", "widgets", true};
const ResourceRef kGadgets{"e2e.vigil.dev", "v1", "gadgets", true};

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:08x}", rd());
}

template <typename F>
bool eventually(F f, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

// The HTTP status of a result: 200 for success, else the error's code.
template <typename T>
int status_of(const Result<T>& r) {
  return r.ok() ? 200 : r.error_code();
}

json parse(const Result<std::string>& r) {
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? json::parse(*r) : json();
}

std::string configmap(const std::string& name, const std::string& value,
                      const json& labels = json::object()) {
  return json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"labels", labels}}},
              {"data", {{"v", value}}}}
      .dump();
}

std::string crd(const std::string& plural, const std::string& kind) {
  const json schema = {
      {"type", "object"},
      {"properties",
       {{"spec", {{"type", "object"}, {"properties", {{"size", {{"type", "integer"}}}}}}},
        {"status",
         {{"type", "object"},
          {"properties",
           {{"phase", {{"type", "string"}}}, {"observedGeneration", {{"type", "integer"}}}}}}}}}};
  return json{{"apiVersion", "apiextensions.k8s.io/v1"},
              {"kind", "CustomResourceDefinition"},
              {"metadata", {{"name", plural + ".e2e.vigil.dev"}}},
              {"spec",
               {{"group", "e2e.vigil.dev"},
                {"scope", "Namespaced"},
                {"names",
                 {{"plural", plural},
                  {"singular", kind == "Widget" ? "widget" : "gadget"},
                  {"kind", kind},
                  {"listKind", kind + "List"}}},
                {"versions", json::array({{{"name", "v1"},
                                           {"served", true},
                                           {"storage", true},
                                           {"subresources", {{"status", json::object()}}},
                                           {"schema", {{"openAPIV3Schema", schema}}}}})}}}}
      .dump();
}

// The control plane directory (scripts/controlplane.sh start DIR), for tests that restart or stall
// the apiserver: $VIGIL_CONTROLPLANE_DIR, else the kubeconfig's directory when it is one. "" if
// none.
std::string controlplane_dir() {
  if (const char* d = std::getenv("VIGIL_CONTROLPLANE_DIR"); d != nullptr && *d != '\0') return d;
  const char* kubeconfig = std::getenv("VIGIL_KUBECONFIG");
  if (kubeconfig == nullptr) return {};
  const auto dir = std::filesystem::path(kubeconfig).parent_path();
  return std::filesystem::exists(dir / "kube-apiserver.pid") ? dir.string() : std::string();
}

std::string controlplane_script() {
  if (const char* s = std::getenv("VIGIL_CONTROLPLANE_SCRIPT"); s != nullptr && *s != '\0')
    return s;
#ifdef VIGIL_SOURCE_DIR
  return VIGIL_SOURCE_DIR "/scripts/controlplane.sh";
#else
  return "scripts/controlplane.sh";
#endif
}

// The shared recorder with waits sized for a real API server.
class Recorder : public vigil::testing::WatchRecorder {
 public:
  Recorder() : WatchRecorder(std::chrono::seconds(15)) {}
};

class K8sClientE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* path = std::getenv("VIGIL_KUBECONFIG");
    if (path == nullptr || *path == '\0') return;
    auto config = load_kubeconfig({path});
    ASSERT_TRUE(config.ok()) << config.error();
    config_ = new ClientConfig(std::move(*config));
    auto client = CurlClient::from_config(*config_, {.request_timeout = 10s});
    ASSERT_TRUE(client.ok()) << client.error();
    client_ = client->release();
    ns_ = new std::string("vigil-e2e-" + random_suffix());
    auto created = client_->create(
        namespaces(), "",
        json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", *ns_}}}}.dump());
    ASSERT_TRUE(created.ok()) << created.error();
  }
  static void TearDownTestSuite() {
    delete client_;
    client_ = nullptr;
    delete config_;
    config_ = nullptr;
    delete ns_;
    ns_ = nullptr;
  }
  void SetUp() override {
    if (client_ == nullptr)
      GTEST_SKIP() << "VIGIL_KUBECONFIG is not set: no API server to test against";
  }

  static std::unique_ptr<CurlClient> new_client(CurlClientOptions options = {
                                                    .request_timeout = 10s}) {
    auto c = CurlClient::from_config(*config_, options);
    EXPECT_TRUE(c.ok()) << c.error();
    return std::move(*c);
  }

  // Creates (or finds) a CRD and waits until it is Established and served.
  static void ensure_crd(const std::string& plural, const std::string& kind,
                         const ResourceRef& ref) {
    auto created = client_->create(custom_resource_definitions(), "", crd(plural, kind));
    ASSERT_TRUE(created.ok() || created.error_code() == kStatusConflict) << created.error();
    ASSERT_TRUE(eventually([&] {
      auto got = client_->get(custom_resource_definitions(), "", plural + ".e2e.vigil.dev");
      if (!got) return false;
      const json c = json::parse(*got);
      for (const auto& cond : c["status"].value("conditions", json::array())) {
        if (cond["type"] == "Established" && cond["status"] == "True") {
          return client_->list(ref, *ns_).ok();  // discovery and storage are ready
        }
      }
      return false;
    })) << plural
        << " CRD never became Established";
  }

  static ClientConfig* config_;
  static CurlClient* client_;
  static std::string* ns_;
};

ClientConfig* K8sClientE2eTest::config_ = nullptr;
CurlClient* K8sClientE2eTest::client_ = nullptr;
std::string* K8sClientE2eTest::ns_ = nullptr;

TEST_F(K8sClientE2eTest, RawRequestAndTlsVerification) {
  auto version = client_->request("GET", "/version");
  ASSERT_TRUE(version.ok()) << version.error();
  EXPECT_EQ(version->status, 200);
  EXPECT_TRUE(json::parse(version->body).contains("gitVersion"));

  // The serving certificate is checked: another CA (here, the system store only) is refused.
  ClientConfig wrong_ca = *config_;
  wrong_ca.ca_pem.clear();
  auto client = CurlClient::from_config(wrong_ca, {.connect_timeout = 5s, .request_timeout = 5s});
  ASSERT_TRUE(client.ok()) << client.error();
  auto refused = (*client)->request("GET", "/version");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("certificate"), std::string::npos) << refused.error();

  // Without a client certificate the request is anonymous, and RBAC forbids it.
  ClientConfig anonymous = *config_;
  anonymous.client_cert_pem.clear();
  anonymous.client_key_pem.clear();
  auto anon = CurlClient::from_config(anonymous);
  ASSERT_TRUE(anon.ok()) << anon.error();
  auto forbidden = (*anon)->get(configmaps(), *ns_, "x");
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error_code(), 403) << forbidden.error();
}

TEST_F(K8sClientE2eTest, ConfigMapCrud) {
  const json labels = {{"suite", "crud"}};
  auto created = parse(client_->create(configmaps(), *ns_, configmap("crud-a", "1", labels)));
  EXPECT_EQ(created["metadata"]["namespace"], *ns_);
  EXPECT_FALSE(created["metadata"]["uid"].get<std::string>().empty());

  auto got = parse(client_->get(configmaps(), *ns_, "crud-a"));
  EXPECT_EQ(got["data"]["v"], "1");

  auto dup = client_->create(configmaps(), *ns_, configmap("crud-a", "1"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error_code(), kStatusConflict);
  EXPECT_NE(dup.error().find("AlreadyExists"), std::string::npos) << dup.error();

  got["data"]["v"] = "2";
  auto updated = parse(client_->update(configmaps(), *ns_, "crud-a", got.dump()));
  EXPECT_EQ(updated["data"]["v"], "2");

  auto merged = parse(client_->patch(configmaps(), *ns_, "crud-a", R"({"data":{"w":"3"}})"));
  EXPECT_EQ(merged["data"]["v"], "2");
  EXPECT_EQ(merged["data"]["w"], "3");
  auto strategic =
      parse(client_->patch(configmaps(), *ns_, "crud-a", R"({"metadata":{"labels":{"x":"y"}}})",
                           PatchType::kStrategicMerge));
  EXPECT_EQ(strategic["metadata"]["labels"]["x"], "y");
  auto jsonpatch =
      parse(client_->patch(configmaps(), *ns_, "crud-a",
                           R"([{"op":"replace","path":"/data/v","value":"4"}])", PatchType::kJson));
  EXPECT_EQ(jsonpatch["data"]["v"], "4");
  auto applied =
      parse(client_->patch(configmaps(), *ns_, "crud-apply", configmap("crud-apply", "5", labels),
                           PatchType::kApply, {.field_manager = "vigil-e2e", .force = true}));
  EXPECT_EQ(applied["data"]["v"], "5");

  // Pagination and label selectors.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client_
                    ->create(configmaps(), *ns_,
                             configmap("page-" + std::to_string(i), "0", {{"suite", "page"}}))
                    .ok());
  }
  std::set<std::string> names;
  ListOptions lo{.label_selector = "suite=page", .limit = 2};
  int pages = 0;
  do {
    auto page = parse(client_->list(configmaps(), *ns_, lo));
    ++pages;
    for (const auto& item : page["items"]) names.insert(item["metadata"]["name"]);
    lo.continue_token = page["metadata"].value("continue", "");
  } while (!lo.continue_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names.size(), 5u);
  auto by_field =
      parse(client_->list(configmaps(), *ns_, {.field_selector = "metadata.name=crud-a"}));
  EXPECT_EQ(by_field["items"].size(), 1u);

  ASSERT_TRUE(client_->remove(configmaps(), *ns_, "crud-a").ok());
  auto gone = client_->get(configmaps(), *ns_, "crud-a");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error_code(), kStatusNotFound);
  EXPECT_NE(gone.error().find("not found"), std::string::npos) << gone.error();
  auto gone_again = client_->remove(configmaps(), *ns_, "crud-a");
  EXPECT_EQ(status_of(gone_again), kStatusNotFound);
}

TEST_F(K8sClientE2eTest, StaleUpdateIsAConflict) {
  auto v1 = parse(client_->create(configmaps(), *ns_, configmap("conflict", "1")));
  json first = v1, second = v1;
  first["data"]["v"] = "first";
  ASSERT_TRUE(client_->update(configmaps(), *ns_, "conflict", first.dump()).ok());
  second["data"]["v"] = "second";  // still carries the old resourceVersion
  auto stale = client_->update(configmaps(), *ns_, "conflict", second.dump());
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(status_of(stale), kStatusConflict);
  EXPECT_NE(stale.error().find("the object has been modified"), std::string::npos) << stale.error();
  // A merge patch carrying the stale resourceVersion is a conditional write too.
  auto stale_patch =
      client_->patch(configmaps(), *ns_, "conflict",
                     json{{"metadata", {{"resourceVersion", v1["metadata"]["resourceVersion"]}}},
                          {"data", {{"v", "patched"}}}}
                         .dump());
  EXPECT_EQ(status_of(stale_patch), kStatusConflict);
}

TEST_F(K8sClientE2eTest, StatusSubresourceOnACustomResource) {
  ensure_crd("widgets", "Widget", kWidgets);
  const json widget = {{"apiVersion", "e2e.vigil.dev/v1"},
                       {"kind", "Widget"},
                       {"metadata", {{"name", "w1"}}},
                       {"spec", {{"size", 3}}}};
  auto created = parse(client_->create(kWidgets, *ns_, widget.dump()));
  EXPECT_EQ(created["metadata"]["generation"], 1);

  auto patched = parse(client_->patch_status(
      kWidgets, *ns_, "w1",
      R"({"status":{"phase":"Ready","observedGeneration":1},"spec":{"size":99}})"));
  EXPECT_EQ(patched["status"]["phase"], "Ready");
  EXPECT_EQ(patched["spec"]["size"], 3);  // /status ignores everything else
  EXPECT_EQ(patched["metadata"]["generation"], 1);

  // The main resource ignores .status; a spec change bumps the generation.
  auto main = parse(
      client_->patch(kWidgets, *ns_, "w1", R"({"spec":{"size":4},"status":{"phase":"Hacked"}})"));
  EXPECT_EQ(main["status"]["phase"], "Ready");
  EXPECT_EQ(main["spec"]["size"], 4);
  EXPECT_EQ(main["metadata"]["generation"], 2);

  // PUT /status with the current object, then a stale one.
  main["status"]["phase"] = "Degraded";
  auto put = parse(client_->update_status(kWidgets, *ns_, "w1", main.dump()));
  EXPECT_EQ(put["status"]["phase"], "Degraded");
  auto stale = client_->update_status(kWidgets, *ns_, "w1", main.dump());
  EXPECT_EQ(status_of(stale), kStatusConflict);

  // Custom resources do not take strategic merge patches.
  auto smp =
      client_->patch(kWidgets, *ns_, "w1", R"({"spec":{"size":5}})", PatchType::kStrategicMerge);
  EXPECT_EQ(status_of(smp), 415) << (smp.ok() ? "" : smp.error());
}

TEST_F(K8sClientE2eTest, WatcherSeesAddModifyDeleteInOrder) {
  Recorder rec;
  WatcherOptions o{.resource = configmaps(), .ns = *ns_, .label_selector = "suite=order"};
  Watcher w(*client_, o, rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(10s));
  const json labels = {{"suite", "order"}};
  ASSERT_TRUE(client_->create(configmaps(), *ns_, configmap("order-a", "1", labels)).ok());
  auto a = parse(client_->get(configmaps(), *ns_, "order-a"));
  a["data"]["v"] = "2";
  ASSERT_TRUE(client_->update(configmaps(), *ns_, "order-a", a.dump()).ok());
  ASSERT_TRUE(client_->create(configmaps(), *ns_, configmap("order-b", "1", labels)).ok());
  ASSERT_TRUE(client_->remove(configmaps(), *ns_, "order-a").ok());
  ASSERT_TRUE(rec.wait_for(4));
  EXPECT_EQ(rec.events(), (std::vector<std::string>{"ADDED order-a=1", "MODIFIED order-a=2",
                                                    "ADDED order-b=1", "DELETED order-a=2"}));
  EXPECT_FALSE(w.get(*ns_ + "/order-a").has_value());
  ASSERT_TRUE(w.get(*ns_ + "/order-b").has_value());

  const auto start = std::chrono::steady_clock::now();
  w.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "stop() waited for the server";
}

TEST_F(K8sClientE2eTest, WatchResumesAfterServerTimeoutsWithoutMissingEvents) {
  Recorder rec;
  WatcherOptions o{.resource = configmaps(),
                   .ns = *ns_,
                   .label_selector = "suite=resume",
                   .min_watch_timeout = 1s};  // each watch ends after 1-2 s
  Watcher w(*client_, o, rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(10s));
  std::vector<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    const std::string name = fmt::format("resume-{:02}", i);
    ASSERT_TRUE(
        client_->create(configmaps(), *ns_, configmap(name, "1", {{"suite", "resume"}})).ok());
    expected.push_back("ADDED " + name + "=1");
    std::this_thread::sleep_for(150ms);  // spread over several watch timeouts
  }
  ASSERT_TRUE(rec.wait_for(expected.size()));
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(rec.events(), expected);
  const WatcherStats stats = w.stats();
  EXPECT_GE(stats.watches, 3u) << "the server should have ended several watches";
  EXPECT_EQ(stats.lists, 1u) << "resumed from the last resourceVersion, never relisted";
  w.stop();
}

// Forwards to the real client, but can hold watches off: while offline, watch() fails at once and
// an open stream drops its events and ends. Lets a test change the server behind a watcher's back.
class GatedClient final : public Client {
 public:
  explicit GatedClient(Client& inner) : inner_(inner) {}
  void set_offline(bool offline) { offline_ = offline; }

  Result<Response> request(std::string_view m, std::string_view p, std::string_view b,
                           std::string_view c) override {
    return inner_.request(m, p, b, c);
  }
  Result<std::string> get(const ResourceRef& r, std::string_view ns, std::string_view n) override {
    return inner_.get(r, ns, n);
  }
  Result<std::string> list(const ResourceRef& r, std::string_view ns,
                           const ListOptions& o) override {
    return inner_.list(r, ns, o);
  }
  Result<std::string> create(const ResourceRef& r, std::string_view ns, std::string_view b,
                             const WriteOptions& o) override {
    return inner_.create(r, ns, b, o);
  }
  Result<std::string> update(const ResourceRef& r, std::string_view ns, std::string_view n,
                             std::string_view b, const WriteOptions& o) override {
    return inner_.update(r, ns, n, b, o);
  }
  Result<std::string> update_status(const ResourceRef& r, std::string_view ns, std::string_view n,
                                    std::string_view b, const WriteOptions& o) override {
    return inner_.update_status(r, ns, n, b, o);
  }
  Result<std::string> patch(const ResourceRef& r, std::string_view ns, std::string_view n,
                            std::string_view b, PatchType t, const WriteOptions& o) override {
    return inner_.patch(r, ns, n, b, t, o);
  }
  Result<std::string> patch_status(const ResourceRef& r, std::string_view ns, std::string_view n,
                                   std::string_view b, PatchType t,
                                   const WriteOptions& o) override {
    return inner_.patch_status(r, ns, n, b, t, o);
  }
  Result<std::string> remove(const ResourceRef& r, std::string_view ns, std::string_view n,
                             std::string_view b) override {
    return inner_.remove(r, ns, n, b);
  }
  Result<StreamEnd> watch(const ResourceRef& r, std::string_view ns, const WatchOptions& o,
                          const LineHandler& on_line, CancelToken& cancel) override {
    if (offline_) return make_error("offline (test gate)");
    return inner_.watch(
        r, ns, o, [&](std::string_view line) { return !offline_ && on_line(line); }, cancel);
  }

 private:
  Client& inner_;
  std::atomic<bool> offline_{false};
};

TEST_F(K8sClientE2eTest, WatcherRelistsAfterGoneAndReportsWhatChanged) {
  // A custom resource's watch cache starts when its CRD is established. Deleting the CRD
  // (which deletes its objects) and recreating it leaves a watcher with a resourceVersion older
  // than the new cache: the apiserver answers 410 Gone and the watcher must relist, then report
  // what it missed while it was away.
  ensure_crd("gadgets", "Gadget", kGadgets);
  const auto gadget = [](const std::string& name, int size) {
    return json{{"apiVersion", "e2e.vigil.dev/v1"},
                {"kind", "Gadget"},
                {"metadata", {{"name", name}}},
                {"spec", {{"size", size}}}}
        .dump();
  };
  ASSERT_TRUE(client_->create(kGadgets, *ns_, gadget("kept", 1)).ok());
  ASSERT_TRUE(client_->create(kGadgets, *ns_, gadget("vanished", 1)).ok());

  GatedClient gate(*client_);
  std::mutex mu;
  std::vector<std::string> seen;
  WatcherOptions o{.resource = kGadgets,
                   .ns = *ns_,
                   .min_watch_timeout = 1s,
                   .backoff = {.initial = 100ms, .max = 200ms}};
  Watcher w(gate, o, [&](WatchEventType type, const std::string& object) {
    const json obj = json::parse(object);
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(fmt::format("{} {} size={}", to_string(type),
                               obj["metadata"]["name"].get<std::string>(),
                               obj["spec"].value("size", 0)));
  });
  w.start();
  ASSERT_TRUE(w.wait_for_sync(10s));
  const std::string old_rv = w.resource_version();

  gate.set_offline(true);
  ASSERT_TRUE(client_->remove(custom_resource_definitions(), "", "gadgets.e2e.vigil.dev").ok());
  ASSERT_TRUE(eventually(
      [&] {
        return status_of(client_->get(custom_resource_definitions(), "",
                                      "gadgets.e2e.vigil.dev")) == kStatusNotFound;
      },
      30s));
  ensure_crd("gadgets", "Gadget", kGadgets);
  ASSERT_TRUE(client_->create(kGadgets, *ns_, gadget("kept", 2)).ok());  // same name, new object
  ASSERT_TRUE(client_->create(kGadgets, *ns_, gadget("new", 1)).ok());

  // The raw API: a watch from the old version is 410 Gone, as a status or an ERROR event.
  {
    std::string first_line;
    CancelToken cancel;
    auto end = client_->watch(
        kGadgets, *ns_, {.resource_version = old_rv, .timeout_seconds = 5},
        [&](std::string_view line) {
          first_line = std::string(line);
          return false;
        },
        cancel);
    if (end.ok()) {
      auto ev = decode_watch_event(first_line);
      ASSERT_TRUE(ev.ok()) << ev.error();
      EXPECT_TRUE(is_expired(*ev)) << first_line;
    } else {
      EXPECT_EQ(end.error_code(), kStatusGone) << end.error();
    }
  }

  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(seen.size(), 2u) << "the gate let events through";
  }
  gate.set_offline(false);
  ASSERT_TRUE(eventually([&] { return w.stats().relists >= 1; }, 15s));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(w.stats().relists, 1u);
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::string> after(seen.begin() + 2, seen.end());
  std::sort(after.begin(), after.end());
  EXPECT_EQ(after, (std::vector<std::string>{"ADDED new size=1", "DELETED vanished size=1",
                                             "MODIFIED kept size=2"}));
  EXPECT_EQ(w.snapshot().size(), 2u);
  EXPECT_FALSE(w.get(*ns_ + "/vanished").has_value());
}

TEST_F(K8sClientE2eTest, WatcherCarriesOnAcrossAnApiserverRestart) {
  const std::string dir = controlplane_dir();
  if (dir.empty() || !std::filesystem::exists(dir + "/kube-apiserver.cmd")) {
    GTEST_SKIP() << "needs a control plane directory with restart support (VIGIL_CONTROLPLANE_DIR)";
  }
  Recorder rec;
  WatcherOptions o{.resource = configmaps(),
                   .ns = *ns_,
                   .label_selector = "suite=restart",
                   .backoff = {.initial = 200ms, .max = 1s}};
  Watcher w(*client_, o, rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(10s));
  const json labels = {{"suite", "restart"}};
  ASSERT_TRUE(client_->create(configmaps(), *ns_, configmap("restart-0", "1", labels)).ok());
  ASSERT_TRUE(rec.wait_for(1));

  const std::string cmd = controlplane_script() + " restart-apiserver " + dir + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::vector<std::string> expected = {"ADDED restart-0=1"};
  for (int i = 1; i <= 4; ++i) {
    const std::string name = "restart-" + std::to_string(i);
    // The pooled connections died with the old process; curl reconnects on its own.
    ASSERT_TRUE(client_->create(configmaps(), *ns_, configmap(name, "1", labels)).ok());
    expected.push_back("ADDED " + name + "=1");
  }
  ASSERT_TRUE(rec.wait_for(expected.size(), 30s)) << rec.events().size();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rec.events(), expected) << "every object reported once, none missed";
  EXPECT_EQ(w.snapshot().size(), 5u);
  EXPECT_GE(w.stats().watches, 2u);
}

TEST_F(K8sClientE2eTest, WatchSurvivesAStalledApiserver) {
  const std::string dir = controlplane_dir();
  std::ifstream pid_file(dir + "/kube-apiserver.pid");
  pid_t pid = 0;
  if (dir.empty() || !(pid_file >> pid) || pid <= 1)
    GTEST_SKIP() << "needs the control plane directory";
  Recorder rec;
  WatcherOptions o{.resource = configmaps(), .ns = *ns_, .label_selector = "suite=stall"};
  Watcher w(*client_, o, rec.handler());
  w.start();
  ASSERT_TRUE(w.wait_for_sync(10s));
  std::this_thread::sleep_for(200ms);  // let the watch open
  {
    ASSERT_EQ(::kill(pid, SIGSTOP), 0);
    struct Continue {
      pid_t pid;
      ~Continue() { ::kill(pid, SIGCONT); }
    } resume{pid};
    std::this_thread::sleep_for(3s);
  }
  ASSERT_TRUE(
      client_->create(configmaps(), *ns_, configmap("stall-a", "1", {{"suite", "stall"}})).ok());
  ASSERT_TRUE(rec.wait_for(1));
  EXPECT_EQ(rec.events(), std::vector<std::string>{"ADDED stall-a=1"});
  EXPECT_EQ(w.stats().lists, 1u);
  EXPECT_EQ(w.stats().errors, 0u);
}

TEST_F(K8sClientE2eTest, ResponseSizeLimit) {
  ASSERT_TRUE(client_->create(configmaps(), *ns_, configmap("big", std::string(8192, 'x'))).ok());
  auto small = new_client({.max_response_bytes = 4096});
  auto r = small->get(configmaps(), *ns_, "big");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("larger than the 4096 bytes limit"), std::string::npos) << r.error();
}

struct Candidate {
  std::unique_ptr<CurlClient> client;
  std::unique_ptr<LeaderElector> elector;
  std::atomic<int> started{0};
  std::atomic<int> stopped{0};
};

std::unique_ptr<Candidate> candidate(std::unique_ptr<CurlClient> client, const std::string& ns,
                                     const std::string& lease, const std::string& id,
                                     bool release) {
  auto c = std::make_unique<Candidate>();
  c->client = std::move(client);
  LeaderElectionConfig config{.lease_namespace = ns,
                              .lease_name = lease,
                              .identity = id,
                              .lease_duration = 3s,
                              .renew_deadline = 2s,
                              .retry_period = 500ms,
                              .release_on_stop = release};
  Candidate* raw = c.get();
  auto e = LeaderElector::create(*c->client, config,
                                 {.on_started_leading = [raw] { ++raw->started; },
                                  .on_stopped_leading = [raw] { ++raw->stopped; }});
  EXPECT_TRUE(e.ok()) << e.error();
  c->elector = std::move(*e);
  return c;
}

void exactly_one_leads_then_failover(std::unique_ptr<Candidate> a, std::unique_ptr<Candidate> b,
                                     const std::string& ns, const std::string& lease,
                                     CurlClient& observer, std::chrono::milliseconds max_failover) {
  a->elector->start();
  b->elector->start();
  ASSERT_TRUE(eventually([&] { return a->elector->is_leader() || b->elector->is_leader(); }));
  for (int i = 0; i < 20; ++i) {  // two seconds of steady state: exactly one leader
    ASSERT_NE(a->elector->is_leader(), b->elector->is_leader());
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(a->started + b->started, 1);
  Candidate& leader = a->elector->is_leader() ? *a : *b;
  Candidate& follower = a->elector->is_leader() ? *b : *a;
  const json before = json::parse(observer.get(leases(), ns, lease).value());
  EXPECT_EQ(before["spec"]["holderIdentity"], leader.elector->identity());
  EXPECT_EQ(before["spec"]["leaseDurationSeconds"], 3);

  const auto stopped_at = std::chrono::steady_clock::now();
  leader.elector->stop();
  EXPECT_EQ(leader.stopped, 1);
  ASSERT_TRUE(eventually([&] { return follower.elector->is_leader(); }, 10s));
  const auto failover = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_LT(failover, max_failover);
  const json after = json::parse(observer.get(leases(), ns, lease).value());
  EXPECT_EQ(after["spec"]["holderIdentity"], follower.elector->identity());
  EXPECT_EQ(after["spec"]["leaseTransitions"], before["spec"]["leaseTransitions"].get<int>() + 1);
  follower.elector->stop();
  std::cout << "failover took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(failover).count() << " ms\n";
}

TEST_F(K8sClientE2eTest, LeaderElectionReleaseOnStop) {
  const std::string lease = "vigil-e2e-release";
  auto fast = CurlClientOptions{.request_timeout = 1500ms};
  exactly_one_leads_then_failover(candidate(new_client(fast), *ns_, lease, "a", true),
                                  candidate(new_client(fast), *ns_, lease, "b", true), *ns_, lease,
                                  *client_, 1500ms);
}

TEST_F(K8sClientE2eTest, LeaderElectionTakeoverAfterExpiry) {
  // Without release (as if the leader's process died) the other waits out the lease.
  const std::string lease = "vigil-e2e-expiry";
  auto fast = CurlClientOptions{.request_timeout = 1500ms};
  exactly_one_leads_then_failover(candidate(new_client(fast), *ns_, lease, "a", false),
                                  candidate(new_client(fast), *ns_, lease, "b", false), *ns_, lease,
                                  *client_, 3s + 1500ms);
}

TEST_F(K8sClientE2eTest, RecordsEvents) {
  auto cm = parse(client_->create(configmaps(), *ns_, configmap("evented", "1")));
  ObjectReference ref{"v1",      "ConfigMap",           *ns_,
                      "evented", cm["metadata"]["uid"], cm["metadata"]["resourceVersion"]};
  record_event(*client_, ref, EventType::kNormal, "Compiled", "Compiled ConfigMap evented",
               "vigil-e2e");
  const auto about = [](const json& list, const char* ref_field) {
    std::vector<json> out;
    for (const auto& e : list["items"]) {
      if (e[ref_field]["name"] == "evented") out.push_back(e);
    }
    return out;
  };
  auto list = about(parse(client_->list(events(), *ns_)), "regarding");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["note"], "Compiled ConfigMap evented");
  EXPECT_EQ(list[0]["reason"], "Compiled");
  EXPECT_EQ(list[0]["regarding"]["uid"], cm["metadata"]["uid"]);
  // The same Event through the core API, which kubectl describe reads.
  auto core = about(parse(client_->list(core_events(), *ns_)), "involvedObject");
  ASSERT_EQ(core.size(), 1u);
  EXPECT_EQ(core[0]["message"], "Compiled ConfigMap evented");
}

}  // namespace
}  // namespace vigil::k8s
