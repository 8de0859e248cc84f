// vigilctl sink test, offline (--file): the real vigilctl binary sends its test alert to real
// HTTP servers on loopback, which record what arrived. The cluster mode is covered by
// test/e2e/sink_e2e_test.sh.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/http/server.h"
#include "test/cli/cli_runner.h"

namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

using vigil::test::CliResult;
using vigil::test::run_cli;

namespace http = vigil::http;

// A destination on loopback that records every request and answers with `status`.
class Recorder {
 public:
  explicit Recorder(const std::vector<std::string>& paths, int status = 200,
                    std::chrono::milliseconds delay = {}) {
    std::vector<std::pair<std::string, std::pair<std::string, http::Handler>>> routes;
    auto handler = [this, status, delay](const http::Request& r) {
      if (delay.count()) std::this_thread::sleep_for(delay);
      std::lock_guard lock(mu_);
      requests_.push_back(r);
      http::Response resp;
      resp.status = status;
      resp.body = status == 200 ? "ok" : "internal trouble";
      return resp;
    };
    for (const auto& p : paths) {
      routes.push_back(http::route("POST", p, handler));
      routes.push_back(http::route("PUT", p, handler));
    }
    auto s = http::HttpServer::start({}, routes);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    if (s.ok()) server_ = std::move(s).value();
  }
  ~Recorder() {
    if (server_) server_->stop();
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::vector<http::Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  std::unique_ptr<http::HttpServer> server_;
  std::mutex mu_;  // guards requests_
  std::vector<http::Request> requests_;
};

class SinkCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil_sink_cmd_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }

  std::filesystem::path dir_;
};

std::string webhook_sink(const std::string& url, const std::string& extra = "") {
  return "apiVersion: vigil.dev/v1alpha1\n"
         "kind: AlertSink\n"
         "metadata:\n"
         "  name: hook\n"
         "  namespace: vigil-system\n"
         "spec:\n"
         "  type: webhook\n"
         "  webhook:\n"
         "    url: " +
         url +
         "\n"
         "    headers:\n"
         "    - name: X-Vigil-Cluster\n"
         "      value: demo\n"
         "    headersSecretRef:\n"
         "      name: hook-auth\n"
         "    timeoutSeconds: 5\n" +
         extra +
         "  filter:\n"
         "    minimumPriority: Critical\n";  // ignored by the test alert
}

constexpr const char* kHookAuth =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hook-auth\n  namespace: vigil-system\n"
    "stringData:\n  Authorization: Bearer s3cr3t-token\n";

std::string slack_sink() {
  return "apiVersion: vigil.dev/v1alpha1\nkind: AlertSink\nmetadata:\n  name: slack-security\n"
         "  namespace: vigil-system\nspec:\n  type: slack\n  slack:\n    webhookSecretRef:\n"
         "      name: slack-webhook\n      key: url\n    channel: \"#security-alerts\"\n"
         "    username: Vigil\n";
}

// The Secret as `kubectl get -o yaml` shows it: base64 data.
std::string slack_secret(const std::string& url) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  size_t i = 0;
  for (; i + 2 < url.size(); i += 3) {
    const uint32_t v = (uint8_t(url[i]) << 16) | (uint8_t(url[i + 1]) << 8) | uint8_t(url[i + 2]);
    for (int s = 18; s >= 0; s -= 6) b64 += kAlphabet[(v >> s) & 63];
  }
  if (i < url.size()) {
    uint32_t v = uint8_t(url[i]) << 16;
    if (i + 1 < url.size()) v |= uint8_t(url[i + 1]) << 8;
    b64 += kAlphabet[(v >> 18) & 63];
    b64 += kAlphabet[(v >> 12) & 63];
    b64 += i + 1 < url.size() ? kAlphabet[(v >> 6) & 63] : '=';
    b64 += '=';
  }
  return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: slack-webhook\n"
         "  namespace: vigil-system\ntype: Opaque\ndata:\n  url: " +
         b64 + "\n";
}

