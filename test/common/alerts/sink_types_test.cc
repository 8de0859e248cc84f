// The HTTP sink types: the exact requests each encoder builds (bodies compared as parsed JSON),
// Slack's and Alertmanager's documented payload shapes, headers from the spec and from Secrets,
// TLS material, and errors that name the field but never a Secret's value.

#include "common/alerts/sink_types.h"

#include <regex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/alerts/sink.h"

namespace vigil::alerts {
namespace {

namespace v1 = api::v1alpha1;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSecretToken = "Bearer s3cr3t-token-42";
constexpr const char* kSlackUrl = "https://hooks.slack.com/services/T000/B000/s3cr3tXXXX";

Alert shell_alert() {
  Alert a;
  a.time_ns = 1764214316746609046;  // 2025-11-27T03:31:56.746609046Z
  a.rule = "Terminal shell in container";
  a.priority = rules::Priority::kWarning;
  a.source = "syscall";
  a.hostname = "node-1";
  a.message = "A shell was spawned (user=root pod=web-7d9c cmd=bash -i)";
  a.output_fields = {
      {"user.name", std::string("root")},
      {"k8s.pod.name", std::string("web-7d9c")},
      {"proc.cmdline", std::string("bash -i")},
      {"user.uid", int64_t{0}},
      {"fd.name", std::monostate{}},
  };
  a.tags = {"shell", "container", "mitre_execution"};
  a.event_namespace = "shop";
  a.event_pod = "web-7d9c";
  return a;
}

Alert numbered_alert(int i) {
  Alert a = shell_alert();
  a.rule = "rule-" + std::to_string(i);
  a.time_ns += i * 1000000000LL;
  return a;
}

Credentials all_credentials() {
  return {
      {"webhook-auth/Authorization", std::string(kSecretToken) + "\n"},
      {"webhook-auth/X-Api-Key", "k3y-s3cr3t"},
      {"ca-bundle/ca.crt", "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"},
      {"client-tls/tls.crt", "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n"},
      {"client-tls/tls.key",
       "-----BEGIN PRIVATE KEY-----\nKEY-s3cr3t\n-----END PRIVATE KEY-----\n"},
      {"slack-webhook/url", std::string(kSlackUrl) + "\n"},
      {"other/unrelated", "not-a-header-value"},
  };
}

// Every Secret value, for "never in an error message" checks (first line of each is enough).
std::vector<std::string> secret_values() {
  std::vector<std::string> out;
  for (const auto& [k, v] : all_credentials()) out.push_back(v.substr(0, v.find('\n')));
  out.push_back("KEY-s3cr3t");
  return out;
}

v1::HttpEndpoint endpoint(std::string url) {
  v1::HttpEndpoint e;
  e.url = std::move(url);
  return e;
}

v1::AlertSinkSpec webhook_spec() {
  v1::AlertSinkSpec spec;
  spec.type = v1::SinkType::kWebhook;
  v1::WebhookSink w;
  w.endpoint = endpoint("https://hooks.example.com/vigil");
  w.endpoint.headers = {{"X-Cluster", "prod"}};
  w.endpoint.headers_secret_ref = v1::SecretRef{"webhook-auth"};
  w.endpoint.tls.ca_secret_ref = v1::SecretKeyRef{"ca-bundle", "ca.crt"};
  w.endpoint.tls.client_cert_secret_ref = v1::SecretRef{"client-tls"};
  w.endpoint.timeout_seconds = 7;
  spec.webhook = w;
  return spec;
}

v1::AlertSinkSpec slack_spec() {
  v1::AlertSinkSpec spec;
  spec.type = v1::SinkType::kSlack;
  v1::SlackSink s;
  s.webhook_secret_ref = {"slack-webhook", "url"};
  spec.slack = s;
  return spec;
}

v1::AlertSinkSpec alertmanager_spec(std::string url) {
  v1::AlertSinkSpec spec;
  spec.type = v1::SinkType::kAlertmanager;
  v1::AlertmanagerSink am;
  am.endpoint = endpoint(std::move(url));
  am.labels = {{"cluster", "prod"}, {"alertname", "spoofed"}};
  am.resolve_after_seconds = 600;
  spec.alertmanager = am;
  return spec;
}

SinkTarget build(const v1::AlertSinkSpec& spec, const Credentials& creds = all_credentials()) {
  auto t = make_sink_target("security", "sink", 3, spec, creds);
  EXPECT_TRUE(t.ok()) << t.error();
  return t.ok() ? std::move(t).value() : SinkTarget{};
}

std::string build_error(const v1::AlertSinkSpec& spec,
                        const Credentials& creds = all_credentials()) {
  auto t = make_sink_target("security", "sink", 3, spec, creds);
  EXPECT_FALSE(t.ok());
  if (t.ok()) return "";
  for (const auto& s : secret_values()) EXPECT_THAT(t.error(), Not(HasSubstr(s))) << t.error();
  return t.error();
}

HttpRequest encode(const SinkTarget& t, const std::vector<Alert>& alerts) {
  EXPECT_NE(t.encoder, nullptr);
  return t.encoder->encode(alerts);
}

// ---------------------------------------------------------------------------------------------
// webhook

TEST(SinkTypesTest, WebhookFalcoFormatIsFalcosJsonWithHeadersAndTls) {
  auto spec = webhook_spec();
  spec.webhook->method = v1::HttpMethod::kPut;
  spec.filter.minimum_priority = rules::Priority::kError;
  spec.delivery.retries = 9;
  SinkTarget t = build(spec);
  EXPECT_EQ(t.ns, "security");
  EXPECT_EQ(t.name, "sink");
  EXPECT_EQ(t.generation, 3);
  EXPECT_EQ(t.type, v1::SinkType::kWebhook);
  EXPECT_EQ(t.filter, spec.filter);
  EXPECT_EQ(t.delivery.retries, 9);
  EXPECT_EQ(t.local, nullptr);
  ASSERT_NE(t.encoder, nullptr);
  EXPECT_EQ(t.encoder->max_batch(), 1u);
  EXPECT_EQ(t.timeout, std::chrono::seconds(7));
  EXPECT_EQ(t.tls.ca_pem, all_credentials().at("ca-bundle/ca.crt"));
  EXPECT_EQ(t.tls.client_cert_pem, all_credentials().at("client-tls/tls.crt"));
  EXPECT_EQ(t.tls.client_key_pem, all_credentials().at("client-tls/tls.key"));
  EXPECT_FALSE(t.tls.insecure_skip_verify);

  const Alert a = shell_alert();
  HttpRequest r = encode(t, {a});
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.url, "https://hooks.example.com/vigil");
  // Content-Type, the spec's headers, then the Secret's keys in order (values trimmed).
  EXPECT_EQ(r.headers, (Headers{{"Content-Type", "application/json"},
                                {"X-Cluster", "prod"},
                                {"Authorization", kSecretToken},
                                {"X-Api-Key", "k3y-s3cr3t"}}));
  EXPECT_EQ(r.body, to_falco_json(a));
  const auto want = Json::parse(R"json({
    "hostname": "node-1",
    "output": "03:31:56.746609046: Warning A shell was spawned (user=root pod=web-7d9c cmd=bash -i)",
    "output_fields": {"user.name": "root", "k8s.pod.name": "web-7d9c", "proc.cmdline": "bash -i",
                      "user.uid": 0, "fd.name": null},
    "priority": "Warning",
    "rule": "Terminal shell in container",
    "source": "syscall",
    "tags": ["shell", "container", "mitre_execution"],
    "time": "2025-11-27T03:31:56.746609046Z"
})json");
  EXPECT_EQ(Json::parse(r.body), want);
}

