#include "common/fields/audit_event.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/fields/value.h"

namespace vigil::fields {
namespace {

std::string read_file(const std::string& relative) {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/" + relative, std::ios::binary);
  EXPECT_TRUE(in) << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A minimal valid item of an EventList. Fields appended through `extra` override the ones before
// them (the last duplicate key wins).
std::string item(std::string_view extra = {}) {
  std::string s =
      R"({"level":"Metadata","auditID":"3f1b6a52-6a0e-4c3e-9d7a-2b8e4f0c1d2e",)"
      R"("stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods","verb":"list",)"
      R"("user":{"username":"kubernetes-admin","groups":["system:authenticated"]},)"
      R"("sourceIPs":["192.0.2.77"],"objectRef":{"resource":"pods","namespace":"shop","apiVersion":"v1"},)"
      R"("responseStatus":{"metadata":{},"code":200},)"
      R"("requestReceivedTimestamp":"2026-09-15T14:26:53.946487Z",)"
      R"("stageTimestamp":"2026-09-15T14:26:53.948683Z")";
  if (!extra.empty()) s += "," + std::string(extra);
  return s + "}";
}

std::string event_list(std::initializer_list<std::string> items) {
  std::string s = R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)";
  bool first = true;
  for (const std::string& i : items) {
    if (!first) s += ",";
    first = false;
    s += i;
  }
  return s + "]}";
}

std::string single_event(std::string_view extra = {}) {
  std::string s = item(extra);
  return R"({"kind":"Event","apiVersion":"audit.k8s.io/v1",)" + s.substr(1);
}

// The error of decoding `body`, or "" when it decoded.
std::string decode_error(std::string_view body, const AuditDecodeOptions& options = {}) {
  Result<std::vector<AuditEvent>> r = decode_audit_events(body, options);
  return r.ok() ? std::string() : r.error();
}

TEST(AuditDecoderTest, DecodesTheCorpus) {
  Result<std::vector<AuditEvent>> attack =
      decode_audit_events(read_file("test/data/audit/attack.json"));
  ASSERT_TRUE(attack.ok()) << attack.error();
  EXPECT_EQ(attack->size(), 23u);
  Result<std::vector<AuditEvent>> benign =
      decode_audit_events(read_file("test/data/audit/benign.json"));
  ASSERT_TRUE(benign.ok()) << benign.error();
  EXPECT_EQ(benign->size(), 21u);
  Result<std::vector<AuditEvent>> lines =
      decode_audit_events(read_file("test/data/audit/events.jsonl"));
  ASSERT_TRUE(lines.ok()) << lines.error();
  EXPECT_EQ(lines->size(), 4u);
  for (const auto* events : {&*attack, &*benign, &*lines}) {
    for (const AuditEvent& ev : *events) {
      EXPECT_FALSE(ev.truncated());
      EXPECT_TRUE(ev.request_received_ns().has_value());
      EXPECT_GE(ev.time_ns(), *ev.request_received_ns());
    }
  }
}

TEST(AuditDecoderTest, LocatesTheEnvelope) {
  Result<std::vector<AuditEvent>> r = decode_audit_events(read_file("test/data/audit/attack.json"));
  ASSERT_TRUE(r.ok()) << r.error();
  const AuditEvent& exec = (*r)[1];
  EXPECT_EQ(exec.audit_id().str(), exec.json().get("auditID").str());
  EXPECT_EQ(exec.stage().str(), "ResponseStarted");
  EXPECT_EQ(exec.level().str(), "Request");
  EXPECT_EQ(exec.verb().str(), "get");
  EXPECT_EQ(exec.user_name().str(), "kubernetes-admin");
  EXPECT_EQ(exec.user_agent().str(), "kubectl/v1.36.0 (linux/amd64) kubernetes/5c3d2f1");
  EXPECT_EQ(exec.target_resource().str(), "pods");
  EXPECT_EQ(exec.target_subresource().str(), "exec");
  EXPECT_EQ(exec.target_name().str(), "payments-7d9c6b8f5-kx2lq");
  EXPECT_EQ(exec.target_namespace().str(), "shop");
  EXPECT_EQ(exec.object_namespace(), "shop");
  EXPECT_EQ(exec.response_code().scalar_text(), "101");
  EXPECT_EQ(exec.source_ips().size(), 1u);
  EXPECT_FALSE(exec.request_object().valid());
  EXPECT_FALSE(exec.impersonated_user().valid());
  EXPECT_EQ(exec.annotations().get("authorization.k8s.io/decision").str(), "allow");
  // The API server escapes '&' as \u0026; the decoded URI has '&'.
  EXPECT_NE(exec.request_uri().str().find("&container=payments&"), std::string_view::npos);
}

TEST(AuditDecoderTest, ObjectNamespaceScopesNamespacesAndClusterObjects) {
  Result<std::vector<AuditEvent>> r = decode_audit_events(read_file("test/data/audit/attack.json"));
  ASSERT_TRUE(r.ok()) << r.error();
  int checked = 0;
  for (const AuditEvent& ev : *r) {
    std::string_view resource = ev.target_resource().str();
    if (resource == "namespaces") {
      EXPECT_EQ(ev.object_namespace(), ev.target_name().str());  // xmr-pool, falco
      ++checked;
    } else if (resource == "clusterroles" || resource == "clusterrolebindings") {
      EXPECT_EQ(ev.object_namespace(), "");
      ++checked;
    } else if (resource == "pods") {
      EXPECT_EQ(ev.object_namespace(), ev.target_namespace().str());
      EXPECT_FALSE(ev.object_namespace().empty());
      ++checked;
    }
  }
  EXPECT_GE(checked, 15);

  Result<std::vector<AuditEvent>> livez = decode_audit_events(
      event_list({item(R"("requestURI":"/livez","verb":"get","objectRef":null)")}));
  ASSERT_TRUE(livez.ok()) << livez.error();
  EXPECT_FALSE((*livez)[0].object_ref().valid());
  EXPECT_EQ((*livez)[0].object_namespace(), "");
}

TEST(AuditDecoderTest, TimesAreStageAndReceivedTimestamps) {
  Result<std::vector<AuditEvent>> r = decode_audit_events(event_list({item()}));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)[0].time_ns(), 1789482413948683000);
  EXPECT_EQ((*r)[0].request_received_ns(), 1789482413946487000);

