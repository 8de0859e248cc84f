#include "operator/audit/audit_receiver.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include "common/alerts/alert.h"
#include "common/alerts/dispatcher.h"
#include "common/base/diagnostic.h"
#include "common/bundle/compile.h"
#include "common/fields/audit_event.h"
#include "common/rules/rule_set.h"

namespace vigil::op {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxReasonBytes = 200;  // of a 400's body: enough to point at the problem

http::Response text(int status, std::string body) {
  return http::Response{status, "text/plain; charset=utf-8", std::move(body) + "\n", {}};
}

std::string shorten(std::string s) {
  if (s.size() > kMaxReasonBytes) {
    s.resize(kMaxReasonBytes - 3);
    s += "...";
  }
  return s;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// "Bearer <token>" (the scheme is case-insensitive, RFC 7235).
std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return {};
  }
  std::string_view t = header.substr(kScheme.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

struct Batch {
  std::vector<fields::AuditEvent> events;
  size_t bytes = 0;
  Clock::time_point received;
};

// Remembers the most recent `capacity` keys.
class RecentKeys {
 public:
  explicit RecentKeys(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}
  // True when `key` was seen (within the window); remembers it otherwise.
  bool seen(std::string key) {
    if (set_.count(key)) return true;
    order_.push_back(key);
    set_.insert(std::move(key));
    if (order_.size() > capacity_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
    return false;
  }

 private:
  size_t capacity_;
  std::unordered_set<std::string> set_;
  std::deque<std::string> order_;
};

}  // namespace

struct AuditReceiver::Impl {
  AuditReceiverOptions options;
  fields::AuditDecodeOptions decode;
  alerts::Dispatcher* dispatcher;
  std::function<void(const alerts::Alert&)> on_alert;

  mutable std::mutex mu;
  std::condition_variable cv;                   // work for the evaluator, or stop
  std::condition_variable idle_cv;              // the evaluator finished a batch
  std::deque<Batch> queue;                      // guarded by mu
  size_t queued_bytes = 0;                      // guarded by mu
  bool busy = false;                            // guarded by mu: the evaluator holds a batch
  bool stopping = false;                        // guarded by mu
  std::shared_ptr<const rules::RuleSet> rules;  // guarded by mu
  AuditReceiverStats stats;                     // guarded by mu
  std::map<std::pair<std::string, std::string>, AuditRuleCount> counts;  // guarded by mu

  std::thread worker;

  Clock::time_point last_reject_log{};  // guarded by mu

  // Evaluator-only state.
  RecentKeys recent;
  rules::EvalContext ctx;
  std::vector<uint32_t> hits;

  Impl(AuditReceiverOptions o, alerts::Dispatcher* d, std::function<void(const alerts::Alert&)> a)
      : options(std::move(o)), dispatcher(d), on_alert(std::move(a)), recent(options.dedup_window) {
    decode.max_body_bytes = options.max_body_bytes;
    decode.cluster_name = options.cluster_name;
  }

  void run() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, and everything queued is done
      Batch batch = std::move(queue.front());
      queue.pop_front();
      queued_bytes -= batch.bytes;
      busy = true;
      auto rule_set = rules;
      lock.unlock();
      evaluate(batch, rule_set.get());
      lock.lock();
      busy = false;
      idle_cv.notify_all();
    }
  }

  void evaluate(const Batch& batch, const rules::RuleSet* rule_set) {
    const rules::SourceRules* src = rule_set ? rule_set->source("k8s_audit") : nullptr;
    uint64_t duplicates = 0, evaluated = 0, alert_count = 0;
    std::map<uint32_t, std::pair<uint64_t, int64_t>> matched;  // rule index -> alerts, last time
    for (const auto& ev : batch.events) {
      std::string key;
      key.reserve(64);
      key.append(ev.audit_id().str()).push_back('/');
      key.append(ev.stage().str());
      if (recent.seen(std::move(key))) {
        ++duplicates;
        continue;
      }
      ++evaluated;
      if (!src) continue;
      // Copy the matches: rendering an output reuses the context.
      auto span = src->evaluate(&ev, ctx);
      hits.assign(span.begin(), span.end());
      for (uint32_t idx : hits) {
        const rules::CompiledRule& rule = src->rules()[idx];
        alerts::Alert alert = alerts::make_alert(rule, src->source(), &ev, ctx, options.hostname);
        auto& m = matched[idx];
        ++m.first;
        m.second = std::max(m.second, alert.time_ns);
        ++alert_count;
        if (dispatcher) dispatcher->submit(alert);
        if (on_alert) on_alert(alert);
      }
    }
    const double delay = std::chrono::duration<double>(Clock::now() - batch.received).count();
    std::lock_guard<std::mutex> lock(mu);
    stats.duplicates += duplicates;
    stats.evaluated += evaluated;
    stats.alerts += alert_count;
    stats.delay_seconds_sum += delay;
    ++stats.delay_count;
    stats.delay_seconds_max = std::max(stats.delay_seconds_max, delay);
    for (const auto& [idx, m] : matched) {
      const rules::CompiledRule& rule = src->rules()[idx];
      AuditRuleCount& c = counts[{rule.object_namespace, rule.name}];
      c.ns = rule.object_namespace;
      c.name = rule.name;
      c.alerts += m.first;
      c.last_time_ns = std::max(c.last_time_ns, m.second);
    }
  }

