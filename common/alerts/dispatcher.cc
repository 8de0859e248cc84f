#include "common/alerts/dispatcher.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/alerts/delivery_limits.h"
#include "common/alerts/http_transport.h"

namespace vigil::alerts {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int64_t kMaxRetryAfterSeconds = 3600;
constexpr size_t kLocalBatch = 256;  // stdout and file sinks

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = [] {
    if (auto registered = spdlog::get("alerts")) return registered;
    return spdlog::default_logger()->clone("alerts");
  }();
  return *instance;
}

std::string local_hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

struct Item {
  Alert alert;
  uint64_t seq = 0;  // in the spool; 0 when not spooled
  Clock::time_point queued_at;
};

enum class Outcome { kDelivered, kRetry, kRejected };

}  // namespace

const char* to_string(SinkState s) {
  switch (s) {
    case SinkState::kReady:
      return "Ready";
    case SinkState::kDegraded:
      return "Degraded";
    case SinkState::kCircuitOpen:
      return "CircuitOpen";
  }
  return "Unknown";
}

uint64_t SinkStats::dropped_total() const {
  uint64_t n = 0;
  for (const auto& [reason, count] : dropped) n += count;
  return n;
}

// One sink: its queue, its suppression state and its delivery thread.
class SinkWorker {
 public:
  SinkWorker(std::shared_ptr<const SinkTarget> target, const DispatcherOptions& options,
             std::string hostname, std::unique_ptr<Spool> spool)
      : options_(options),
        limits_(std::move(hostname), target->ns, target->name, options.time_scale),
        rng_(std::random_device{}()),
        spool_(std::move(spool)) {
    target_ = std::move(target);
    stats_.ns = target_->ns;
    stats_.name = target_->name;
    stats_.generation = target_->generation;
    if (spool_) {
      for (auto& r : spool_->take_recovered()) {
        pending_.push_back({std::move(r.alert), r.seq, Clock::now()});
      }
      stats_.queued = pending_.size();
      stats_.spool = spool_->stats();
    }
    thread_ = std::thread([this] { run(); });
  }

  ~SinkWorker() { stop_and_join(); }

  void stop_and_join() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cancel_.store(true);
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void update_target(std::shared_ptr<const SinkTarget> target) {
    {
      std::lock_guard lock(mu_);
      if (target->generation != target_->generation) {
        target_changed_ = true;
        limits_.reset_dedup();  // repeats already counted stay in stats
        stats_.generation = target->generation;
      }
      target_ = std::move(target);
    }
    cv_.notify_all();
  }

  void retire(Clock::time_point deadline) {
    {
      std::lock_guard lock(mu_);
      retire_deadline_ = deadline;
      stats_.removing = true;
    }
    cv_.notify_all();
  }

  // Undoes retire(); false when the thread already ended.
  bool revive() {
    std::lock_guard lock(mu_);
    if (exiting_) return false;
    retire_deadline_.reset();
    stats_.removing = false;
    return true;
  }

  bool finished() const {
    std::lock_guard lock(mu_);
    return exiting_;
  }

  SinkStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

  // The submit path: dedup, rate limit, queue bound. Never blocks beyond mu_.
  void offer(const Alert& alert) {
    bool queued = false;
    {
      std::lock_guard lock(mu_);
      queued = offer_locked(alert, Clock::now());
    }
    if (queued) cv_.notify_one();
  }

 private:
  // ------------------------------------------------------------------ submit side (mu_ held)

  bool offer_locked(const Alert& alert, Clock::time_point now) {
    if (stopping_ || exiting_) {  // a submit racing stop() or the end of a removed sink
      ++stats_.dropped[retire_deadline_ && !stopping_ ? "sink_removed" : "shutdown"];
      return false;
    }
    std::vector<Alert> notices;
    const auto verdict = limits_.admit(alert, target_->delivery, now, notices);
    for (const Alert& a : notices) enqueue(a, /*internal=*/true, Clock::now());
    if (verdict == DeliveryLimits::Verdict::kRepeat) {
      ++stats_.deduplicated;
      return false;
    }
    if (verdict == DeliveryLimits::Verdict::kSuppressed) {
      ++stats_.suppressed;
      return false;
    }
    return enqueue(alert, /*internal=*/false, now);
  }