  r = decode_audit_events(event_list({item(R"("requestReceivedTimestamp":null)")}));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE((*r)[0].request_received_ns().has_value());
}

TEST(AuditDecoderTest, EventsOutliveTheBody) {
  std::vector<AuditEvent> events;
  {
    std::string body =
        event_list({item(), item(R"("auditID":"second","requestURI":"/api?a=b\u0026c=d")")});
    Result<std::vector<AuditEvent>> r = decode_audit_events(body);
    ASSERT_TRUE(r.ok()) << r.error();
    events = std::move(*r);
    body.assign(body.size(), 'x');
  }
  ASSERT_EQ(events.size(), 2u);
  std::vector<AuditEvent> copy = events;
  events.clear();
  EXPECT_EQ(copy[1].audit_id().str(), "second");
  EXPECT_EQ(copy[1].request_uri().str(), "/api?a=b&c=d");
  EXPECT_EQ(copy[0].user_name().str(), "kubernetes-admin");
}

TEST(AuditDecoderTest, AcceptsSingleEventsAndJsonLines) {
  Result<std::vector<AuditEvent>> one = decode_audit_events(single_event());
  ASSERT_TRUE(one.ok()) << one.error();
  EXPECT_EQ(one->size(), 1u);

  std::string lines =
      single_event() + "\n" + event_list({item(), item()}) + "\r\n\n" + single_event() + "\n";
  Result<std::vector<AuditEvent>> many = decode_audit_events(lines);
  ASSERT_TRUE(many.ok()) << many.error();
  EXPECT_EQ(many->size(), 4u);

  Result<std::vector<AuditEvent>> none = decode_audit_events(event_list({}));
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->empty());
  Result<std::vector<AuditEvent>> null_items =
      decode_audit_events(R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":null})");
  ASSERT_TRUE(null_items.ok()) << null_items.error();
  EXPECT_TRUE(null_items->empty());
}

