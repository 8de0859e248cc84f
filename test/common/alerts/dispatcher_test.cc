// The delivery engine against real HTTP servers on loopback (common/http HttpServer), scripted
// to be down, fail, throttle and recover.

#include "common/alerts/dispatcher.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/http/server.h"

namespace vigil::alerts {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The body is a JSON array of the batch's messages.
class ListEncoder : public Encoder {
 public:
  ListEncoder(std::string url, size_t max_batch) : url_(std::move(url)), max_batch_(max_batch) {}
  size_t max_batch() const override { return max_batch_; }
  HttpRequest encode(std::span<const Alert> batch) const override {
    nlohmann::json body = nlohmann::json::array();
    for (const auto& a : batch) body.push_back(a.message);
    HttpRequest r;
    r.url = url_;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = body.dump();
    return r;
  }

 private:
  std::string url_;
  size_t max_batch_;
};

// An HTTP destination that records what it received and answers from a script: each request
// takes the next scripted response; when the script is empty it answers 200.
class Destination {
 public:
  struct Reply {
    int status = 200;
    std::string retry_after;
  };

  // Reserves a port without listening on it: the destination is "down" until start().
  Destination() {
    auto s = http::HttpServer::start({}, {});
    EXPECT_TRUE(s.ok());
    port_ = (*s)->port();
    (*s)->stop();
  }
  ~Destination() { stop(); }

  void start() {
    http::ServerOptions o;
    o.port = port_;
    o.threads = 1;
    auto s = http::HttpServer::start(
        o, {http::route("POST", "/hook/secret",
                        [this](const http::Request& req) { return handle(req); })});
    ASSERT_TRUE(s.ok()) << s.error();
    server_ = std::move(*s);
  }
  void stop() {
    if (server_) server_->stop();
    server_.reset();
  }

  void script(std::vector<Reply> replies) {
    std::lock_guard lock(mu_);
    script_.insert(script_.end(), replies.begin(), replies.end());
  }
  void always(int status) {
    std::lock_guard lock(mu_);
    always_ = status;
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook/secret"; }

  // Messages of the accepted (2xx) requests, in arrival order.
  std::vector<std::string> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<Clock::time_point> request_times() const {
    std::lock_guard lock(mu_);
    return times_;
  }
  size_t requests() const {
    std::lock_guard lock(mu_);
    return times_.size();
  }
  size_t accepted_requests() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }

 private:
  http::Response handle(const http::Request& req) {
    std::lock_guard lock(mu_);
    times_.push_back(Clock::now());
    Reply reply;
    if (!script_.empty()) {
      reply = script_.front();
      script_.pop_front();
    } else {
      reply.status = always_;
    }
    http::Response resp;
    resp.status = reply.status;
    if (!reply.retry_after.empty()) resp.headers.push_back({"Retry-After", reply.retry_after});
    if (reply.status >= 200 && reply.status < 300) {
      ++accepted_;
      const auto body = nlohmann::json::parse(req.body);
      for (const auto& m : body) messages_.push_back(m.get<std::string>());
    }
    return resp;
  }

  uint16_t port_ = 0;
  std::unique_ptr<http::HttpServer> server_;
  mutable std::mutex mu_;  // guards the fields below
  std::deque<Reply> script_;
  int always_ = 200;
  std::vector<std::string> messages_;
  std::vector<Clock::time_point> times_;
  size_t accepted_ = 0;
};

// Accepts connections and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

Alert make(std::string message, std::string rule = "R") {
  Alert a;
  a.time_ns = 1'700'000'000'000'000'000;
  a.rule = std::move(rule);
  a.source = "syscall";
  a.hostname = "node-1";
  a.message = std::move(message);
  return a;
}

SinkTarget target(std::string url, size_t max_batch, std::string name = "hook") {
  SinkTarget t;
  t.ns = "vigil-system";
  t.name = std::move(name);
  t.generation = 1;
  t.type = api::v1alpha1::SinkType::kWebhook;
  t.encoder = std::make_shared<ListEncoder>(std::move(url), max_batch);
  t.timeout = 2s;
  t.delivery.retries = 1000;
  t.delivery.backoff_initial_seconds = 1;
  t.delivery.backoff_max_seconds = 4;
  t.delivery.queue_size = 1000;
  return t;
}

DispatcherOptions fast_options() {
  DispatcherOptions o;
  o.time_scale = 0.005;  // 1 s -> 5 ms
  o.linger = 10ms;
  o.hostname = "node-1";
  o.removal_grace = 100ms;
  return o;
}

SinkStats only(const Dispatcher& d) {
  auto all = d.stats();
  EXPECT_EQ(all.size(), 1u);
  return all.empty() ? SinkStats{} : all.front();
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

std::vector<std::string> numbered(int n, const std::string& prefix = "alert ") {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i));
  return v;
}

