// The HTTP server against a real client on loopback (raw sockets, so malformed and slow requests
// can be sent exactly).

#include "common/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace vigil::http {
namespace {

class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Conn() { close(fd_); }
  bool ok() const { return connected_; }
  void send_all(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // Reads until `until` appears, the peer closes, or the timeout.
  std::string read_until(const std::string& until) {
    std::string out;
    char buf[4096];
    while (out.find(until) == std::string::npos) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // True when the server closed the connection.
  bool closed_by_peer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.body_limit = 1024;
    o.read_timeout = std::chrono::milliseconds(300);
    o.idle_timeout = std::chrono::milliseconds(300);
    o.name = "test";
    auto s = HttpServer::start(
        o, {route("GET", "/healthz",
                  [](const Request&) {
                    return Response{200, "text/plain", "ok\n", {}};
                  }),
            route("POST", "/echo", [](const Request& r) {
              return Response{200,
                              "text/plain",
                              r.method + " " + r.target + " " + r.header("x-test") + " " + r.body,
                              {}};
            })});
    ASSERT_TRUE(s.ok()) << s.error();
    server_ = std::move(s.value());
  }
  void TearDown() override { server_->stop(); }
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesRoutesWith404And405) {
  Conn c(server_->port());
  ASSERT_TRUE(c.ok());
  c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string r = c.read_until("ok\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  // keep-alive: a second request on the same connection
  c.send_all("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.read_until("not found\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 404", 0), 0u) << r;
  c.send_all("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.read_until("not allowed\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 405", 0), 0u) << r;
  EXPECT_NE(r.find("Allow: POST"), std::string::npos) << r;
}

TEST_F(HttpServerTest, PassesMethodTargetHeadersAndBody) {
  Conn c(server_->port());
  c.send_all("POST /echo?a=1 HTTP/1.1\r\nHost: x\r\nX-Test: hi\r\nContent-Length: 5\r\n\r\nhello");
  std::string r = c.read_until("hello");
  EXPECT_NE(r.find("POST /echo?a=1 hi hello"), std::string::npos) << r;
}

TEST_F(HttpServerTest, AnswersExpectContinueBeforeTheBody) {
  Conn c(server_->port());
  c.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  std::string r = c.read_until("\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << r;
  c.send_all("data");
  r = c.read_until("data");
  EXPECT_NE(r.find("HTTP/1.1 200 OK"), std::string::npos) << r;
}

TEST_F(HttpServerTest, RefusesBodiesOverTheLimit) {
  {
    Conn c(server_->port());
    c.send_all(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
    std::string r = c.read_until("too large\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 413", 0), 0u) << r;
  }
  {
    Conn c(server_->port());
    std::string chunk(800, 'x');
    c.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" +
               chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
    std::string r = c.read_until("too large\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 413", 0), 0u) << r;
  }
  EXPECT_GE(server_->stats().too_large, 2u);
}

TEST_F(HttpServerTest, MalformedRequestsGet400AndHugeHeaders431) {
  {
    Conn c(server_->port());
    c.send_all("NOT A REQUEST\r\n\r\n");
    std::string r = c.read_until("\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
  }
  {
    Conn c(server_->port());
    c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'a') +
               "\r\n\r\n");
    std::string r = c.read_until("\r\n\r\n");
    EXPECT_EQ(r.rfind("HTTP/1.1 431", 0), 0u) << r;
  }
  // The server still serves.
  Conn c(server_->port());
  c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.read_until("ok\n").find("200 OK"), std::string::npos);
}

TEST_F(HttpServerTest, SlowClientsTimeOut) {
  Conn c(server_->port());
  c.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");  // never finishes
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  for (int i = 0; i < 50 && server_->stats().timeouts == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(server_->stats().timeouts, 1u);
}

TEST(HttpServerStartTest, ReportsBindErrorsAndReleasesThePort) {
  ServerOptions o;
  auto a = HttpServer::start(o, {});
  ASSERT_TRUE(a.ok()) << a.error();
  o.port = a.value()->port();
  auto b = HttpServer::start(o, {});
  EXPECT_FALSE(b.ok());
  a.value()->stop();
  a.value()->stop();  // idempotent
  auto c = HttpServer::start(o, {});
  EXPECT_TRUE(c.ok()) << c.error();
  o.address = "not-an-ip";
  EXPECT_FALSE(HttpServer::start(o, {}).ok());
}

TEST(HttpServerBeforeBodyTest, RefusesOnTheHeadWithoutReadingTheBody) {
  std::atomic<int> handled{0};
  ServerOptions o;
  o.body_limit = 64u << 20;
  o.before_body = [](const Request& r) -> std::optional<Response> {
    if (r.header("Authorization") == "Bearer ok") return std::nullopt;
    EXPECT_TRUE(r.body.empty());
    return Response{401, "text/plain", "who are you\n", {}};
  };
  auto s =
      HttpServer::start(o, {route("POST", "/in", [&](const Request& r) {
                          ++handled;
                          return Response{200, "text/plain", std::to_string(r.body.size()), {}};
                        })});
  ASSERT_TRUE(s.ok()) << s.error();
  const uint16_t port = s.value()->port();
  {
    // Announces 32 MiB and waits for 100-continue: the answer is 401, and no body is sent.
    Conn c(port);
    ASSERT_TRUE(c.ok());
    c.send_all(
        "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 33554432\r\n"
        "Expect: 100-continue\r\n\r\n");
    std::string got = c.read_until("who are you");
    EXPECT_EQ(got.rfind("HTTP/1.1 401", 0), 0u) << got;
    EXPECT_EQ(got.find("100 Continue"), std::string::npos) << got;
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    Conn c(port);
    ASSERT_TRUE(c.ok());
    c.send_all(
        "POST /in HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ok\r\nContent-Length: 5\r\n"
        "\r\nhello");
    std::string got = c.read_until("\r\n\r\n5");
    EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), 0u) << got;
  }
  EXPECT_EQ(handled.load(), 1);
}

}  // namespace
}  // namespace vigil::http