TEST(AuditDecoderTest, ToleratesUnknownKeysAndNulls) {
  Result<std::vector<AuditEvent>> r = decode_audit_events(event_list({item(
      R"("futureField":{"nested":[1,2,{"x":null}]},"impersonatedUser":null,"annotations":null,)"
      R"("authenticationMetadata":{"impersonationConstraint":"x"},"objectRef":{"resource":"pods","newField":7})")}));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_FALSE((*r)[0].impersonated_user().valid());
  EXPECT_FALSE((*r)[0].annotations().valid());
  EXPECT_EQ((*r)[0].target_resource().str(), "pods");
}

TEST(AuditDecoderTest, RejectsMalformedJsonWithLineAndColumn) {
  EXPECT_EQ(decode_error(R"({"kind":"EventList",)"),
            "invalid JSON at line 1, column 21: unexpected end of input, expected a string as "
            "object member name");
  EXPECT_EQ(decode_error("{\"kind\":\"EventList\",\n  \"items\": [\n    {\"auditID\" \"x\"}]}"),
            "invalid JSON at line 3, column 16: expected ':' after a member name");
  EXPECT_EQ(decode_error(R"({"a":"unterminated)"),
            "invalid JSON at line 1, column 6: unterminated string");
  EXPECT_EQ(decode_error("{\"a\":\"tab\there\"}"),
            "invalid JSON at line 1, column 10: control character in string (it must be escaped)");
  EXPECT_EQ(decode_error(R"({"a":"\x"})"),
            "invalid JSON at line 1, column 7: invalid escape in string");
  EXPECT_EQ(decode_error(R"({"a":"\u12G4"})"),
            "invalid JSON at line 1, column 7: invalid \\u escape in string");
  EXPECT_EQ(decode_error(R"({"a":01})"),
            "invalid JSON at line 1, column 7: expected ',' or '}' after an object member");
  EXPECT_EQ(decode_error(R"({"a":1.})"),
            "invalid JSON at line 1, column 8: invalid number: expected a digit after '.'");
  EXPECT_EQ(decode_error(R"({"a":-})"), "invalid JSON at line 1, column 6: invalid number");
  EXPECT_EQ(decode_error(R"({"a":1e})"),
            "invalid JSON at line 1, column 8: invalid number: expected a digit in the exponent");
  EXPECT_EQ(decode_error(R"({"a":tru})"),
            "invalid JSON at line 1, column 6: invalid literal, expected a value");
  EXPECT_EQ(decode_error(R"({"a":[1,]})"),
            "invalid JSON at line 1, column 9: unexpected character ']', expected a value");
  EXPECT_EQ(decode_error(R"({"a":1} x)"),
            "invalid JSON at line 1, column 9: unexpected character 'x', expected a value");
  EXPECT_EQ(decode_error(R"({"a":1}x)"),
            "invalid JSON at line 1, column 8: unexpected character after the end of a JSON value");
  EXPECT_EQ(decode_error("\xEF\xBB\xBF{}"),
            "invalid JSON at line 1, column 1: unexpected character, expected a value");
}