TEST(DispatcherTest, OutageThen500sThen429ThenRecoveryDeliversEachAlertOnceInOrder) {
  Destination dest;  // down
  Dispatcher d(fast_options());
  d.configure({target(dest.url(), 5)}, "vigil-system");
  const auto expected = numbered(40);
  for (int i = 0; i < 20; ++i) d.submit(make(expected[i]));
  std::this_thread::sleep_for(60ms);  // connection refused for a while
  EXPECT_GT(only(d).failed, 0u);
  dest.script({{500}, {500}, {503}, {429, "1"}});
  dest.start();
  for (int i = 20; i < 40; ++i) d.submit(make(expected[i]));
  ASSERT_TRUE(d.flush(10s));
  EXPECT_EQ(dest.messages(), expected);
  const auto s = only(d);
  EXPECT_EQ(s.delivered, 40u);
  EXPECT_EQ(s.dropped_total(), 0u);
  EXPECT_EQ(s.queued, 0u);
  EXPECT_GE(s.failed, 5u);  // refused attempts + the four scripted failures
  EXPECT_EQ(s.consecutive_failures, 0);
  EXPECT_EQ(s.state, SinkState::kReady);
  EXPECT_TRUE(s.last_delivery_time.has_value());
  EXPECT_NE(s.last_error.find("HTTP 429"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.last_error.find("secret"), std::string::npos) << "URL path leaked: " << s.last_error;
}

TEST(DispatcherTest, RetryAfterIsHonoured) {
  Destination dest;
  dest.script({{429, "40"}});  // 40 s scaled: 200 ms
  dest.start();
  auto t = target(dest.url(), 1);
  t.delivery.backoff_max_seconds = 1;
  Dispatcher d(fast_options());
  d.configure({t}, "vigil-system");
  d.submit(make("a"));
  ASSERT_TRUE(d.flush(5s));
  const auto times = dest.request_times();
  ASSERT_EQ(times.size(), 2u);
  EXPECT_GE(times[1] - times[0], 180ms);
  EXPECT_EQ(dest.messages(), std::vector<std::string>{"a"});
}

TEST(DispatcherTest, QueueOverflowIsCountedAndSummarisedAfterRecovery) {
  Destination dest;  // down
  auto t = target(dest.url(), 1);
  t.delivery.queue_size = 5;
  Dispatcher d(fast_options());
  d.configure({t}, "vigil-system");
  const auto expected = numbered(20);
  for (const auto& m : expected) d.submit(make(m, m.substr(0, 7)));
  auto s = only(d);
  EXPECT_EQ(s.queued, 5u);
  EXPECT_EQ(s.dropped["queue_full"], 15u);
  dest.start();
  ASSERT_TRUE(d.flush(10s));
  const auto got = dest.messages();
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(got.begin(), got.begin() + 5),
            std::vector<std::string>(expected.begin(), expected.begin() + 5));
  EXPECT_EQ(got[5].rfind("15 alerts dropped (queue full) for sink vigil-system/hook", 0), 0u)
      << got[5];
  s = only(d);
  EXPECT_EQ(s.delivered, 6u);
  EXPECT_EQ(s.dropped_total(), 15u);
}

TEST(DispatcherTest, DedupWindowDeliversOnceThenTheRepeatCount) {
  Destination dest;
  dest.start();
  auto t = target(dest.url(), 10);
  t.delivery.dedup_window_seconds = 40;  // 200 ms
  Dispatcher d(fast_options());
  d.configure({t}, "vigil-system");
  for (int i = 0; i < 5; ++i) d.submit(make("same"));
  d.submit(make("other"));
  ASSERT_TRUE(eventually([&] { return dest.messages().size() == 3; }));
  const auto got = dest.messages();
  EXPECT_EQ(got[0], "same");
  EXPECT_EQ(got[1], "other");
  EXPECT_EQ(got[2], "same (repeated 4 times)");
  EXPECT_EQ(only(d).deduplicated, 4u);
  d.submit(make("same"));  // a new window
  ASSERT_TRUE(eventually([&] { return dest.messages().size() == 4; }));
  EXPECT_EQ(dest.messages()[3], "same");
}