  bool enqueue(const Alert& alert, bool internal, Clock::time_point now) {
    const auto bound = static_cast<uint64_t>(std::max(1, target_->delivery.queue_size));
    // Summaries may exceed the bound: there are at most a few per interval.
    if (!internal && stats_.queued >= bound) {
      ++stats_.dropped["queue_full"];
      limits_.count_queue_full(alert);
      return false;
    }
    inbox_.push_back({alert, 0, now});
    ++stats_.queued;
    return true;
  }

  // Queues the summary of the alerts dropped while the queue was full, if any.
  void emit_queue_full_summary() {
    if (auto a = limits_.take_queue_full_summary()) enqueue(*a, /*internal=*/true, Clock::now());
  }

  // Closes due dedup windows and rate-limit intervals; returns the next time to look again.
  Clock::time_point process_timers(Clock::time_point now) {
    std::vector<Alert> notices;
    const auto next = limits_.close_due(now, notices);
    for (const Alert& a : notices) enqueue(a, /*internal=*/true, Clock::now());
    return next;
  }

  milliseconds scaled(int64_t seconds) const {
    return scaled_seconds(seconds, options_.time_scale);
  }

  // ------------------------------------------------------------------ delivery thread

  // Moves submitted alerts into pending_, spooling them first.
  void take(std::deque<Item>& incoming) {
    if (incoming.empty()) return;
    if (spool_) {
      std::vector<Alert> alerts;
      alerts.reserve(incoming.size());
      for (const auto& item : incoming) alerts.push_back(item.alert);
      auto first = spool_->append(alerts);
      if (first) {
        uint64_t seq = *first;
        for (auto& item : incoming) item.seq = seq++;
      } else if (spool_->stats().write_errors == 1) {
        logger().warn("Spooling alerts for sink {}/{} failed, keeping them in memory: {}",
                      stats_.ns, stats_.name, first.error());
      }
      std::lock_guard lock(mu_);
      stats_.spool = spool_->stats();
    }
    for (auto& item : incoming) pending_.push_back(std::move(item));
    incoming.clear();
  }

  // Waits until `until` or until wake() holds (checked with mu_ held), taking submitted alerts
  // into pending_ meanwhile. False when the thread must end.
  template <typename Wake>
  bool wait_until(Clock::time_point until, Wake wake) {
    for (;;) {
      std::deque<Item> incoming;
      bool exit = false;
      bool done = false;
      {
        std::unique_lock lock(mu_);
        for (;;) {
          const auto now = Clock::now();
          const auto next_timer = process_timers(now);
          exit = must_exit(now);
          if (!inbox_.empty()) incoming.swap(inbox_);
          if (exit || !incoming.empty()) break;
          if (wake() || now >= until) {
            done = true;
            break;
          }
          auto deadline = std::min(until, next_timer);
          if (retire_deadline_) deadline = std::min(deadline, *retire_deadline_);
          cv_.wait_until(lock, deadline);
        }
      }
      take(incoming);
      if (exit) return false;
      if (done) return true;
    }
  }

  bool must_exit(Clock::time_point now) {
    if (stopping_ ||
        (retire_deadline_ && (now >= *retire_deadline_ || (pending_.empty() && inbox_.empty())))) {
      exiting_ = true;
    }
    return exiting_;
  }

  void run() {
    for (;;) {
      if (!wait_until(Clock::time_point::max(), [this] { return !pending_.empty(); })) break;
      std::shared_ptr<const SinkTarget> target;
      {
        std::lock_guard lock(mu_);
        target = target_;
      }
      const size_t max_batch =
          target->encoder ? std::max<size_t>(1, target->encoder->max_batch()) : kLocalBatch;
      if (max_batch > 1 && pending_.size() < max_batch) {
        const auto until = pending_.front().queued_at + options_.linger;
        if (!wait_until(until, [this, max_batch] { return pending_.size() >= max_batch; })) break;
      }
      if (!deliver(std::min(max_batch, pending_.size()))) break;
    }
    finish();
  }