TEST(SinkTypesTest, WebhookBatchFormatIsAnArrayOfFalcoAlerts) {
  auto spec = webhook_spec();
  spec.webhook->format = v1::WebhookFormat::kBatch;
  spec.webhook->endpoint.tls = {};
  spec.webhook->endpoint.tls.insecure_skip_verify = true;
  SinkTarget t = build(spec);
  EXPECT_EQ(t.encoder->max_batch(), kWebhookMaxBatch);
  EXPECT_TRUE(t.tls.insecure_skip_verify);
  EXPECT_EQ(t.tls.ca_pem, "");
  std::vector<Alert> alerts = {numbered_alert(1), numbered_alert(2), numbered_alert(3)};
  HttpRequest r = encode(t, alerts);
  EXPECT_EQ(r.method, "POST");
  Json body = Json::parse(r.body);
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(body[i], Json::parse(to_falco_json(alerts[i])));

  std::vector<Alert> full(kWebhookMaxBatch, shell_alert());
  EXPECT_EQ(Json::parse(encode(t, full).body).size(), kWebhookMaxBatch);
}

TEST(SinkTypesTest, UserContentTypeReplacesTheDefault) {
  auto spec = webhook_spec();
  spec.webhook->endpoint.headers = {{"content-type", "application/vnd.falco+json"}};
  HttpRequest r = encode(build(spec), {shell_alert()});
  EXPECT_EQ(r.headers.front(),
            (std::pair<std::string, std::string>{"content-type", "application/vnd.falco+json"}));
  EXPECT_EQ(r.headers.size(), 3u);
}

