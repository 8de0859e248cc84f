// Alert delivery figures (issue 7): the Dispatcher to a local webhook (common/http HttpServer on
// loopback), Falco JSON bodies.
//
//   throughput   alerts/s for a burst of alerts, unbatched (one alert per request) and batched
//                (up to 100 per request), without and with the on-disk spool
//   latency      p50/p99 from submit() to the server's receipt at a paced 1,000 alerts/s
//   memory       RSS growth for 10,000 alerts queued behind a sink that is down
//
// Run: build/alert_dispatch_bench. A plain main: each figure is one timed run, printed.

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/alerts/dispatcher.h"
#include "common/http/server.h"

namespace {

using namespace vigil;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Falco's JSON, one object per alert, as a JSON array (the webhook batch shape).
class FalcoBatchEncoder : public alerts::Encoder {
 public:
  FalcoBatchEncoder(std::string url, size_t max_batch) : url_(std::move(url)), max_(max_batch) {}
  size_t max_batch() const override { return max_; }
  alerts::HttpRequest encode(std::span<const alerts::Alert> batch) const override {
    alerts::HttpRequest r;
    r.url = url_;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = "[";
    for (const auto& a : batch) {
      if (r.body.size() > 1) r.body += ',';
      r.body += alerts::to_falco_json(a);
    }
    r.body += ']';
    return r;
  }

 private:
  std::string url_;
  size_t max_;
};

alerts::Alert realistic_alert(int64_t seq) {
  alerts::Alert a;
  a.time_ns = 1'700'000'000'000'000'000;
  a.rule = "Terminal shell in container";
  a.priority = rules::Priority::kNotice;
  a.source = "syscall";
  a.hostname = "worker-1";
  a.message =
      "A shell was spawned in a container with an attached terminal (evt_type=execve "
      "user=root user_uid=0 process=bash proc_exepath=/usr/bin/bash parent=runc "
      "command=bash -il terminal=34816 container_id=6b1f2c4a9d01 container_name=web)";
  a.output_fields = {{"bench.seq", seq},
                     {"proc.name", std::string("bash")},
                     {"proc.cmdline", std::string("bash -il")},
                     {"user.name", std::string("root")},
                     {"k8s.ns.name", std::string("shop")},
                     {"k8s.pod.name", std::string("web-5d8f7c9b4-x2x9k")},
                     {"container.id", std::string("6b1f2c4a9d01")}};
  a.tags = {"container", "shell", "mitre_execution", "T1059"};
  a.event_namespace = "shop";
  a.event_pod = "web-5d8f7c9b4-x2x9k";
  return a;
}

// Receives batches and stamps each alert's arrival by its bench.seq.
struct Receiver {
  std::mutex mu;  // guards arrivals
  std::vector<Clock::time_point> arrivals;
  std::atomic<int64_t> received{0};
  std::unique_ptr<http::HttpServer> server;

  explicit Receiver(size_t capacity) : arrivals(capacity) {
    http::ServerOptions o;
    o.threads = 1;
    o.body_limit = 8u << 20;
    auto s =
        http::HttpServer::start(o, {http::route("POST", "/hook", [this](const http::Request& r) {
                                  on_request(r.body);
                                  return http::Response{};
                                })});
    if (!s) {
      std::fprintf(stderr, "server: %s\n", s.error().c_str());
      std::exit(1);
    }
    server = std::move(*s);
  }
  ~Receiver() { server->stop(); }

  void on_request(const std::string& body) {
    const auto now = Clock::now();
    static constexpr std::string_view kKey = "\"bench.seq\":";
    int64_t n = 0;
    std::lock_guard lock(mu);
    for (size_t pos = body.find(kKey); pos != std::string::npos; pos = body.find(kKey, pos)) {
      pos += kKey.size();
      const int64_t seq = std::strtoll(body.c_str() + pos, nullptr, 10);
      if (seq >= 0 && static_cast<size_t>(seq) < arrivals.size()) arrivals[seq] = now;
      ++n;
    }
    received += n;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()) + "/hook"; }
};