TEST(DispatcherTest, RateLimitEndsWithOneSummaryAlert) {
  Destination dest;
  dest.start();
  auto t = target(dest.url(), 20);
  t.delivery.rate_limit = api::v1alpha1::DeliveryRateLimit{3, 40};  // 3 per 200 ms
  Dispatcher d(fast_options());
  d.configure({t}, "vigil-system");
  for (int i = 0; i < 10; ++i) d.submit(make("m" + std::to_string(i), i % 2 ? "B" : "A"));
  ASSERT_TRUE(eventually([&] { return dest.messages().size() == 4; }));
  std::this_thread::sleep_for(50ms);
  const auto got = dest.messages();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], "m0");
  EXPECT_EQ(got[2], "m2");
  EXPECT_EQ(got[3],
            "7 similar alerts suppressed for sink vigil-system/hook (rule counts: B: 4, A: 3)");
  EXPECT_EQ(only(d).suppressed, 7u);
}

TEST(DispatcherTest, ClientErrorsAreNotRetried) {
  Destination dest;
  dest.always(400);
  dest.start();
  Dispatcher d(fast_options());
  d.configure({target(dest.url(), 3)}, "vigil-system");
  for (int i = 0; i < 3; ++i) d.submit(make("x"));
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(dest.requests(), 1u);
  auto s = only(d);
  EXPECT_EQ(s.dropped["rejected"], 3u);
  EXPECT_EQ(s.failed, 1u);
  EXPECT_EQ(s.delivered, 0u);
  EXPECT_NE(s.last_error.find("HTTP 400"), std::string::npos);
}

TEST(DispatcherTest, RetriesExhaustedDropsTheBatch) {
  Destination dest;
  dest.always(500);
  dest.start();
  auto t = target(dest.url(), 5);
  t.delivery.retries = 2;
  Dispatcher d(fast_options());
  d.configure({t}, "vigil-system");
  d.submit(make("x"));
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(dest.requests(), 3u);
  auto s = only(d);
  EXPECT_EQ(s.dropped["retries_exhausted"], 1u);
  EXPECT_EQ(s.failed, 3u);
  EXPECT_EQ(s.state, SinkState::kDegraded);
}

TEST(DispatcherTest, CircuitBreakerOpensThenProbesAndRecovers) {
  Destination dest;
  dest.always(500);
  dest.start();
  auto t = target(dest.url(), 1);
  t.delivery.backoff_max_seconds = 30;  // circuit open 150 ms
  auto o = fast_options();
  o.breaker_threshold = 3;
  Dispatcher d(o);
  d.configure({t}, "vigil-system");
  d.submit(make("x"));
  ASSERT_TRUE(eventually([&] { return only(d).state == SinkState::kCircuitOpen; }));
  const size_t at_open = dest.requests();
  EXPECT_EQ(at_open, 3u);
  std::this_thread::sleep_for(60ms);
  EXPECT_EQ(dest.requests(), at_open);  // no attempts while open
  dest.always(200);
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(dest.requests(), at_open + 1);  // the probe
  const auto times = dest.request_times();
  EXPECT_GE(times.back() - times[at_open - 1], 140ms);
  EXPECT_EQ(only(d).state, SinkState::kReady);
  EXPECT_EQ(dest.messages(), std::vector<std::string>{"x"});
}

TEST(DispatcherTest, TimesOutAgainstAServerThatNeverAnswers) {
  SilentServer silent;
  auto t = target(silent.url(), 1);
  t.timeout = 1s;
  t.delivery.retries = 0;
  Dispatcher d(fast_options());
  d.configure({t}, "vigil-system");
  const auto start = Clock::now();
  d.submit(make("x"));
  ASSERT_TRUE(d.flush(5s));
  EXPECT_GE(Clock::now() - start, 900ms);
  auto s = only(d);
  EXPECT_EQ(s.dropped["retries_exhausted"], 1u);
  EXPECT_NE(s.last_error.find("timed out"), std::string::npos) << s.last_error;
}

TEST(DispatcherTest, SubmitNeverBlocksOnAStalledSinkAndStopCancels) {
  SilentServer silent;
  auto t = target(silent.url(), 1);
  t.timeout = 30s;
  t.delivery.queue_size = 500;
  Dispatcher d(fast_options());
  d.configure({t}, "vigil-system");
  const auto alert = make("x");
  const auto start = Clock::now();
  for (int i = 0; i < 2000; ++i) d.submit(alert);
  EXPECT_LT(Clock::now() - start, 500ms);
  auto s = only(d);
  EXPECT_EQ(s.queued, 500u);
  EXPECT_EQ(s.dropped["queue_full"], 1500u);
  const auto stop_start = Clock::now();
  d.stop();
  EXPECT_LT(Clock::now() - stop_start, 2s);
  EXPECT_EQ(only(d).dropped["shutdown"], 500u);  // no spool
}

