#include "agent/capture.h"

#include <time.h>

#include <mutex>
#include <thread>

#include "agent/alert_writer.h"
#include "agent/container_id.h"
#include "agent/event_decoder.h"
#include "agent/event_types.h"
#include "agent/probe.h"
#include "agent/process_table.h"
#include "common/alerts/alert.h"
#include "spdlog/spdlog.h"

namespace vigil::agent {
namespace {

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::vector<bool> interest_of(const rules::RuleSet* set, std::vector<std::string_view>* missing) {
  const rules::SourceRules* src = set != nullptr ? set->source("syscall") : nullptr;
  std::vector<bool> needed = src != nullptr ? src->needed_event_types() : std::vector<bool>{};
  return interest_for(needed, missing);
}

std::vector<bool> union_of(const std::vector<bool>& a, const std::vector<bool>& b) {
  std::vector<bool> out(std::max(a.size(), b.size()), false);
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = (i < a.size() && a[i]) || (i < b.size() && b[i]);
  }
  return out;
}

std::span<const bool> as_span(const std::vector<bool>& v, std::vector<uint8_t>& buf) {
  buf.assign(v.begin(), v.end());
  return {reinterpret_cast<const bool*>(buf.data()), buf.size()};
}

}  // namespace

struct Capture::Impl {
  AgentConfig config;
  AlertWriter* writer = nullptr;
  Probe* probe = nullptr;
  CaptureCounters* counters = nullptr;
  std::shared_ptr<spdlog::logger> log;

  // --- owned by the capture thread ---
  std::unique_ptr<ProcessTable> processes;
  std::unique_ptr<CgroupResolver> cgroups;
  std::unique_ptr<EventDecoder> decoder;
  std::shared_ptr<const rules::RuleSet> rules;  // in use
  const rules::SourceRules* syscall = nullptr;
  rules::EvalContext ctx;
  uint64_t applied_generation = 0;
  std::vector<bool> interest;   // of `rules`
  uint64_t drops_reported = 0;  // drops already covered by a drop alert
  int64_t last_drop_alert_ns = 0;
  int64_t last_gc_ns = 0;
  int64_t last_drop_check_ns = 0;
  std::vector<uint8_t> interest_buf;
  std::vector<uint32_t> match_buf;
  // This thread is the only writer of the counters below: it keeps them in plain integers and
  // publishes each new value with a relaxed store (a plain move), not an atomic add per record.
  uint64_t n_records = 0;
  uint64_t n_events = 0;
  uint64_t n_alerts = 0;

  // --- shared with swap_rules() ---
  mutable std::mutex swap_mu;  // guards pending, pending_interest, published_interest, missing
  std::shared_ptr<const rules::RuleSet> pending;
  std::vector<bool> published_interest;  // what the kernel table holds now
  std::vector<std::string> missing;
  std::atomic<uint64_t> pending_generation{0};

  std::atomic<bool> stopping{false};
  std::thread thread;

  static int on_record(void* self, const void* data, size_t size) {
    static_cast<Impl*>(self)->handle(data, size);
    return 0;
  }

  void handle(const void* data, size_t size) {
    // The next record, once written, follows this one in the ring: its 8-byte ring header, then
    // the data, 8-byte aligned (the ring's pages are mapped twice, so it is contiguous even at
    // the wrap). Start moving its first lines from the producing CPU's cache now; a prefetch has
    // no effect on correctness and never faults, whether or not the record exists yet.
    const char* next = static_cast<const char*>(data) + ((size + 7) & ~size_t{7}) + 8;
    __builtin_prefetch(next);
    __builtin_prefetch(next + 64);
    __builtin_prefetch(next + 128);
    __builtin_prefetch(next + 192);
    counters->records.store(++n_records, std::memory_order_relaxed);
    const fields::SyscallEvent* ev = decoder->decode(data, size);
    if (ev == nullptr) {
      decoder->finish_event();
      return;
    }
    if (syscall != nullptr) {
      counters->events.store(++n_events, std::memory_order_relaxed);
      const auto matches = syscall->evaluate(ev, ctx);
      if (!matches.empty()) {
        // Rendering reuses the context: copy the matches first (capacity is kept).
        match_buf.assign(matches.begin(), matches.end());
        for (uint32_t i : match_buf) {
          const auto& rule = syscall->rules()[i];
          counters->alerts.store(++n_alerts, std::memory_order_relaxed);
          writer->push(alerts::make_alert(rule, syscall->source(), ev, ctx, config.hostname));
        }
      }
    }
    decoder->finish_event();
  }

  void apply_pending() {
    std::shared_ptr<const rules::RuleSet> next;
    uint64_t gen = 0;
    {
      std::lock_guard lock(swap_mu);
      next = std::move(pending);
      gen = pending_generation.load();
    }
    if (next == nullptr) return;
    rules = std::move(next);
    syscall = rules->source("syscall");
    applied_generation = gen;
    counters->generation.store(gen, std::memory_order_relaxed);
    // Narrow the kernel table to what this set needs (it was widened to old ∪ new).
    interest = interest_of(rules.get(), nullptr);
    std::lock_guard lock(swap_mu);
    if (pending == nullptr) {  // no newer set already widened the table
      probe->set_interest(as_span(interest, interest_buf));
      published_interest = interest;
    }
  }