  // Called with mu held (options.tokens can change).
  bool authenticated(const http::Request& req) const {
    if (req.client_cert_verified) return true;
    if (!options.tokens.empty()) {
      std::string header = req.header("Authorization");
      std::string_view token = bearer_token(header);
      if (!token.empty()) {
        for (const auto& t : options.tokens) {
          if (!t.empty() && constant_time_equal(token, t)) return true;
        }
      }
    }
    return options.allow_unauthenticated;
  }
};

AuditReceiver::AuditReceiver(AuditReceiverOptions options, alerts::Dispatcher* dispatcher,
                             std::function<void(const alerts::Alert&)> on_alert)
    : impl_(std::make_unique<Impl>(std::move(options), dispatcher, std::move(on_alert))) {
  impl_->worker = std::thread([this] { impl_->run(); });
}

AuditReceiver::~AuditReceiver() { stop(); }

void AuditReceiver::set_rules(std::shared_ptr<const rules::RuleSet> rules) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->rules = std::move(rules);
}

void AuditReceiver::set_tokens(std::vector<std::string> tokens) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->options.tokens = std::move(tokens);
}

bool AuditReceiver::has_rules() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->rules != nullptr;
}

std::optional<http::Response> AuditReceiver::check_head(const http::Request& req) {
  Impl& s = *impl_;
  bool authenticated = false;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    authenticated = s.authenticated(req);
    if (!authenticated) {
      ++s.stats.requests;
      ++s.stats.unauthorized;
    }
  }
  if (!authenticated) {
    http::Response r = text(401, "unauthorized: present a client certificate or a bearer token");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  const std::string content_type = req.header("Content-Type");
  if (!content_type.empty() && content_type.find("json") == std::string::npos) {
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.stats.requests;
    ++s.stats.bad_requests;
    return text(
        415, "unsupported content type '" + shorten(content_type) + "': expected application/json");
  }
  return std::nullopt;
}

http::Response AuditReceiver::handle(const http::Request& req) {
  Impl& s = *impl_;
  const auto received = Clock::now();
  // The server's before_body hook normally ran these already; without it they run here.
  if (auto refused = check_head(req)) return *refused;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    ++s.stats.requests;
  }
  auto batch = fields::decode_audit_batch(req.body, s.decode);
  if (!batch.ok()) {
    {
      std::lock_guard<std::mutex> lock(s.mu);
      ++s.stats.bad_requests;
    }
    spdlog::warn("Refused an audit request from {}: {}", req.peer, shorten(batch.error()));
    return text(400, "bad audit body: " + shorten(batch.error()));
  }
  const size_t n = batch->events.size();
  const size_t rejected = batch->rejected.size();
  if (rejected > 0) {
    // Logged at most once a second: a misbehaving client must not flood the log.
    std::lock_guard<std::mutex> lock(s.mu);
    if (received - s.last_reject_log > std::chrono::seconds(1)) {
      s.last_reject_log = received;
      spdlog::warn("Set aside {} of {} audit events from {}: {}{}", rejected, n + rejected,
                   req.peer, shorten(batch->rejected.front()), rejected > 1 ? " ..." : "");
    }
  }
  std::unique_lock<std::mutex> lock(s.mu);
  s.stats.rejected_events += rejected;
  if (n > 0) {
    if (s.queue.size() >= s.options.max_queued_batches ||
        s.queued_bytes + req.body.size() > s.options.max_queued_bytes) {
      ++s.stats.busy;
      lock.unlock();
      http::Response r = text(429, "audit evaluation queue full, retry");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    s.stats.events += n;
    s.queued_bytes += req.body.size();
    s.queue.push_back(Batch{std::move(batch->events), req.body.size(), received});
    s.cv.notify_one();
  }
  lock.unlock();
  return http::Response{
      200,
      "application/json",
      "{\"accepted\":" + std::to_string(n) + ",\"rejected\":" + std::to_string(rejected) + "}\n",
      {}};
}