// A local output (stdout, file) whose first writes fail, as a full disk would.
class FlakyOutput : public LocalOutput {
 public:
  explicit FlakyOutput(int failures) : failures_(failures) {}
  Result<bool> write(std::span<const Alert> batch) override {
    std::lock_guard lock(mu_);
    if (failures_ > 0) {
      --failures_;
      return make_error("write /var/log/vigil/alerts.json: No space left on device");
    }
    for (const auto& a : batch) written_.push_back(a.message);
    return true;
  }
  std::vector<std::string> written() const {
    std::lock_guard lock(mu_);
    return written_;
  }

 private:
  mutable std::mutex mu_;  // guards the fields below
  int failures_;
  std::vector<std::string> written_;
};

TEST(DispatcherTest, LocalOutputErrorsAreRetriedLikeHttpFailures) {
  auto out = std::make_shared<FlakyOutput>(2);
  SinkTarget t;
  t.ns = "vigil-system";
  t.name = "file";
  t.type = api::v1alpha1::SinkType::kFile;
  t.local = out;
  t.delivery.backoff_initial_seconds = 1;
  t.delivery.backoff_max_seconds = 2;
  Dispatcher d(fast_options());
  d.configure({t}, "vigil-system");
  for (const auto& m : numbered(10)) d.submit(make(m));
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(out->written(), numbered(10));
  const auto s = only(d);
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.delivered, 10u);
  EXPECT_NE(s.last_error.find("No space left"), std::string::npos);
}

TEST(DispatcherTest, DryRunAlertsAreNeverDelivered) {
  Destination dest;
  dest.start();
  Dispatcher d(fast_options());
  d.configure({target(dest.url(), 1)}, "vigil-system");
  auto dry = make("dry");
  dry.mode = rules::RuleMode::kDryRun;
  d.submit(dry);
  d.submit(make("real"));
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(dest.messages(), std::vector<std::string>{"real"});
  EXPECT_EQ(only(d).delivered, 1u);
}

TEST(DispatcherTest, HotSwapKeepsQueuesAndRemovedSinksDrainThenDrop) {
  Destination dest;   // down
  Destination other;  // down, never comes up
  Dispatcher d(fast_options());
  d.configure({target(dest.url(), 1, "a"), target(other.url(), 1, "b")}, "vigil-system");
  for (const auto& m : numbered(5)) d.submit(make(m));
  // Same a; b removed; a changed c added.
  auto a2 = target(dest.url(), 2, "a");
  a2.generation = 2;
  d.configure({a2, target(dest.url(), 1, "c")}, "vigil-system");
  auto find = [&](const std::string& name) {
    for (auto& s : d.stats())
      if (s.name == name) return s;
    return SinkStats{};
  };
  EXPECT_EQ(find("a").queued, 5u);
  EXPECT_EQ(find("a").generation, 2);
  EXPECT_TRUE(find("b").removing);
  dest.start();
  ASSERT_TRUE(d.flush(5s));
  EXPECT_EQ(dest.messages(), numbered(5));  // a's queue survived the swap; c got nothing
  EXPECT_EQ(find("a").delivered, 5u);
  ASSERT_TRUE(eventually([&] { return find("b").dropped["sink_removed"] == 5; }));
}

TEST(DispatcherTest, SpoolCarriesQueuedAlertsAcrossARestart) {
  const auto dir = std::filesystem::path(::testing::TempDir()) /
                   ("vigil-dispatch-spool-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  Destination dest;  // down
  auto o = fast_options();
  o.spool_dir = dir.string();
  const auto expected = numbered(25);
  {
    Dispatcher d(o);
    d.configure({target(dest.url(), 4)}, "vigil-system");
    for (const auto& m : expected) d.submit(make(m));
    std::this_thread::sleep_for(30ms);
    d.stop();
    auto s = only(d);
    EXPECT_EQ(s.dropped_total(), 0u);
    EXPECT_EQ(s.spool.appended, 25u);
  }
  dest.start();
  {
    Dispatcher d(o);
    d.configure({target(dest.url(), 4)}, "vigil-system");
    d.submit(make("after restart"));
    ASSERT_TRUE(d.flush(5s));
    auto want = expected;
    want.push_back("after restart");
    EXPECT_EQ(dest.messages(), want);
    EXPECT_EQ(only(d).spool.recovered, 25u);
  }
  {
    Dispatcher d(o);  // everything was acknowledged: nothing comes back
    d.configure({target(dest.url(), 4)}, "vigil-system");
    ASSERT_TRUE(d.flush(5s));
    EXPECT_EQ(only(d).spool.recovered, 0u);
    EXPECT_EQ(dest.messages().size(), 26u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::alerts