TEST(SinkTypesTest, MissingOrBadCredentialsAreErrorsThatNameTheFieldNotTheValue) {
  Credentials creds = all_credentials();
  creds.erase("ca-bundle/ca.crt");
  EXPECT_EQ(build_error(webhook_spec(), creds),
            "spec.webhook.tls.caSecretRef: Secret ca-bundle has no key 'ca.crt'");

  creds = all_credentials();
  creds.erase("client-tls/tls.key");
  EXPECT_EQ(build_error(webhook_spec(), creds),
            "spec.webhook.tls.clientCertSecretRef: Secret client-tls has no key 'tls.key'");

  creds = all_credentials();
  creds.erase("webhook-auth/Authorization");
  creds.erase("webhook-auth/X-Api-Key");
  EXPECT_THAT(build_error(webhook_spec(), creds),
              HasSubstr("spec.webhook.headersSecretRef: Secret webhook-auth has no keys"));

  creds = all_credentials();
  creds["webhook-auth/X-Injected"] = "a\r\nHost: evil.example.com s3cr3t-token-42";
  EXPECT_EQ(build_error(webhook_spec(), creds),
            "spec.webhook.headersSecretRef: Secret webhook-auth key 'X-Injected' holds a value "
            "with line breaks");

  creds = all_credentials();
  creds["webhook-auth/Bad Header"] = kSecretToken;
  EXPECT_THAT(build_error(webhook_spec(), creds), HasSubstr("'Bad Header' is not a valid header"));

  auto spec = webhook_spec();
  spec.webhook->endpoint.headers = {{"X-Ok", "a\nb"}};
  EXPECT_EQ(build_error(spec), "spec.webhook.headers[0].value: must not contain line breaks");

  spec = webhook_spec();
  spec.webhook->endpoint.url = "ftp://example.com/";
  EXPECT_EQ(build_error(spec), "spec.webhook.url: must be an http:// or https:// URL");

  spec = slack_spec();
  EXPECT_EQ(build_error(spec, {}),
            "spec.slack.webhookSecretRef: Secret slack-webhook has no key 'url'");
  EXPECT_EQ(build_error(spec, {{"slack-webhook/url", "s3cr3t-not-a-url"}}),
            "spec.slack.webhookSecretRef: Secret slack-webhook key 'url' does not hold an "
            "http:// or https:// URL");

  v1::AlertSinkSpec no_block;
  no_block.type = v1::SinkType::kFalcosidekick;
  EXPECT_EQ(build_error(no_block), "spec.falcosidekick: required when type is falcosidekick");
}

// ---------------------------------------------------------------------------------------------
// Slack