bool AuditReceiver::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->idle_cv.wait_for(lock, timeout,
                                 [&] { return impl_->queue.empty() && !impl_->busy; });
}

void AuditReceiver::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  if (impl_->worker.joinable()) impl_->worker.join();
}

AuditReceiverStats AuditReceiver::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  AuditReceiverStats out = impl_->stats;
  out.queued_batches = impl_->queue.size();
  out.queued_bytes = impl_->queued_bytes;
  return out;
}

std::vector<AuditRuleCount> AuditReceiver::rule_counts() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<AuditRuleCount> out;
  out.reserve(impl_->counts.size());
  for (const auto& [key, c] : impl_->counts) out.push_back(c);
  return out;
}

std::string AuditReceiver::metrics_text() const {
  const AuditReceiverStats st = stats();
  std::string out;
  auto metric = [&](const char* type, const char* name, const char* help, double v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  metric("counter", "vigil_operator_audit_requests_total", "Audit webhook POSTs received.",
         double(st.requests));
  metric("counter", "vigil_operator_audit_unauthorized_total",
         "Audit requests refused for want of a client certificate or token (401).",
         double(st.unauthorized));
  metric("counter", "vigil_operator_audit_bad_requests_total",
         "Audit requests refused as malformed or of the wrong kind (400, 415).",
         double(st.bad_requests));
  metric("counter", "vigil_operator_audit_busy_total",
         "Audit requests answered 429 because the evaluation queue was full (the API server "
         "retries them).",
         double(st.busy));
  metric("counter", "vigil_operator_audit_events_total", "Audit events accepted.",
         double(st.events));
  metric("counter", "vigil_operator_audit_rejected_events_total",
         "Audit events of accepted batches set aside for a bad envelope.",
         double(st.rejected_events));
  metric("counter", "vigil_operator_audit_duplicate_events_total",
         "Audit events seen before (auditID and stage), not evaluated again.",
         double(st.duplicates));
  metric("counter", "vigil_operator_audit_evaluated_events_total",
         "Audit events run through the k8s_audit rules.", double(st.evaluated));
  metric("counter", "vigil_operator_audit_alerts_total", "Alerts raised by audit rules.",
         double(st.alerts));
  metric("gauge", "vigil_operator_audit_queued_batches", "Audit batches waiting for evaluation.",
         double(st.queued_batches));
  metric("gauge", "vigil_operator_audit_queued_bytes",
         "Bytes of audit bodies waiting for evaluation.", double(st.queued_bytes));
  out +=
      "# HELP vigil_operator_audit_delay_seconds Time from an audit request's arrival to the end "
      "of its evaluation.\n# TYPE vigil_operator_audit_delay_seconds summary\n"
      "vigil_operator_audit_delay_seconds_sum " +
      std::to_string(st.delay_seconds_sum) + "\nvigil_operator_audit_delay_seconds_count " +
      std::to_string(st.delay_count) + "\n";
  metric("gauge", "vigil_operator_audit_delay_seconds_max",
         "The longest time from an audit request's arrival to the end of its evaluation.",
         st.delay_seconds_max);
  return out;
}

std::shared_ptr<const rules::RuleSet> compile_receiver_rules(const std::string& rules_text,
                                                             const std::string& cluster_ns) {
  // Exactly as the agents compile the bundle (same library, same namespace scoping).
  auto compiled = bundle::compile_bundle_rules(rules_text, cluster_ns);
  const Diagnostics& diags = compiled.diagnostics;
  if (diags.has_errors()) {
    for (const auto& d : diags.items()) {
      if (d.severity == Severity::kError) {
        spdlog::error("The accepted rules do not compile together for the audit receiver: {}",
                      d.to_string());
        break;
      }
    }
    return nullptr;
  }
  return compiled.rule_set;
}

}  // namespace vigil::op