  // Delivers the first n pending alerts, retrying; false when the thread must end.
  bool deliver(size_t n) {
    std::vector<Alert> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) batch.push_back(pending_[i].alert);
    int attempt = 0;
    for (;;) {
      std::shared_ptr<const SinkTarget> target;
      {
        std::lock_guard lock(mu_);
        if (target_changed_) {
          target_changed_ = false;
          attempt = 0;
          breaker_until_.reset();
        }
        target = target_;
      }
      if (breaker_until_ && Clock::now() < *breaker_until_) {
        if (!wait_until(*breaker_until_, [this] { return target_changed_; })) return false;
        continue;
      }
      std::optional<std::chrono::seconds> retry_after;
      std::string error;
      const Outcome outcome = attempt_once(*target, batch, retry_after, error);
      const auto now = Clock::now();
      const api::v1alpha1::Delivery& d = target->delivery;
      if (outcome == Outcome::kDelivered) {
        std::lock_guard lock(mu_);
        stats_.delivered += n;
        stats_.consecutive_failures = 0;
        stats_.state = SinkState::kReady;
        stats_.last_delivery_time = std::chrono::system_clock::now();
        breaker_until_.reset();
        settle(n);
        emit_queue_full_summary();  // recovered: report what the full queue cost
        return true;
      }
      std::unique_lock lock(mu_);
      ++stats_.failed;
      stats_.last_error = error;
      if (outcome == Outcome::kRejected) {
        stats_.dropped["rejected"] += n;
        stats_.state = SinkState::kDegraded;
        settle(n);
        lock.unlock();
        logger().warn("Sink {}/{} rejected {} alerts: {}", target->ns, target->name, n, error);
        return true;
      }
      ++stats_.consecutive_failures;
      if (stats_.consecutive_failures >= options_.breaker_threshold) {
        breaker_until_ = now + scaled(d.backoff_max_seconds);
        if (stats_.state != SinkState::kCircuitOpen) {
          logger().warn("Opened the circuit of sink {}/{} after {} failures: {}", target->ns,
                        target->name, stats_.consecutive_failures, error);
        }
        stats_.state = SinkState::kCircuitOpen;
      } else {
        stats_.state = SinkState::kDegraded;
      }
      if (++attempt > d.retries) {
        stats_.dropped["retries_exhausted"] += n;
        settle(n);
        lock.unlock();
        logger().warn("Dropped {} alerts for sink {}/{} after {} attempts: {}", n, target->ns,
                      target->name, attempt, error);
        return true;
      }
      lock.unlock();
      milliseconds delay = backoff(d, attempt);
      if (retry_after) {
        delay = scaled(std::min<int64_t>(retry_after->count(), kMaxRetryAfterSeconds));
      }
      if (!wait_until(now + delay, [this] { return target_changed_; })) return false;
    }
  }

  // Exponential, with full jitter between the initial delay and the grown one (capped by max).
  milliseconds backoff(const api::v1alpha1::Delivery& d, int attempt) {
    const double initial =
        static_cast<double>(scaled(std::max(0, d.backoff_initial_seconds)).count());
    const double cap =
        std::max(initial, static_cast<double>(scaled(d.backoff_max_seconds).count()));
    const double grown = std::min(cap, initial * std::pow(2.0, std::min(attempt - 1, 30)));
    std::uniform_real_distribution<double> dist(initial, std::max(initial, grown));
    return milliseconds(std::max<int64_t>(1, static_cast<int64_t>(dist(rng_))));
  }

  Outcome attempt_once(const SinkTarget& target, const std::vector<Alert>& batch,
                       std::optional<std::chrono::seconds>& retry_after, std::string& error) {
    if (target.local) {
      auto r = target.local->write(batch);
      if (r) return Outcome::kDelivered;
      error = r.error();
      return Outcome::kRetry;
    }
    if (!target.encoder) {
      error = "the sink has neither an encoder nor a local output";
      return Outcome::kRejected;
    }
    const HttpRequest request = target.encoder->encode(batch);
    const HttpResult r = transport_.send(request, target.tls, target.timeout, &cancel_);
    if (r.ok()) return Outcome::kDelivered;
    error = r.error;
    if (r.status == 429 || r.status == 503) retry_after = r.retry_after;
    if (r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429) {
      return Outcome::kRejected;
    }
    return Outcome::kRetry;
  }

  // The first n pending alerts are done (delivered or dropped). mu_ held.
  void settle(size_t n) {
    uint64_t last_seq = 0;
    for (size_t i = 0; i < n; ++i) {
      last_seq = std::max(last_seq, pending_.front().seq);
      pending_.pop_front();
    }
    stats_.queued -= std::min<uint64_t>(stats_.queued, n);
    if (spool_ && last_seq > 0) {
      spool_->acknowledge(last_seq);
      stats_.spool = spool_->stats();
    }
  }

  void finish() {
    std::deque<Item> incoming;
    bool removed = false;
    {
      std::lock_guard lock(mu_);
      incoming.swap(inbox_);
      removed = !stopping_ && retire_deadline_.has_value();
    }
    if (removed) {
      std::lock_guard lock(mu_);
      const uint64_t n = pending_.size() + incoming.size();
      if (n > 0) {
        stats_.dropped["sink_removed"] += n;
        logger().warn("Dropped {} queued alerts of removed sink {}/{}", n, stats_.ns, stats_.name);
      }
      pending_.clear();
      stats_.queued = 0;
      if (spool_) spool_->remove();
      return;
    }
    take(incoming);  // into the spool for the next start
    std::lock_guard lock(mu_);
    if (!spool_ && !pending_.empty()) {
      stats_.dropped["shutdown"] += pending_.size();
      logger().warn("Dropped {} queued alerts of sink {}/{} at shutdown (no spool)",
                    pending_.size(), stats_.ns, stats_.name);
      pending_.clear();
      stats_.queued = 0;
    }
  }

  const DispatcherOptions options_;

  mutable std::mutex mu_;  // guards the fields down to the marker below
  std::condition_variable cv_;
  std::shared_ptr<const SinkTarget> target_;
  bool target_changed_ = false;
  std::deque<Item> inbox_;
  SinkStats stats_;
  bool stopping_ = false;
  bool exiting_ = false;
  std::optional<Clock::time_point> retire_deadline_;
  DeliveryLimits limits_;  // dedup windows, rate limit, queue-full tally
  // --- end of mu_-guarded fields; the rest belongs to the delivery thread.

  std::atomic<bool> cancel_{false};
  std::mt19937_64 rng_;
  std::deque<Item> pending_;  // taken from the inbox (and spooled), oldest first
  std::unique_ptr<Spool> spool_;
  HttpTransport transport_;
  std::optional<Clock::time_point> breaker_until_;
  std::thread thread_;  // last: starts after everything above is built
};