TEST(AuditDecoderTest, RejectsWhatIsNotAnAuditEvent) {
  EXPECT_EQ(decode_error(""), "audit body is empty");
  EXPECT_EQ(decode_error(" \n\t "), "audit body is empty");
  EXPECT_EQ(decode_error("[]"), "expected an audit EventList or Event object, found an array");
  EXPECT_EQ(decode_error("42"), "expected an audit EventList or Event object, found a number");
  EXPECT_EQ(decode_error(R"({"items":[]})"), "not an audit EventList or Event: it has no kind");
  EXPECT_EQ(decode_error(R"({"kind":7})"), "not an audit EventList or Event: kind is not a string");
  EXPECT_EQ(decode_error(R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"}})"),
            "kind \"Pod\" is not an audit EventList or Event");
  EXPECT_EQ(decode_error(R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","items":[]})"),
            "apiVersion \"audit.k8s.io/v1beta1\" is not supported, expected \"audit.k8s.io/v1\" "
            "(kube-apiserver --audit-webhook-version)");
  EXPECT_EQ(decode_error(R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{}})"),
            "items: expected an array, found an object");
  EXPECT_EQ(decode_error(single_event() + "\n" + R"({"kind":"Status"})"),
            "line 2: kind \"Status\" is not an audit EventList or Event");
}