alerts::SinkTarget webhook(const std::string& url, size_t max_batch, int queue_size) {
  alerts::SinkTarget t;
  t.ns = "vigil-system";
  t.name = "bench";
  t.generation = 1;
  t.type = api::v1alpha1::SinkType::kWebhook;
  t.encoder = std::make_shared<FalcoBatchEncoder>(url, max_batch);
  t.delivery.queue_size = queue_size;
  t.delivery.retries = 1000;
  return t;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

long rss_kib() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

std::string spool_root() {
  return (std::filesystem::temp_directory_path() /
          ("vigil-bench-spool-" + std::to_string(getpid())))
      .string();
}

void throughput(const char* label, size_t max_batch, bool spool) {
  constexpr int kAlerts = 20000;
  Receiver rx(kAlerts);
  alerts::DispatcherOptions o;
  o.hostname = "worker-1";
  if (spool) o.spool_dir = spool_root();
  alerts::Dispatcher d(o);
  d.configure({webhook(rx.url(), max_batch, kAlerts)}, "vigil-system");
  std::vector<alerts::Alert> batch;
  for (int i = 0; i < kAlerts; ++i) batch.push_back(realistic_alert(i));
  const auto start = Clock::now();
  for (const auto& a : batch) d.submit(a);
  const auto submitted = Clock::now();
  if (!d.flush(120s)) std::printf("  (flush timed out)\n");
  const auto end = Clock::now();
  const double secs = std::chrono::duration<double>(end - start).count();
  const double submit_us =
      std::chrono::duration<double, std::micro>(submitted - start).count() / kAlerts;
  const auto s = d.stats().front();
  std::printf(
      "%-34s %9.0f alerts/s  (%d alerts in %.2f s, submit %.2f us/alert, delivered %llu, "
      "dropped %llu)\n",
      label, kAlerts / secs, kAlerts, secs, submit_us, static_cast<unsigned long long>(s.delivered),
      static_cast<unsigned long long>(s.dropped_total()));
  d.stop();
  if (spool) std::filesystem::remove_all(o.spool_dir);
}

void latency(const char* label, size_t max_batch) {
  constexpr int kAlerts = 2000;
  constexpr auto kInterval = 1ms;  // 1,000 alerts/s
  Receiver rx(kAlerts);
  alerts::DispatcherOptions o;
  o.hostname = "worker-1";
  alerts::Dispatcher d(o);
  d.configure({webhook(rx.url(), max_batch, kAlerts)}, "vigil-system");
  std::vector<Clock::time_point> sent(kAlerts);
  auto next = Clock::now();
  for (int i = 0; i < kAlerts; ++i) {
    std::this_thread::sleep_until(next);
    const auto a = realistic_alert(i);
    sent[i] = Clock::now();
    d.submit(a);
    next += kInterval;
  }
  d.flush(60s);
  std::vector<double> ms;
  {
    std::lock_guard lock(rx.mu);
    for (int i = 0; i < kAlerts; ++i) {
      if (rx.arrivals[i] != Clock::time_point{}) {
        ms.push_back(std::chrono::duration<double, std::milli>(rx.arrivals[i] - sent[i]).count());
      }
    }
  }
  std::printf("%-34s p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%zu alerts at 1,000/s)\n", label,
              percentile(ms, 0.50), percentile(ms, 0.99), percentile(ms, 1.0), ms.size());
  d.stop();
}

void memory() {
  constexpr int kAlerts = 10000;
  // A port nobody listens on: every attempt is refused, the queue only grows.
  uint16_t port = 0;
  {
    auto s = http::HttpServer::start({}, {});
    port = (*s)->port();
    (*s)->stop();
  }
  alerts::DispatcherOptions o;
  o.hostname = "worker-1";
  alerts::Dispatcher d(o);
  d.configure({webhook("http://127.0.0.1:" + std::to_string(port) + "/hook", 1, 2 * kAlerts)},
              "vigil-system");
  std::this_thread::sleep_for(100ms);
  const long before = rss_kib();
  const size_t heap_before = mallinfo2().uordblks;
  for (int i = 0; i < kAlerts; ++i) d.submit(realistic_alert(i));
  std::this_thread::sleep_for(200ms);
  const long after = rss_kib();
  const size_t heap_after = mallinfo2().uordblks;
  const auto s = d.stats().front();
  std::printf(
      "%-34s RSS +%ld KiB, main-arena heap +%zu KiB for %llu queued alerts "
      "(%.0f bytes/alert by RSS; its Falco JSON is %zu bytes)\n",
      "memory, 10,000 queued (sink down)", after - before, (heap_after - heap_before) / 1024,
      static_cast<unsigned long long>(s.queued),
      1024.0 * static_cast<double>(after - before) / kAlerts,
      alerts::to_falco_json(realistic_alert(0)).size());
  d.stop();
}

}  // namespace

int main() {
  spdlog::set_level(spdlog::level::err);
  std::printf("Alert dispatch to a loopback webhook (Falco JSON, 7 output fields)\n");
  memory();  // first, before other runs leave freed heap behind
  throughput("throughput, unbatched", 1, false);
  throughput("throughput, batched (100)", 100, false);
  throughput("throughput, unbatched + spool", 1, true);
  throughput("throughput, batched (100) + spool", 100, true);
  latency("latency, unbatched", 1);
  latency("latency, batched (100, 50 ms linger)", 100);
  return 0;
}