// Checks the Falco-format test alert.
void expect_test_alert(const nlohmann::json& a, const std::string& priority = "Debug") {
  EXPECT_EQ(a.value("rule", ""), "Vigil test alert") << a;
  EXPECT_EQ(a.value("priority", ""), priority) << a;
  EXPECT_EQ(a.value("source", ""), "internal") << a;
  EXPECT_FALSE(a.value("hostname", "").empty()) << a;
  EXPECT_THAT(a.value("output", ""), HasSubstr("This is a test from vigilctl")) << a;
  EXPECT_FALSE(a.value("time", "").empty()) << a;
  ASSERT_TRUE(a.contains("output_fields")) << a;
  EXPECT_EQ(a["output_fields"].value("proc.name", ""), "vigilctl") << a;
  EXPECT_EQ(a["tags"], nlohmann::json::array({"test"})) << a;
}

TEST_F(SinkCommandTest, UsageErrorsExitTwo) {
  for (const char* args :
       {"sink", "sink frobnicate", "sink test", "sink test a b", "sink test x --priority Loud",
        "sink test x --timeout 0", "sink test x --timeout abc", "sink test x --bogus",
        "sink test x --secrets s.yaml", "sink test --file f.yaml --kubeconfig k", "sink list x",
        "sink list -A -n ns", "sink test x -n", "sink list --dry-run"}) {
    CliResult r = run_cli(args);
    EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
    EXPECT_THAT(r.out, HasSubstr("Usage:")) << args;
  }
}

TEST_F(SinkCommandTest, HelpDescribesTheCommand) {
  CliResult top = run_cli("--help");
  EXPECT_EQ(top.status, 0);
  EXPECT_THAT(top.out, HasSubstr("vigilctl sink test NAME"));
  EXPECT_THAT(top.out, HasSubstr("vigilctl sink list"));
  CliResult sink = run_cli("sink --help");
  EXPECT_EQ(sink.status, 0);
  EXPECT_THAT(sink.out, HasSubstr("--dry-run"));
  EXPECT_THAT(sink.out, HasSubstr("--file SINK.yaml"));
  EXPECT_EQ(run_cli("sink test --help").status, 0);
}

TEST_F(SinkCommandTest, DryRunPrintsTheRequestWithoutSendingOrRevealingSecrets) {
  Recorder rec({"/alerts"});
  const std::string sink = write("sink.yaml", webhook_sink(rec.base() + "/alerts?token=q1"));
  const std::string secret = write("secret.yaml", kHookAuth);
  CliResult r = run_cli("sink test hook --file " + sink + " --secrets " + secret + " --dry-run");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("would send a test alert to AlertSink vigil-system/hook (webhook)"));
  EXPECT_THAT(r.out, HasSubstr("POST " + rec.base() + "/…\n"));
  EXPECT_THAT(r.out, HasSubstr("headers: Content-Type, X-Vigil-Cluster, Authorization"));
  EXPECT_THAT(r.out, HasSubstr("timeout: 5000 ms"));
  EXPECT_THAT(r.out, HasSubstr("\"rule\":\"Vigil test alert\""));
  EXPECT_THAT(r.out, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(r.out, Not(HasSubstr("token=q1")));
  EXPECT_TRUE(rec.requests().empty());
}

TEST_F(SinkCommandTest, WebhookFalcoFormatReceivesOneTestAlert) {
  Recorder rec({"/alerts"});
  // The Secret and the sink in one file, the Secret first.
  const std::string file =
      write("all.yaml", std::string(kHookAuth) + "---\n" + webhook_sink(rec.base() + "/alerts"));
  CliResult r = run_cli("sink test hook --file " + file);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, MatchesRegex("sent a test alert to AlertSink vigil-system/hook \\(webhook\\): "
                                  "HTTP 200 in [0-9]+ ms\n"));
  auto reqs = rec.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/alerts");
  EXPECT_EQ(reqs[0].header("Content-Type"), "application/json");
  EXPECT_EQ(reqs[0].header("X-Vigil-Cluster"), "demo");
  EXPECT_EQ(reqs[0].header("Authorization"), "Bearer s3cr3t-token");
  auto body = nlohmann::json::parse(reqs[0].body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << reqs[0].body;
  expect_test_alert(body);
}

TEST_F(SinkCommandTest, WebhookBatchFormatWithPutAndPriority) {
  Recorder rec({"/batch"});
  const std::string sink = write(
      "sink.yaml", webhook_sink(rec.base() + "/batch", "    format: batch\n    method: PUT\n"));
  const std::string secret = write("secret.yaml", kHookAuth);
  // NAME may be left out when the file holds one AlertSink.
  CliResult r =
      run_cli("sink test --file " + sink + " --secrets " + secret + " --priority critical");
  EXPECT_EQ(r.status, 0) << r.out;
  auto reqs = rec.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "PUT");
  auto body = nlohmann::json::parse(reqs[0].body, nullptr, false);
  ASSERT_TRUE(body.is_array()) << reqs[0].body;
  ASSERT_EQ(body.size(), 1u);
  expect_test_alert(body[0], "Critical");
}