struct Dispatcher::Impl {
  struct Route {
    std::shared_ptr<SinkWorker> sink;
    std::shared_ptr<const SinkTarget> target;
  };
  struct RouteTable {
    std::vector<Route> routes;
    std::string cluster_namespace;
  };

  DispatcherOptions options;
  std::string hostname;

  std::mutex config_mu;  // serialises configure() and stop(); guards active, retiring, stopped
  std::map<std::pair<std::string, std::string>, std::shared_ptr<SinkWorker>> active;
  std::vector<std::shared_ptr<SinkWorker>> retiring;
  bool stopped = false;

  std::mutex routes_mu;  // guards routes (the pointer; the table is immutable)
  std::shared_ptr<const RouteTable> routes = std::make_shared<RouteTable>();

  void publish(std::shared_ptr<const RouteTable> table) {
    std::lock_guard lock(routes_mu);
    routes = std::move(table);
  }

  std::shared_ptr<const RouteTable> current_routes() {
    std::lock_guard lock(routes_mu);
    return routes;
  }

  void reap() {
    std::erase_if(retiring, [](const std::shared_ptr<SinkWorker>& s) { return s->finished(); });
  }
};

Dispatcher::Dispatcher(DispatcherOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.time_scale <= 0) impl_->options.time_scale = 1.0;
  impl_->hostname = impl_->options.hostname.empty() ? local_hostname() : impl_->options.hostname;
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::configure(std::vector<SinkTarget> sinks, std::string cluster_namespace) {
  std::lock_guard lock(impl_->config_mu);
  if (impl_->stopped) return;
  impl_->reap();
  auto table = std::make_shared<Impl::RouteTable>();
  table->cluster_namespace = std::move(cluster_namespace);
  std::map<std::pair<std::string, std::string>, std::shared_ptr<SinkWorker>> next;
  for (auto& s : sinks) {
    auto key = std::make_pair(s.ns, s.name);
    if (next.count(key) != 0) {
      logger().warn("Ignored a second sink {}/{} in the configuration", s.ns, s.name);
      continue;
    }
    auto target = std::make_shared<const SinkTarget>(std::move(s));
    std::shared_ptr<SinkWorker> worker;
    if (auto it = impl_->active.find(key); it != impl_->active.end()) {
      worker = it->second;
      worker->update_target(target);
    } else {
      auto r = std::find_if(impl_->retiring.begin(), impl_->retiring.end(), [&](const auto& w) {
        const auto st = w->stats();
        return st.ns == key.first && st.name == key.second;
      });
      if (r != impl_->retiring.end()) {
        auto old = *r;
        impl_->retiring.erase(r);
        if (old->revive()) {
          worker = old;
          worker->update_target(target);
        } else {
          old->stop_and_join();  // its spool is settled before it is opened again
        }
      }
      if (!worker) {
        std::unique_ptr<Spool> spool;
        if (!impl_->options.spool_dir.empty()) {
          auto opened =
              Spool::open(impl_->options.spool_dir, target->ns, target->name, impl_->options.spool);
          if (opened) {
            spool = std::move(*opened);
          } else {
            logger().error("Sink {}/{} runs without a spool: {}", target->ns, target->name,
                           opened.error());
          }
        }
        worker =
            std::make_shared<SinkWorker>(target, impl_->options, impl_->hostname, std::move(spool));
      }
    }
    next[key] = worker;
    table->routes.push_back({worker, target});
  }
  const auto deadline = Clock::now() + impl_->options.removal_grace;
  for (auto& [key, worker] : impl_->active) {
    if (next.count(key) == 0) {
      worker->retire(deadline);
      impl_->retiring.push_back(worker);
    }
  }
  impl_->active = std::move(next);
  impl_->publish(std::move(table));
}