// The shape of an incoming-webhook message with legacy attachments, as Slack documents it (and
// Falcosidekick sends it): keys present with the right JSON types.
void expect_slack_shape(const Json& msg) {
  ASSERT_TRUE(msg.is_object());
  ASSERT_TRUE(msg.contains("text") && msg["text"].is_string());
  ASSERT_TRUE(msg.contains("attachments") && msg["attachments"].is_array());
  ASSERT_EQ(msg["attachments"].size(), 1u);
  for (const char* k : {"channel", "username", "icon_emoji"}) {
    if (msg.contains(k)) {
      EXPECT_TRUE(msg[k].is_string()) << k;
    }
  }
  const Json& at = msg["attachments"][0];
  EXPECT_TRUE(at.contains("fallback") && at["fallback"].is_string());
  EXPECT_TRUE(at.contains("color") && at["color"].is_string());
  EXPECT_TRUE(std::regex_match(at["color"].get<std::string>(), std::regex("#[0-9a-f]{6}")));
  EXPECT_TRUE(at.contains("footer") && at["footer"].is_string());
  EXPECT_TRUE(at.contains("ts") && at["ts"].is_number_integer());
  ASSERT_TRUE(at.contains("fields") && at["fields"].is_array());
  for (const Json& f : at["fields"]) {
    EXPECT_TRUE(f.contains("title") && f["title"].is_string());
    EXPECT_TRUE(f.contains("value") && f["value"].is_string());
    EXPECT_TRUE(f.contains("short") && f["short"].is_boolean());
    EXPECT_EQ(f.size(), 3u);
  }
}

TEST(SinkTypesTest, SlackMessageLikeFalcosidekicks) {
  SinkTarget t = build(slack_spec());
  EXPECT_EQ(t.encoder->max_batch(), 1u);
  EXPECT_EQ(t.timeout, std::chrono::seconds(10));
  HttpRequest r = encode(t, {shell_alert()});
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, kSlackUrl);  // trimmed
  EXPECT_EQ(r.headers, (Headers{{"Content-Type", "application/json"}}));
  const Json msg = Json::parse(r.body);
  expect_slack_shape(msg);
  const auto want = Json::parse(R"json({
    "text": "03:31:56.746609046: Warning A shell was spawned (user=root pod=web-7d9c cmd=bash -i)",
    "attachments": [{
      "fallback": "03:31:56.746609046: Warning A shell was spawned (user=root pod=web-7d9c cmd=bash -i)",
      "color": "#ffc700",
      "fields": [
        {"title": "rule", "value": "Terminal shell in container", "short": true},
        {"title": "priority", "value": "Warning", "short": true},
        {"title": "source", "value": "syscall", "short": true},
        {"title": "hostname", "value": "node-1", "short": true},
        {"title": "tags", "value": "container, mitre_execution, shell", "short": true},
        {"title": "fd.name", "value": "&lt;NA&gt;", "short": true},
        {"title": "k8s.pod.name", "value": "web-7d9c", "short": true},
        {"title": "proc.cmdline", "value": "bash -i", "short": true},
        {"title": "user.name", "value": "root", "short": true},
        {"title": "user.uid", "value": "0", "short": true},
        {"title": "time", "value": "2025-11-27T03:31:56.746609046Z", "short": false}
      ],
      "footer": "Vigil",
      "ts": 1764214316
    }]
})json");
  EXPECT_EQ(msg, want);
  // Never the webhook URL in the body.
  EXPECT_THAT(r.body, Not(HasSubstr("s3cr3t")));
}

TEST(SinkTypesTest, SlackChannelUsernameIconAndEscaping) {
  auto spec = slack_spec();
  spec.slack->channel = "#security";
  spec.slack->username = "vigil";
  spec.slack->icon_emoji = ":rotating_light:";
  Alert a = shell_alert();
  a.priority = rules::Priority::kCritical;
  a.message = "cmd=cat </etc/shadow && x";
  a.output_fields = {{"proc.cmdline", std::string(40, 'x')}};
  a.hostname.clear();
  a.tags.clear();
  const Json msg = Json::parse(encode(build(spec), {a}).body);
  expect_slack_shape(msg);
  EXPECT_EQ(msg["channel"], "#security");
  EXPECT_EQ(msg["username"], "vigil");
  EXPECT_EQ(msg["icon_emoji"], ":rotating_light:");
  EXPECT_EQ(msg["text"], "03:31:56.746609046: Critical cmd=cat &lt;/etc/shadow &amp;&amp; x");
  const Json& at = msg["attachments"][0];
  EXPECT_EQ(at["color"], "#ff5400");
  // No hostname, no tags: those fields are left out; a long value is not short.
  std::vector<std::string> titles;
  for (const Json& f : at["fields"]) titles.push_back(f["title"]);
  EXPECT_EQ(titles,
            (std::vector<std::string>{"rule", "priority", "source", "proc.cmdline", "time"}));
  EXPECT_EQ(at["fields"][3]["short"], false);
}