TEST_F(SinkCommandTest, SlackReceivesAMessageAtTheUrlFromTheSecret) {
  Recorder rec({"/services/T0/B0/XYZSECRET"});
  const std::string sink = write("sink.yaml", slack_sink());
  const std::string secret =
      write("secret.yaml", slack_secret(rec.base() + "/services/T0/B0/XYZSECRET"));
  CliResult r = run_cli("sink test slack-security --file " + sink + " --secrets " + secret);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, StartsWith("sent a test alert to AlertSink vigil-system/slack-security "
                                "(slack): HTTP 200 in "));
  EXPECT_THAT(r.out, Not(HasSubstr("XYZSECRET")));
  auto reqs = rec.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_THAT(reqs[0].header("Content-Type"), StartsWith("application/json"));
  auto body = nlohmann::json::parse(reqs[0].body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << reqs[0].body;
  EXPECT_EQ(body.value("channel", ""), "#security-alerts");
  EXPECT_EQ(body.value("username", ""), "Vigil");
  ASSERT_TRUE(body.contains("attachments") && body["attachments"].is_array() &&
              !body["attachments"].empty())
      << body;
  const auto& att = body["attachments"][0];
  EXPECT_FALSE(att.value("color", "").empty()) << att;
  EXPECT_THAT(att.dump(), HasSubstr("This is a test from vigilctl"));
  EXPECT_THAT(att.dump(), HasSubstr("Vigil test alert"));
}

TEST_F(SinkCommandTest, FalcosidekickReceivesFalcoJsonAtItsRoot) {
  Recorder rec({"/"});
  const std::string sink =
      write("sink.yaml",
            "apiVersion: vigil.dev/v1alpha1\nkind: AlertSink\nmetadata:\n  name: sidekick\n"
            "spec:\n  type: falcosidekick\n  falcosidekick:\n    url: " +
                rec.base() + "/\n");
  CliResult r = run_cli("sink test sidekick --file " + sink + " -n team-a");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("AlertSink team-a/sidekick (falcosidekick): HTTP 200"));
  auto reqs = rec.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/");
  auto body = nlohmann::json::parse(reqs[0].body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << reqs[0].body;
  expect_test_alert(body);
}

TEST_F(SinkCommandTest, AlertmanagerReceivesAV2Alert) {
  Recorder rec({"/api/v2/alerts"});
  // A kind: List, as kubectl get -o yaml prints several objects.
  const std::string sink = write(
      "sink.yaml",
      "apiVersion: v1\nkind: List\nitems:\n- apiVersion: vigil.dev/v1alpha1\n  kind: AlertSink\n"
      "  metadata:\n    name: am\n    namespace: vigil-system\n  spec:\n    type: alertmanager\n"
      "    alertmanager:\n      url: " +
          rec.base() + "\n      labels:\n      - name: cluster\n        value: demo\n");
  CliResult r = run_cli("sink test am --file " + sink);
  EXPECT_EQ(r.status, 0) << r.out;
  auto reqs = rec.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/api/v2/alerts");
  auto body = nlohmann::json::parse(reqs[0].body, nullptr, false);
  ASSERT_TRUE(body.is_array() && body.size() == 1) << reqs[0].body;
  const auto& a = body[0];
  ASSERT_TRUE(a.contains("labels") && a["labels"].is_object()) << a;
  EXPECT_EQ(a["labels"].value("rule", ""), "Vigil test alert") << a;
  EXPECT_EQ(a["labels"].value("cluster", ""), "demo") << a;
  EXPECT_FALSE(a["labels"].value("severity", "").empty()) << a;
  ASSERT_TRUE(a.contains("annotations")) << a;
  EXPECT_THAT(a["annotations"].dump(), HasSubstr("This is a test from vigilctl"));
  EXPECT_TRUE(a.contains("startsAt")) << a;
}