void Dispatcher::submit(const Alert& alert) {
  if (alert.mode == rules::RuleMode::kDryRun) return;
  const auto table = impl_->current_routes();
  for (const auto& route : table->routes) {
    if (sink_accepts(route.target->filter, route.target->ns, table->cluster_namespace, alert)) {
      route.sink->offer(alert);
    }
  }
}

bool Dispatcher::flush(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    bool idle = true;
    for (const auto& s : stats()) idle = idle && (s.queued == 0 || s.removing);
    if (idle) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
}

void Dispatcher::stop() {
  std::lock_guard lock(impl_->config_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->publish(std::make_shared<Impl::RouteTable>());
  auto all = impl_->retiring;
  for (auto& [key, w] : impl_->active) all.push_back(w);
  std::vector<std::thread> joins;
  joins.reserve(all.size());
  for (auto& w : all) joins.emplace_back([w] { w->stop_and_join(); });
  for (auto& t : joins) t.join();
}

std::vector<SinkStats> Dispatcher::stats() const {
  std::vector<std::shared_ptr<SinkWorker>> all;
  {
    std::lock_guard lock(impl_->config_mu);
    for (const auto& [key, w] : impl_->active) all.push_back(w);
    all.insert(all.end(), impl_->retiring.begin(), impl_->retiring.end());
  }
  std::vector<SinkStats> out;
  out.reserve(all.size());
  for (const auto& w : all) out.push_back(w->stats());
  return out;
}

}  // namespace vigil::alerts
