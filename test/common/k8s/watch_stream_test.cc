#include "common/k8s/watch_stream.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::k8s {
namespace {

std::vector<std::string> feed_all(LineDecoder& d, const std::vector<std::string_view>& chunks) {
  std::vector<std::string> lines;
  for (auto c : chunks) {
    EXPECT_TRUE(d.feed(c, [&](std::string_view line) {
      lines.emplace_back(line);
      return true;
    }));
  }
  return lines;
}

constexpr std::string_view kStream =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"2\"}}}"
    "\r\n"
    "\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"3\"}}}\n";

TEST(K8sWatchStreamTest, SplitsLinesAcrossEveryChunkBoundary) {
  for (size_t cut1 = 0; cut1 <= kStream.size(); ++cut1) {
    for (size_t cut2 = cut1; cut2 <= kStream.size(); cut2 += 7) {
      LineDecoder d;
      auto lines = feed_all(
          d, {kStream.substr(0, cut1), kStream.substr(cut1, cut2 - cut1), kStream.substr(cut2)});
      ASSERT_EQ(lines.size(), 3u) << cut1 << "," << cut2;
      EXPECT_EQ(lines[0].back(), '}');
      EXPECT_EQ(lines[1].back(), '}');  // "\r" stripped
      EXPECT_NE(lines[2].find("BOOKMARK"), std::string::npos);
      EXPECT_EQ(d.pending_bytes(), 0u);
    }
  }
}

TEST(K8sWatchStreamTest, ByteAtATime) {
  LineDecoder d;
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < kStream.size(); ++i) bytes.push_back(kStream.substr(i, 1));
  EXPECT_EQ(feed_all(d, bytes).size(), 3u);
}

TEST(K8sWatchStreamTest, KeepsAnUnterminatedLinePending) {
  LineDecoder d;
  auto lines = feed_all(d, {"{\"a\":1}\n{\"b\""});
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_EQ(d.pending_bytes(), 4u);
}

TEST(K8sWatchStreamTest, RefusesAHugeLineWithoutBufferingIt) {
  LineDecoder d(1024);
  std::string big(600, 'x');
  int lines = 0;
  const auto count = [&](std::string_view) {
    ++lines;
    return true;
  };
  EXPECT_TRUE(d.feed("{}\n", count));
  EXPECT_TRUE(d.feed(big, count));
  EXPECT_FALSE(d.feed(big, count));  // 1200 bytes without a newline
  EXPECT_TRUE(d.overflowed());
  EXPECT_EQ(d.pending_bytes(), 0u);
  EXPECT_FALSE(d.feed("{}\n", count));  // stays failed
  EXPECT_EQ(lines, 1);

  LineDecoder one_chunk(1024);
  EXPECT_FALSE(one_chunk.feed(std::string(2000, 'y') + "\n", count));
  EXPECT_TRUE(one_chunk.overflowed());
}

TEST(K8sWatchStreamTest, HandlerCanStopTheStream) {
  LineDecoder d;
  int seen = 0;
  EXPECT_FALSE(d.feed("1\n2\n3\n", [&](std::string_view) { return ++seen < 2; }));
  EXPECT_EQ(seen, 2);
  EXPECT_FALSE(d.overflowed());
}

TEST(K8sWatchStreamTest, DecodesObjectEvents) {
  auto ev = decode_watch_event(
      R"({"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","namespace":"ns","resourceVersion":"42"},"data":{"k":"v"}}})");
  ASSERT_TRUE(ev.ok()) << ev.error();
  EXPECT_EQ(ev->type, WatchEventType::kAdded);
  EXPECT_EQ(ev->ns, "ns");
  EXPECT_EQ(ev->name, "a");
  EXPECT_EQ(ev->resource_version, "42");
  EXPECT_NE(ev->object_json.find("\"data\":{\"k\":\"v\"}"), std::string::npos);

  auto del = decode_watch_event(
      R"({"type":"DELETED","object":{"metadata":{"name":"c","resourceVersion":"7"}}})");
  ASSERT_TRUE(del.ok()) << del.error();
  EXPECT_EQ(del->type, WatchEventType::kDeleted);
  EXPECT_EQ(del->ns, "");
}

TEST(K8sWatchStreamTest, DecodesBookmarks) {
  auto ev = decode_watch_event(
      R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"99","annotations":{"k8s.io/initial-events-end":"true"}}}})");
  ASSERT_TRUE(ev.ok()) << ev.error();
  EXPECT_EQ(ev->type, WatchEventType::kBookmark);
  EXPECT_EQ(ev->resource_version, "99");
}

TEST(K8sWatchStreamTest, DecodesExpiredErrors) {
  auto ev = decode_watch_event(
      R"json({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 123 (456)","reason":"Expired","code":410}})json");
  ASSERT_TRUE(ev.ok()) << ev.error();
  EXPECT_EQ(ev->type, WatchEventType::kError);
  EXPECT_EQ(ev->code, 410);
  EXPECT_EQ(ev->reason, "Expired");
  EXPECT_TRUE(is_expired(*ev));

  auto gone = decode_watch_event(R"({"type":"ERROR","object":{"reason":"Gone"}})");
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(is_expired(*gone));

  auto other =
      decode_watch_event(R"({"type":"ERROR","object":{"code":500,"reason":"InternalError"}})");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(is_expired(*other));
}

TEST(K8sWatchStreamTest, RejectsGarbage) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "not valid JSON"},
      {"{\"type\":\"ADDED\",\"object\":{", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"type":"EXPLODED","object":{}})", "unknown type \"EXPLODED\""},
      {R"({"type":"ADDED"})", "has no object"},
      {R"({"type":"ADDED","object":"x"})", "has no object"},
      {R"({"type":"ADDED","object":{}})", "has no metadata"},
      {R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})", "no metadata.resourceVersion"},
      {R"({"type":"MODIFIED","object":{"metadata":{"resourceVersion":"1"}}})", "no metadata.name"},
      {std::string("\xff\xfe{}"), "not valid JSON"},
  };
  for (const auto& [line, message] : cases) {
    auto ev = decode_watch_event(line);
    ASSERT_FALSE(ev.ok()) << line;
    EXPECT_NE(ev.error().find(message), std::string::npos) << line << ": " << ev.error();
  }
}

}  // namespace
}  // namespace vigil::k8s