TEST(SinkTypesTest, SlackColoursByPriority) {
  using P = rules::Priority;
  const std::vector<std::pair<P, std::string>> want = {
      {P::kEmergency, "#e20b0b"},     {P::kAlert, "#ff5400"},   {P::kCritical, "#ff5400"},
      {P::kError, "#e20b0b"},         {P::kWarning, "#ffc700"}, {P::kNotice, "#5bffb5"},
      {P::kInformational, "#68c2ff"}, {P::kDebug, "#ccfff2"},
  };
  SinkTarget t = build(slack_spec());
  for (const auto& [p, colour] : want) {
    EXPECT_EQ(slack_color(p), colour) << rules::priority_name(p);
    Alert a = shell_alert();
    a.priority = p;
    EXPECT_EQ(Json::parse(encode(t, {a}).body)["attachments"][0]["color"], colour);
  }
}

TEST(SinkTypesTest, SlackTemplateRendersPlaceholders) {
  auto tmpl = SlackTemplate::parse(
      "{{priority}} {rule} in {namespace}/{pod} on {{ hostname }} ({source}, {time}): "
      "{field:proc.cmdline} {field:nope} [{tags}] <https://runbook.example/shell|Runbook> "
      "{ not a placeholder } {} {\"json\": 1} {{message}}");
  ASSERT_TRUE(tmpl.ok()) << tmpl.error();
  Alert a = shell_alert();
  a.message = "a<b";
  EXPECT_EQ(
      tmpl->render(a),
      "Warning Terminal shell in container in shop/web-7d9c on node-1 (syscall, "
      "2025-11-27T03:31:56.746609046Z): bash -i &lt;NA&gt; [shell, container, mitre_execution] "
      "<https://runbook.example/shell|Runbook> { not a placeholder } {} {\"json\": 1} a&lt;b");
  auto output = SlackTemplate::parse("{output}");
  ASSERT_TRUE(output.ok());
  EXPECT_EQ(output->render(a), "03:31:56.746609046: Warning a&lt;b");

  // The rule's namespace stands in when the event has none.
  a.event_namespace.clear();
  a.rule_namespace = "team-a";
  EXPECT_EQ(SlackTemplate::parse("{namespace}")->render(a), "team-a");

  auto spec = slack_spec();
  spec.slack->template_ = ":warning: *{rule}* {field:k8s.pod.name}";
  const Json msg = Json::parse(encode(build(spec), {shell_alert()}).body);
  expect_slack_shape(msg);
  EXPECT_EQ(msg["text"], ":warning: *Terminal shell in container* web-7d9c");

  spec.slack->template_ = "{rul}";
  EXPECT_THAT(build_error(spec), HasSubstr("spec.slack.template: unknown placeholder {rul}"));
}

// ---------------------------------------------------------------------------------------------
// Falcosidekick

TEST(SinkTypesTest, FalcosidekickGetsFalcosJson) {
  v1::AlertSinkSpec spec;
  spec.type = v1::SinkType::kFalcosidekick;
  spec.falcosidekick = v1::FalcosidekickSink{endpoint("http://falcosidekick.falco.svc:2801/")};
  spec.falcosidekick->endpoint.headers_secret_ref = v1::SecretRef{"webhook-auth"};
  SinkTarget t = build(spec);
  EXPECT_EQ(t.encoder->max_batch(), 1u);
  const Alert a = shell_alert();
  HttpRequest r = encode(t, {a});
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://falcosidekick.falco.svc:2801/");
  EXPECT_EQ(r.body, to_falco_json(a));
  EXPECT_EQ(r.headers, (Headers{{"Content-Type", "application/json"},
                                {"Authorization", kSecretToken},
                                {"X-Api-Key", "k3y-s3cr3t"}}));
}

