#include "common/alerts/http_transport.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

#include <gtest/gtest.h>

#include "common/http/server.h"

namespace vigil::alerts {
namespace {

using namespace std::chrono_literals;

struct Recorded {
  std::mutex mu;  // guards the fields below
  std::vector<http::Request> requests;
};

std::unique_ptr<http::HttpServer> serve(Recorded& rec, http::Response response) {
  auto s = http::HttpServer::start(
      {}, {http::route("POST", "/services/T0/SECRET", [&rec, response](const http::Request& r) {
        std::lock_guard lock(rec.mu);
        rec.requests.push_back(r);
        return response;
      })});
  EXPECT_TRUE(s.ok());
  return std::move(*s);
}

std::string url(uint16_t port) {
  return "http://127.0.0.1:" + std::to_string(port) + "/services/T0/SECRET?token=abc";
}

HttpRequest request(uint16_t port) {
  HttpRequest r;
  r.url = url(port);
  r.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer s3cr3t"}};
  r.body = R"({"text":"hi"})";
  return r;
}

TEST(HttpTransportTest, PostsBodyAndHeadersAndReusesTheConnection) {
  Recorded rec;
  auto server = serve(rec, {});
  HttpTransport t;
  for (int i = 0; i < 3; ++i) {
    auto r = t.send(request(server->port()), {}, 2s);
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.error, "");
  }
  std::lock_guard lock(rec.mu);
  ASSERT_EQ(rec.requests.size(), 3u);
  EXPECT_EQ(rec.requests[0].body, R"({"text":"hi"})");
  EXPECT_EQ(rec.requests[0].header("authorization"), "Bearer s3cr3t");
  EXPECT_EQ(rec.requests[0].header("content-type"), "application/json");
  EXPECT_EQ(rec.requests[0].peer, rec.requests[2].peer);  // keep-alive
}

TEST(HttpTransportTest, ReportsStatusRetryAfterAndARedactedError) {
  Recorded rec;
  http::Response resp;
  resp.status = 429;
  resp.body = std::string(200000, 'x');  // read past the cap, then ignored
  resp.headers = {{"Retry-After", "7"}};
  auto server = serve(rec, resp);
  HttpTransport t;
  auto r = t.send(request(server->port()), {}, 2s);
  EXPECT_EQ(r.status, 429);
  ASSERT_TRUE(r.retry_after.has_value());
  EXPECT_EQ(r.retry_after->count(), 7);
  EXPECT_NE(r.error.find("HTTP 429"), std::string::npos) << r.error;
  EXPECT_LT(r.error.size(), 300u);
  EXPECT_EQ(r.error.find("SECRET"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("token"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("s3cr3t"), std::string::npos) << r.error;
}

TEST(HttpTransportTest, ConnectionRefusedAndTimeout) {
  HttpTransport t;
  uint16_t port;
  {
    Recorded rec;
    auto server = serve(rec, {});
    port = server->port();
    server->stop();
  }
  auto refused = t.send(request(port), {}, 2s);
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.error.empty());
  EXPECT_EQ(refused.error.find("SECRET"), std::string::npos) << refused.error;

  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const auto start = std::chrono::steady_clock::now();
  auto slow = t.send(request(ntohs(a.sin_port)), {}, 300ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
  EXPECT_EQ(slow.status, 0);
  EXPECT_NE(slow.error.find("timed out"), std::string::npos) << slow.error;
  EXPECT_EQ(slow.error.find("SECRET"), std::string::npos) << slow.error;

  std::atomic<bool> cancel{true};
  auto cancelled = t.send(request(ntohs(a.sin_port)), {}, 5s, &cancel);
  EXPECT_NE(cancelled.error.find("cancelled"), std::string::npos) << cancelled.error;
  ::close(fd);
}

TEST(HttpTransportTest, RedactsUrlsAndParsesRetryAfter) {
  EXPECT_EQ(redact_url("https://hooks.slack.com/services/T0/B0/xyz"), "https://hooks.slack.com/…");
  EXPECT_EQ(redact_url("https://user:pw@example.com:8443/a?b=c"), "https://example.com:8443/…");
  EXPECT_EQ(redact_url("http://host:9/"), "http://host:9");
  EXPECT_EQ(redact_url("http://host?q=1"), "http://host/…");
  const auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37
  EXPECT_EQ(parse_retry_after("120", now), std::chrono::seconds(120));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now), std::chrono::seconds(60));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), std::chrono::seconds(0));
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("", now).has_value());
}

}  // namespace
}  // namespace vigil::alerts