  void check_drops(int64_t now) {
    uint64_t drops = 0;
    for (uint64_t d : probe->drops_per_cpu()) drops += d;
    if (drops <= drops_reported) return;
    if (last_drop_alert_ns != 0 &&
        now - last_drop_alert_ns < static_cast<int64_t>(config.drop_alert_seconds) * 1000000000) {
      return;  // rate-limited: the next alert reports these too
    }
    const uint64_t n = drops - drops_reported;
    drops_reported = drops;
    last_drop_alert_ns = now;
    alerts::Alert a;
    a.time_ns = realtime_ns();
    a.rule = "Vigil internal: syscall event drop";
    a.priority = rules::Priority::kCritical;
    a.source = "internal";
    a.hostname = config.hostname;
    a.message = "Syscall events were dropped: " + std::to_string(n) +
                " events lost because the ring buffer was full (total " + std::to_string(drops) +
                "; a larger --ring-bytes or fewer rules helps)";
    a.output_fields.push_back({"n_drops", std::to_string(n)});
    a.output_fields.push_back({"n_drops_total", std::to_string(drops)});
    a.output_fields.push_back({"n_evts", std::to_string(counters->records.load())});
    a.tags = {"vigil", "internal"};
    counters->drop_alerts.fetch_add(1, std::memory_order_relaxed);
    writer->push(std::move(a));
  }

  void run() {
    while (!stopping.load(std::memory_order_relaxed)) {
      if (pending_generation.load(std::memory_order_acquire) != applied_generation) {
        apply_pending();
      }
      const int n = probe->poll(config.poll_timeout_ms, &Impl::on_record, this);
      if (n < 0) {
        log->error("Polling the ring buffer failed: errno {}", -n);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      const int64_t now = monotonic_ns();
      counters->last_loop_ns.store(now, std::memory_order_relaxed);
      if (now - last_drop_check_ns >= 1000000000) {
        last_drop_check_ns = now;
        check_drops(now);
      }
      if (now - last_gc_ns >= 5000000000) {
        last_gc_ns = now;
        decoder->finish_event();
        processes->gc();
        cgroups->gc();
        counters->processes.store(processes->size(), std::memory_order_relaxed);
        counters->decode_errors.store(decoder->stats().malformed, std::memory_order_relaxed);
      }
    }
    // Drain what is already in the ring so a clean stop loses nothing that was captured.
    probe->consume(&Impl::on_record, this);
  }
};

Capture::Capture() : impl_(std::make_unique<Impl>()) {}

Capture::~Capture() { stop(); }

Result<std::unique_ptr<Capture>> Capture::start(const AgentConfig& config,
                                                std::shared_ptr<const rules::RuleSet> rules,
                                                AlertWriter& writer, ContainerMetadata* metadata) {
  ProbeOptions popts;
  popts.ring_bytes = config.ring_bytes;
  popts.wakeup_bytes = config.wakeup_bytes;
  auto probe = Probe::start(popts);
  if (!probe.ok()) return make_error(probe.error());

  std::unique_ptr<Capture> c(new Capture());
  c->probe_ = std::move(probe).value();
  Impl& im = *c->impl_;
  im.config = config;
  im.writer = &writer;
  im.probe = c->probe_.get();
  im.counters = &c->counters_;
  im.log = spdlog::default_logger();
  im.processes = std::make_unique<ProcessTable>();
  im.cgroups = std::make_unique<CgroupResolver>();
  DecoderOptions dopts;
  dopts.hostname = config.hostname;
  dopts.metadata = metadata;
  im.decoder = std::make_unique<EventDecoder>(*im.processes, *im.cgroups, dopts);
  const size_t seeded = im.processes->seed_from_proc();
  c->counters_.processes.store(im.processes->size());
  spdlog::info("Seeded the process table with {} processes from /proc", seeded);

  std::vector<std::string_view> missing;
  im.interest = interest_of(rules.get(), &missing);
  for (auto m : missing) im.missing.emplace_back(m);
  im.rules = std::move(rules);
  im.syscall = im.rules->source("syscall");
  im.applied_generation = 1;
  im.pending_generation.store(1);
  c->counters_.generation.store(1);
  im.probe->set_interest(as_span(im.interest, im.interest_buf));
  im.published_interest = im.interest;
  c->counters_.last_loop_ns.store(monotonic_ns());
  Impl* raw = c->impl_.get();
  im.thread = std::thread([raw] { raw->run(); });
  return c;
}

uint64_t Capture::swap_rules(std::shared_ptr<const rules::RuleSet> rules) {
  Impl& im = *impl_;
  std::vector<std::string_view> missing;
  const std::vector<bool> next = interest_of(rules.get(), &missing);
  std::lock_guard lock(im.swap_mu);
  // Widen first: events the new set needs flow from now on, and the old set keeps its own.
  im.published_interest = union_of(im.published_interest, next);
  std::vector<uint8_t> buf;
  im.probe->set_interest(as_span(im.published_interest, buf));
  im.missing.clear();
  for (auto m : missing) im.missing.emplace_back(m);
  im.pending = std::move(rules);
  const uint64_t gen = im.pending_generation.load() + 1;
  im.pending_generation.store(gen, std::memory_order_release);
  return gen;
}

std::vector<std::string> Capture::uncaptured_types() const {
  std::lock_guard lock(impl_->swap_mu);
  return impl_->missing;
}

bool Capture::healthy(int64_t max_age_ms) const {
  if (impl_->stopping.load() || !impl_->thread.joinable()) return false;
  return monotonic_ns() - counters_.last_loop_ns.load() <= max_age_ms * 1000000;
}

void Capture::stop() {
  impl_->stopping.store(true);
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace vigil::agent