// ---------------------------------------------------------------------------------------------
// Alertmanager

// postableAlerts in Alertmanager's api/v2/openapi.yaml: an array of {labels (required, a map of
// strings), annotations (a map of strings), startsAt, endsAt (date-time), generatorURL (uri)};
// label and annotation names must be valid Prometheus label names.
void expect_alertmanager_shape(const Json& body) {
  ASSERT_TRUE(body.is_array());
  const std::regex name("[a-zA-Z_][a-zA-Z0-9_]*");
  const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)");
  for (const Json& a : body) {
    ASSERT_TRUE(a.is_object());
    for (auto it = a.begin(); it != a.end(); ++it)
      EXPECT_THAT(
          (std::vector<std::string>{"labels", "annotations", "startsAt", "endsAt", "generatorURL"}),
          ::testing::Contains(it.key()));
    ASSERT_TRUE(a.contains("labels") && a["labels"].is_object());
    EXPECT_FALSE(a["labels"].empty());
    for (const char* set : {"labels", "annotations"}) {
      if (!a.contains(set)) continue;
      for (auto it = a[set].begin(); it != a[set].end(); ++it) {
        EXPECT_TRUE(std::regex_match(it.key(), name)) << it.key();
        EXPECT_TRUE(it.value().is_string()) << it.key();
      }
    }
    for (const char* t : {"startsAt", "endsAt"}) {
      ASSERT_TRUE(a.contains(t) && a[t].is_string());
      EXPECT_TRUE(std::regex_match(a[t].get<std::string>(), time)) << a[t];
    }
  }
}

TEST(SinkTypesTest, AlertmanagerV2Alerts) {
  SinkTarget t = build(alertmanager_spec("http://alertmanager.monitoring.svc:9093"));
  EXPECT_EQ(t.encoder->max_batch(), kAlertmanagerMaxBatch);
  Alert tenant = numbered_alert(1);
  tenant.event_namespace.clear();
  tenant.event_pod.clear();
  tenant.rule_namespace = "team-a";
  tenant.priority = rules::Priority::kCritical;
  tenant.output_fields.clear();
  tenant.tags.clear();
  tenant.hostname.clear();
  HttpRequest r = encode(t, {shell_alert(), tenant});
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "http://alertmanager.monitoring.svc:9093/api/v2/alerts");
  EXPECT_EQ(r.headers, (Headers{{"Content-Type", "application/json"}}));
  const Json body = Json::parse(r.body);
  expect_alertmanager_shape(body);
  const auto want = Json::parse(R"json([
    {
      "labels": {
        "alertname": "Terminal shell in container", "rule": "Terminal shell in container",
        "priority": "Warning", "severity": "warning", "source": "syscall", "hostname": "node-1",
        "namespace": "shop", "pod": "web-7d9c", "cluster": "prod"
      },
      "annotations": {
        "summary": "A shell was spawned (user=root pod=web-7d9c cmd=bash -i)",
        "description": "03:31:56.746609046: Warning A shell was spawned (user=root pod=web-7d9c cmd=bash -i)",
        "output_fields": "{\"user.name\":\"root\",\"k8s.pod.name\":\"web-7d9c\",\"proc.cmdline\":\"bash -i\",\"user.uid\":0,\"fd.name\":null}",
        "tags": "container,mitre_execution,shell"
}
, "startsAt" : "2025-11-27T03:31:56.746609046Z", "endsAt" : "2025-11-27T03:41:56.746609046Z"
},
    {
      "labels": {
        "alertname": "rule-1", "rule": "rule-1", "priority": "Critical", "severity": "critical",
        "source": "syscall", "namespace": "team-a", "cluster": "prod"
      },
      "annotations": {
        "summary": "A shell was spawned (user=root pod=web-7d9c cmd=bash -i)",
        "description": "03:31:57.746609046: Critical A shell was spawned (user=root pod=web-7d9c cmd=bash -i)"
      },
      "startsAt": "2025-11-27T03:31:57.746609046Z",
      "endsAt": "2025-11-27T03:41:57.746609046Z"
    }
  ])json");
  EXPECT_EQ(body, want);
}