TEST_F(SinkCommandTest, ServerErrorExitsOneWithTheStatusAndNoSecret) {
  Recorder rec({"/services/T0/B0/XYZSECRET"}, 500);
  const std::string sink = write("sink.yaml", slack_sink());
  const std::string secret =
      write("secret.yaml", slack_secret(rec.base() + "/services/T0/B0/XYZSECRET"));
  CliResult r = run_cli("sink test slack-security --file " + sink + " --secrets " + secret);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("failed to send a test alert to AlertSink "
                               "vigil-system/slack-security (slack): POST " +
                               rec.base() + "/…: HTTP 500"));
  EXPECT_THAT(r.out, Not(HasSubstr("XYZSECRET")));
  EXPECT_EQ(rec.requests().size(), 1u);  // one attempt: no retries
}

TEST_F(SinkCommandTest, UnreachableDestinationExitsOne) {
  // The samples as shipped: the Secret's placeholder URL is the discard port on loopback.
  const std::string samples = std::string(VIGIL_SOURCE_DIR) + "/config/samples/";
  CliResult r = run_cli("sink test slack-security --file " + samples +
                        "vigil.dev_v1alpha1_alertsink_slack.yaml --secrets " + samples +
                        "slack-webhook-secret.yaml --timeout 5");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("failed to send a test alert to AlertSink "
                               "vigil-system/slack-security (slack): POST http://127.0.0.1:9/…"));
  EXPECT_THAT(r.out, Not(HasSubstr("PLACEHOLDER")));
}

TEST_F(SinkCommandTest, TimeoutFlagBoundsTheRequest) {
  Recorder rec({"/slow"}, 200, std::chrono::milliseconds(3000));
  const std::string sink =
      write("sink.yaml",
            "apiVersion: vigil.dev/v1alpha1\nkind: AlertSink\nmetadata:\n  name: slow\n"
            "spec:\n  type: webhook\n  webhook:\n    url: " +
                rec.base() + "/slow\n");
  const auto start = std::chrono::steady_clock::now();
  CliResult r = run_cli("sink test --file " + sink + " --timeout 1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2800));
  EXPECT_THAT(r.out, HasSubstr("failed to send a test alert"));
}

TEST_F(SinkCommandTest, MissingSecretNamesTheSecretAndKey) {
  const std::string sink = write("sink.yaml", slack_sink());
  CliResult r = run_cli("sink test slack-security --file " + sink);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("spec.slack.webhookSecretRef: Secret vigil-system/slack-webhook "
                               "not found (wanted for key 'url')"));

  // The Secret exists but lacks the key.
  const std::string secret =
      write("secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: slack-webhook\n"
            "stringData:\n  webhook: http://127.0.0.1:9/x\n");
  r = run_cli("sink test slack-security --file " + sink + " --secrets " + secret);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Secret vigil-system/slack-webhook has no key 'url'"));
  EXPECT_THAT(r.out, Not(HasSubstr("127.0.0.1:9")));
}

TEST_F(SinkCommandTest, InvalidOrMissingSinkExitsOne) {
  const std::string bad =
      write("bad.yaml",
            "apiVersion: vigil.dev/v1alpha1\nkind: AlertSink\nmetadata:\n  name: bad\n"
            "spec:\n  type: webhook\n  webhook:\n    url: ftp://example.com/\n");
  CliResult r = run_cli("sink test bad --file " + bad);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("spec.webhook.url"));

  r = run_cli("sink test other --file " + bad);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("no AlertSink named other in " + bad));

  const std::string broken = write("broken.yaml", "kind: AlertSink\nmetadata: [unclosed\n");
  r = run_cli("sink test x --file " + broken);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr(broken + ", document 1: invalid YAML"));

  r = run_cli("sink test x --file " + (dir_ / "absent.yaml").string());
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("cannot read the file"));
}

TEST_F(SinkCommandTest, StdoutSinkWritesTheAlertHere) {
  const std::string sink =
      write("sink.yaml",
            "apiVersion: vigil.dev/v1alpha1\nkind: AlertSink\nmetadata:\n  name: out\n"
            "  namespace: vigil-system\nspec:\n  type: stdout\n  stdout:\n    format: text\n");
  CliResult r = run_cli("sink test out --file " + sink);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr(": Debug This is a test from vigilctl"));
  EXPECT_THAT(r.out, HasSubstr("wrote a test alert for AlertSink vigil-system/out (stdout) to "
                               "standard output on this machine"));
}

}  // namespace