TEST(AuditDecoderTest, RejectsBadEnvelopesNamingItemAndField) {
  struct Case {
    std::string extra;
    std::string error;
  };
  const Case cases[] = {
      {R"("auditID":"")", "items[1]: auditID: missing"},
      {R"("auditID":null)", "items[1]: auditID: missing"},
      {R"("stage":5)", "items[1]: stage: expected a string, found a number"},
      {R"("stageTimestamp":null)", "items[1]: stageTimestamp: missing"},
      {R"("stageTimestamp":"yesterday")",
       "items[1]: stageTimestamp: invalid time \"yesterday\": malformed date (want RFC 3339, e.g. "
       "2026-09-15T14:26:53.946487Z)"},
      {R"("requestReceivedTimestamp":"2026-02-30T00:00:00Z")",
       "items[1]: requestReceivedTimestamp: invalid time \"2026-02-30T00:00:00Z\": day out of "
       "range (want RFC "
       "3339, e.g. 2026-09-15T14:26:53.946487Z)"},
      {R"("kind":"Pod")", "items[1]: kind is \"Pod\", expected \"Event\""},
      {R"("apiVersion":"audit.k8s.io/v1alpha1")",
       "items[1]: apiVersion \"audit.k8s.io/v1alpha1\" is not supported, expected "
       "\"audit.k8s.io/v1\" "
       "(kube-apiserver --audit-webhook-version)"},
      {R"("verb":["get"])", "items[1]: verb: expected a string, found an array"},
      {R"("user":"kubernetes-admin")", "items[1]: user: expected an object, found a string"},
      {R"("user":{"username":1})", "items[1]: user.username: expected a string, found a number"},
      {R"("user":{"username":"a","groups":["x",2]})",
       "items[1]: user.groups[1]: expected a string, found a number"},
      {R"("user":{"username":"a","extra":{"k":"v"}})",
       "items[1]: user.extra.k: expected an array, found a string"},
      {R"("impersonatedUser":{"groups":"x"})",
       "items[1]: impersonatedUser.groups: expected an array, found a string"},
      {R"("sourceIPs":"10.0.0.1")", "items[1]: sourceIPs: expected an array, found a string"},
      {R"("sourceIPs":[{"ip":"10.0.0.1"}])",
       "items[1]: sourceIPs[0]: expected a string, found an object"},
      {R"("objectRef":[])", "items[1]: objectRef: expected an object, found an array"},
      {R"("objectRef":{"namespace":7})",
       "items[1]: objectRef.namespace: expected a string, found a number"},
      {R"("objectRef":{"subresource":true})",
       "items[1]: objectRef.subresource: expected a string, found a boolean"},
      {R"("responseStatus":{"code":"201"})",
       "items[1]: responseStatus.code: expected an integer, found a string"},
      {R"("responseStatus":{"code":2.5e2})",
       "items[1]: responseStatus.code: expected an integer, found 2.5e2"},
      {R"("responseStatus":{"code":403,"reason":{}})",
       "items[1]: responseStatus.reason: expected a string, found an object"},
      {R"("annotations":{"authorization.k8s.io/decision":true})",
       "items[1]: annotations.authorization.k8s.io/decision: expected a string, found a boolean"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(decode_error(event_list({item(), item(c.extra)})), c.error) << c.extra;
  }
  EXPECT_EQ(decode_error(event_list({"[]"})), "items[0]: expected an Event object, found an array");
  EXPECT_EQ(decode_error(single_event(R"("auditID":"")")), "auditID: missing");
  EXPECT_EQ(decode_error(single_event() + "\n" + single_event(R"("auditID":"")")),
            "line 2: auditID: missing");
}

TEST(AuditDecoderTest, BatchSetsBadEventsAside) {
  std::string body = event_list({item(), item(R"("user":"nobody")"), item(R"("auditID":"c")"),
                                 item(R"("stageTimestamp":"2026-09-15")")});
  Result<AuditBatch> batch = decode_audit_batch(body, AuditDecodeOptions{});
  ASSERT_TRUE(batch.ok()) << batch.error();
  ASSERT_EQ(batch->events.size(), 2u);
  EXPECT_EQ(batch->events[1].audit_id().str(), "c");
  ASSERT_EQ(batch->rejected.size(), 2u);
  EXPECT_EQ(batch->rejected[0], "items[1]: user: expected an object, found a string");
  EXPECT_EQ(batch->rejected[1].substr(0, 45), "items[3]: stageTimestamp: invalid time \"2026-");

  EXPECT_EQ(decode_error(body),
            "items[1]: user: expected an object, found a string (and 1 more bad events)");
  EXPECT_FALSE(decode_audit_batch("{", AuditDecodeOptions{}).ok());
}

TEST(AuditDecoderTest, EnforcesSizeLimits) {
  AuditDecodeOptions small;
  small.max_body_bytes = 100;
  std::string body = event_list({item()});
  EXPECT_EQ(decode_error(body, small),
            "audit body is " + std::to_string(body.size()) + " bytes, more than the 100 allowed");
  small.max_body_bytes = body.size();
  EXPECT_EQ(decode_error(body, small), "");

  AuditDecodeOptions few;
  few.max_values = 10;
  EXPECT_EQ(decode_error(body, few).substr(0, 25), "invalid JSON at line 1, c");
  EXPECT_NE(decode_error(body, few).find("the body holds more than 10 JSON values"),
            std::string::npos);
}

TEST(AuditDecoderTest, SurvivesHostileNesting) {
  // 100,000 '[': past Go's limit, so not something kube-apiserver accepted. No recursion, no crash.
  std::string deep(100000, '[');
  EXPECT_EQ(decode_error(deep),
            "invalid JSON at line 1, column 10001: arrays and objects nested more than 10000 deep");
  std::string deep_obj;
  for (int i = 0; i < 20000; ++i) deep_obj += "{\"a\":";
  EXPECT_NE(decode_error(deep_obj).find("nested more than 10000 deep"), std::string::npos);
  // Unbalanced or malformed deep content is still a syntax error.
  EXPECT_NE(decode_error(event_list({item(R"("requestObject":)" + std::string(200, '[') +
                                          std::string(199, ']'))}))
                .find("expected ',' or ']'"),
            std::string::npos);
  EXPECT_NE(decode_error(event_list({item(R"("requestObject":)" + std::string(100, '[') +
                                          "{\"a\" 1}" + std::string(100, ']'))}))
                .find("expected ':' after a member name"),
            std::string::npos);
}

TEST(AuditDecoderTest, DropsTooDeepRequestContentButKeepsTheEvent) {
  // A client's patch is copied verbatim into requestObject; Go accepts nesting up to 10000, so a
  // deep patch must not make the event (or its batch) disappear.
  std::string deep = std::string(200, '[') + "\"x\"" + std::string(200, ']');
  std::string body = event_list({item(),
                                 item(R"("auditID":"deep","requestObject":{"spec":{"p":)" + deep +
                                      R"(},"data":{"password":"hunter2"}})"),
                                 item(R"("auditID":"after")")});
  Result<std::vector<AuditEvent>> r = decode_audit_events(body);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_FALSE((*r)[0].truncated());
  EXPECT_TRUE((*r)[1].truncated());
  EXPECT_FALSE((*r)[2].truncated());
  EXPECT_EQ((*r)[2].audit_id().str(), "after");
  const AuditEvent& ev = (*r)[1];
  EXPECT_EQ(ev.request_object().get("data").get("password").str(), "hunter2");
  // Depth 1 list, 3 item, 4 requestObject, 5 spec, 6 p: p's outer arrays up to depth 64 are kept.
  JsonRef p = ev.request_object().get("spec").get("p");
  int depth = 6;
  while (p.is_array()) {
    p = p.at(0);
    ++depth;
  }
  EXPECT_TRUE(p.is_null());
  EXPECT_EQ(depth, 65);

  // With max_depth 3 every object inside an item (user, objectRef, requestObject) is dropped.
  AuditDecodeOptions shallow;
  shallow.max_depth = 3;
  r = decode_audit_events(body, shallow);
  ASSERT_TRUE(r.ok()) << r.error();
  for (const AuditEvent& e : *r) EXPECT_TRUE(e.truncated());
  EXPECT_FALSE((*r)[1].request_object().valid());
  EXPECT_FALSE((*r)[1].user_name().valid());
  EXPECT_EQ((*r)[1].audit_id().str(), "deep");
}

TEST(AuditDecoderTest, DecodesStringsTheWayGoDoes) {
  Result<std::vector<AuditEvent>> r = decode_audit_events(event_list({item(
      R"("requestObject":{"esc":"a\"b\\c\/d\b\f\n\r\t\u00e9\u2028","pair":"\ud83d\ude00","lone":"x\ud800y",)"
      R"("lowfirst":"\udc00","raw":"caf)"
      "\xC3\xA9 \xE2\x82\xAC"
      R"(","bad":"a)"
      "\xFF\xC3(\xED\xA0\x80"
      R"(z","dup":1,"dup":2})")}));
  ASSERT_TRUE(r.ok()) << r.error();
  JsonRef obj = (*r)[0].request_object();
  EXPECT_EQ(obj.get("esc").str(), "a\"b\\c/d\b\f\n\r\t\xC3\xA9\xE2\x80\xA8");
  EXPECT_EQ(obj.get("pair").str(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(obj.get("lone").str(), "x\xEF\xBF\xBDy");
  EXPECT_EQ(obj.get("lowfirst").str(), "\xEF\xBF\xBD");
  EXPECT_EQ(obj.get("raw").str(), "caf\xC3\xA9 \xE2\x82\xAC");
  // Each invalid byte becomes U+FFFD: FF, C3 (truncated sequence), then ED A0 80 (a surrogate).
  EXPECT_EQ(obj.get("bad").str(),
            "a\xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz");
  // Duplicate keys: the last one wins, as in Go.
  EXPECT_EQ(obj.get("dup").scalar_text(), "2");
  EXPECT_EQ(obj.size(), 8u);
}

TEST(AuditJsonTest, NavigatesAndRenders) {
  Result<std::vector<AuditEvent>> r = decode_audit_events(event_list({item(
      R"("requestObject":{"a":[1,-2.5e3,true,false,null,"s",{},[]],"b":{"c":"x\ny\u0001"},"e":{}})")}));
  ASSERT_TRUE(r.ok()) << r.error();
  JsonRef obj = (*r)[0].request_object();
  JsonRef a = obj.get("a");
  ASSERT_TRUE(a.is_array());
  EXPECT_EQ(a.size(), 8u);
  EXPECT_EQ(a.at(1).scalar_text(), "-2.5e3");
  EXPECT_EQ(a.get("1").scalar_text(), "-2.5e3");
  EXPECT_EQ(a.at(2).scalar_text(), "true");
  EXPECT_EQ(a.at(4).scalar_text(), "null");
  EXPECT_TRUE(a.at(6).is_object());
  EXPECT_FALSE(a.at(8).valid());
  EXPECT_FALSE(a.get("x").valid());
  EXPECT_FALSE(a.get("-1").valid());
  EXPECT_FALSE(obj.get("missing").get("deeper").valid());
  EXPECT_EQ(obj.get("b").get("c").str(), "x\ny\x01");
  EXPECT_EQ(obj.get("b").scalar_text(), "");
  std::vector<std::string> keys;
  for (JsonRef m : obj) keys.emplace_back(m.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "e"}));

  EXPECT_EQ(render_json(obj),
            R"({"a":[1,-2.5e3,true,false,null,"s",{},[]],"b":{"c":"x\ny\u0001"},"e":{}})");
  EXPECT_EQ(render_json(obj.get("b"), 2), "{\n  \"c\": \"x\\ny\\u0001\"\n}");
  EXPECT_EQ(render_json(obj, 2),
            "{\n  \"a\": [\n    1,\n    -2.5e3,\n    true,\n    false,\n    null,\n    \"s\",\n    "
            "{},\n    []\n  ],\n"
            "  \"b\": {\n    \"c\": \"x\\ny\\u0001\"\n  },\n  \"e\": {}\n}");
  EXPECT_EQ(render_json(JsonRef()), "");

  Arena arena;
  EXPECT_EQ(render_json(obj.get("a"), arena), R"([1,-2.5e3,true,false,null,"s",{},[]])");
  EXPECT_EQ(render_json(JsonRef(), arena), "");
}

TEST(AuditTimeTest, ParsesRfc3339) {
  EXPECT_EQ(*parse_audit_time("2026-09-15T14:26:53.946487Z"), 1789482413946487000);
  EXPECT_EQ(*parse_audit_time("2026-09-15T14:26:53Z"), 1789482413000000000);
  EXPECT_EQ(*parse_audit_time("2026-09-15T14:26:53.946487001Z"), 1789482413946487001);
  EXPECT_EQ(*parse_audit_time("2026-09-15T14:26:53.9464870019Z"),
            1789482413946487001);  // digits past ns cut
  EXPECT_EQ(*parse_audit_time("2026-09-15T14:26:53.9Z"), 1789482413900000000);
  EXPECT_EQ(*parse_audit_time("2026-09-15t16:26:53.946487+02:00"), 1789482413946487000);
  EXPECT_EQ(*parse_audit_time("2026-09-15T10:56:53.946487-03:30"), 1789482413946487000);
  EXPECT_EQ(*parse_audit_time("2026-09-15T14:26:53.946487z"), 1789482413946487000);
  EXPECT_EQ(*parse_audit_time("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_audit_time("1969-12-31T23:59:59.5Z"), -500000000);
  EXPECT_EQ(*parse_audit_time("2024-02-29T00:00:00Z"), 1709164800000000000);
  EXPECT_EQ(*parse_audit_time("2262-04-11T23:47:16.854775807Z"), INT64_MAX);

  for (const char* bad : {"",
                          "2026-09-15",
                          "2026-09-15 14:26:53Z",
                          "2026-09-15T14:26:53",
                          "2026-09-15T14:26:53.Z",
                          "2026-13-01T00:00:00Z",
                          "2026-02-29T00:00:00Z",
                          "2026-04-31T00:00:00Z",
                          "2026-09-15T24:00:00Z",
                          "2026-09-15T23:60:00Z",
                          "2026-09-15T23:59:60Z",
                          "2026-09-15T14:26:53+0200",
                          "2026-09-15T14:26:53+24:00",
                          "2026-09-15T14:26:53Zjunk",
                          "26-09-15T14:26:53Z",
                          "2026-9-15T14:26:53Z",
                          "+2026-09-15T14:26:53Z",
                          "2262-04-11T23:47:16.854775808Z",
                          "9999-12-31T23:59:59Z",
                          "0000-01-01T00:00:00Z"}) {
    Result<int64_t> r = parse_audit_time(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().rfind("invalid time \"", 0), 0u) << r.error();
    }
  }
}

}  // namespace
}  // namespace vigil::fields