TEST(SinkTypesTest, AlertmanagerWithoutEventTimeStartsNow) {
  SinkTarget t = build(alertmanager_spec("http://am:9093"));
  Alert a = shell_alert();
  a.time_ns = 0;
  const Json body = Json::parse(encode(t, {a}).body);
  expect_alertmanager_shape(body);
  const std::string starts = body[0]["startsAt"];
  EXPECT_THAT(starts, Not(HasSubstr("1970")));
  EXPECT_LT(starts, std::string(body[0]["endsAt"]));
}

TEST(SinkTypesTest, AlertmanagerUrl) {
  EXPECT_EQ(alertmanager_alerts_url("http://am:9093"), "http://am:9093/api/v2/alerts");
  EXPECT_EQ(alertmanager_alerts_url("http://am:9093/"), "http://am:9093/api/v2/alerts");
  EXPECT_EQ(alertmanager_alerts_url("https://am.example/prefix"),
            "https://am.example/prefix/api/v2/alerts");
  EXPECT_EQ(alertmanager_alerts_url("http://am:9093/api/v2/alerts"),
            "http://am:9093/api/v2/alerts");
  EXPECT_EQ(alertmanager_alerts_url("http://am:9093/?x=1"), "http://am:9093/api/v2/alerts?x=1");
}

TEST(SinkTypesTest, AlertmanagerHeadersAndTls) {
  auto spec = alertmanager_spec("https://am:9093");
  spec.alertmanager->endpoint.headers_secret_ref = v1::SecretRef{"webhook-auth"};
  spec.alertmanager->endpoint.tls.ca_secret_ref = v1::SecretKeyRef{"ca-bundle", "ca.crt"};
  spec.alertmanager->endpoint.timeout_seconds = 30;
  SinkTarget t = build(spec);
  EXPECT_EQ(t.timeout, std::chrono::seconds(30));
  EXPECT_EQ(t.tls.ca_pem, all_credentials().at("ca-bundle/ca.crt"));
  EXPECT_EQ(encode(t, {shell_alert()}).headers, (Headers{{"Content-Type", "application/json"},
                                                         {"Authorization", kSecretToken},
                                                         {"X-Api-Key", "k3y-s3cr3t"}}));
  Credentials creds = all_credentials();
  creds.erase("ca-bundle/ca.crt");
  EXPECT_EQ(build_error(spec, creds),
            "spec.alertmanager.tls.caSecretRef: Secret ca-bundle has no key 'ca.crt'");
}

// ---------------------------------------------------------------------------------------------
// Local types through make_sink_target.

TEST(SinkTypesTest, StdoutAndFileAreLocalOutputs) {
  v1::AlertSinkSpec spec;
  spec.type = v1::SinkType::kStdout;
  SinkTarget t = build(spec, {});
  EXPECT_NE(t.local, nullptr);
  EXPECT_EQ(t.encoder, nullptr);

  spec.type = v1::SinkType::kFile;
  spec.file = v1::FileSink{};
  spec.file->path = "/var/log/vigil/alerts.log";
  t = build(spec, {});
  EXPECT_NE(t.local, nullptr);  // nothing opened until the first write
  EXPECT_EQ(t.encoder, nullptr);

  for (const char* bad : {"/var/log/vigil/../../etc/cron.d/x", "/etc/passwd", "/var/log/vigil/",
                          "/var/log/vigil/a/./b", "/var/log/vigil//a", "/var/log/vigilx/a"}) {
    spec.file->path = bad;
    EXPECT_THAT(build_error(spec, {}), HasSubstr("spec.file.path: ")) << bad;
  }
}

}  // namespace
}  // namespace vigil::alerts
