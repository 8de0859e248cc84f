// Audit route figures (issue 6): the operator's AuditReceiver running Falco's k8s audit rules
// (k8s_audit_rules.yaml, unchanged) over batches of 400 events, the shape kube-apiserver's
// webhook backend POSTs.
//
//   throughput, direct   AuditReceiver::handle() called in a loop on one CPU (the whole process
//                        pinned to CPU 0, the evaluator thread included): events/s evaluated,
//                        CPU per event, handle() (auth + decode + queue) vs evaluator split
//   throughput, HTTPS    the same through common/http's server with TLS on loopback, a libcurl
//                        client (keep-alive) on CPU 1 when there is one, the server on CPU 0
//   latency              POST start -> the alert's arrival at a webhook sink (a loopback HTTP
//                        server in this process) through alerts::Dispatcher; one marked
//                        event per batch fires a known rule; falco format (one alert per
//                        request, no linger) and batch format (the dispatcher's 50 ms linger)
//
// Corpus: the recorded events of test/data/audit/ as templates, varied (auditID, namespaces,
// nodes, pod names) into 4,000 distinct events, 1.5% of which fire rules; every POST gets fresh
// auditIDs (the receiver drops (auditID, stage) pairs it has seen).
//
// Run: build/audit_receiver_bench [--seconds 5] [--latency-batches 200] [--latency-rate 20]
//        [--rules PATH]  (about 35 s with the defaults)

#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/alerts/dispatcher.h"
#include "common/alerts/sink.h"
#include "common/base/diagnostic.h"
#include "common/http/server.h"
#include "common/http/tls_certs.h"
#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"
#include "common/rules/rule_set.h"
#include "operator/audit/audit_receiver.h"

namespace {

using namespace vigil;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr const char* kToken = "bench-audit-token";
constexpr size_t kBatchSize = 400;
constexpr size_t kCorpusBatches = 10;  // 4,000 distinct events
constexpr double kAttackShare = 0.015;
constexpr double kTargetEventsPerSecond = 50000;
constexpr std::string_view kMarker = "bench-marker-";  // + 6 digits: the latency batch's number
constexpr size_t kMarkerDigits = 6;

struct Flags {
  double seconds = 5;
  int latency_batches = 200;
  double latency_rate = 20;  // batches/s
  std::string rules =
      std::string(VIGIL_SOURCE_DIR) + "/../shared/reference/falco/k8s_audit_rules.yaml";
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "audit_receiver_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) die("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) die("sched_setaffinity failed");
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// ---- Rules ---------------------------------------------------------------------------------

struct LoadedRules {
  std::shared_ptr<const rules::RuleSet> rule_set;
  size_t in_file = 0;   // "- rule:" items
  size_t compiled = 0;  // k8s_audit rules compiled
};

LoadedRules load_rules(const std::string& path) {
  LoadedRules out;
  const std::string text = read_file(path);
  for (size_t pos = text.find("\n- rule:"); pos != std::string::npos;
       pos = text.find("\n- rule:", pos + 1)) {
    ++out.in_file;
  }
  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader loader(defs, diags);
  loader.load_builtin_library();
  loader.load_file(path);
  rules::CompileOptions opts;
  opts.warn_unused = false;
  auto compiled = rules::compile_rules(defs, opts);
  diags.append(compiled.diagnostics);
  if (diags.has_errors()) {
    // Falco's file is meant to compile unchanged; say what does not rather than bench a subset.
    for (const auto& d : diags.items())
      if (d.severity == Severity::kError) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    die(path + ": " + std::to_string(diags.error_count()) + " errors");
  }
  out.rule_set = compiled.rule_set;
  const auto* src = out.rule_set->source("k8s_audit");
  if (!src) die(path + ": no k8s_audit rules");
  out.compiled = src->rules().size();
  return out;
}

// ---- Corpus --------------------------------------------------------------------------------

struct Template {
  std::string text;  // one Event, compact JSON, without kind/apiVersion (as in a batch)
  int weight = 1;
};

// Replaces every occurrence of each `from` in one pass (replacements are not rescanned).
std::string replace_all(const std::string& s,
                        const std::vector<std::pair<std::string, std::string>>& subs) {
  std::string out;
  out.reserve(s.size() + 64);
  for (size_t i = 0; i < s.size();) {
    bool hit = false;
    for (const auto& [from, to] : subs) {
      if (!from.empty() && s.compare(i, from.size(), from) == 0) {
        out += to;
        i += from.size();
        hit = true;
        break;
      }
    }
    if (!hit) out += s[i++];
  }
  return out;
}

std::vector<json> items_of(const std::string& path) {
  return json::parse(read_file(path))["items"];
}

// Everyday traffic, weighted the way a busy cluster's API server sees it: lease renewals, node
// and pod status, gets/lists/watches by controllers and users; few writes, fewer large objects.
std::vector<Template> benign_templates() {
  const std::string dir = std::string(VIGIL_SOURCE_DIR) + "/test/data/audit/";
  // benign.json items, in order (see test/data/audit/README.md).
  const int weights[] = {6, 20, 8, 8, 2, 3, 1, 1, 1, 1, 6, 6, 1, 6, 1, 4, 4, 1, 4, 4, 8};
  std::vector<Template> out;
  auto items = items_of(dir + "benign.json");
  if (items.size() != std::size(weights)) die("benign.json: expected 21 events");
  for (size_t i = 0; i < items.size(); ++i) out.push_back({items[i].dump(), weights[i]});
  // events.jsonl lines 1 and 2 (a namespace list, an impersonated access review) fire nothing.
  std::istringstream lines(read_file(dir + "events.jsonl"));
  std::string line;
  for (int n = 0; n < 2 && std::getline(lines, line); ++n) {
    json e = json::parse(line);
    e.erase("kind");
    e.erase("apiVersion");
    out.push_back({e.dump(), 2});
  }
  return out;
}

// attack.json: every event but #2 (an exec's ResponseComplete) fires at least one rule.
std::vector<Template> attack_templates() {
  std::vector<Template> out;
  auto items = items_of(std::string(VIGIL_SOURCE_DIR) + "/test/data/audit/attack.json");
  for (size_t i = 0; i < items.size(); ++i)
    if (i != 2) out.push_back({items[i].dump(), 1});
  return out;
}

// A batch body with the positions to stamp before each POST.
struct Body {
  std::string text;
  std::vector<size_t> id_tails;  // the last 12 hex digits of every auditID
  std::vector<size_t> markers;   // the digits after every kMarker
  size_t events = 0;
};

void put_hex(std::string& s, size_t pos, uint64_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[pos + i] = kHex[v & 15];
}

// Fresh auditIDs (round) and marker number for one POST.
void stamp(std::string& text, const Body& b, uint64_t round, uint64_t marker = 0) {
  for (size_t pos : b.id_tails) put_hex(text, pos, round, 12);
  for (size_t pos : b.markers) {
    uint64_t v = marker;
    for (size_t i = kMarkerDigits; i-- > 0; v /= 10)
      text[pos + i] = static_cast<char>('0' + v % 10);
  }
}

class CorpusBuilder {
 public:
  CorpusBuilder() : benign_(benign_templates()), attack_(attack_templates()) {
    for (const auto& t : benign_) benign_weights_.push_back(t.weight);
    // The marker: ConfigMap payments-env with cloud keys (Create/Modify Configmap With Private
    // Credentials, K8s ConfigMap Created), renamed so each batch's alert can be told apart.
    for (const auto& t : attack_) {
      if (t.text.find("\"name\":\"payments-env\"") != std::string::npos)
        marker_ = replace_all(t.text, {{"payments-env", std::string(kMarker) + "000000"}});
    }
    if (marker_.empty()) die("attack.json: no payments-env ConfigMap event");
  }

  // `events` events of which `attacks` fire rules (at random positions); with `marker`, one
  // more: the marked ConfigMap.
  Body batch(size_t events, size_t attacks, bool marker) {
    std::vector<std::string> evs;
    for (size_t i = 0; i < events - attacks; ++i) evs.push_back(vary(pick_benign()));
    for (size_t i = 0; i < attacks; ++i) evs.push_back(vary(attack_[rng_() % attack_.size()].text));
    if (marker) evs.push_back(vary(marker_));
    std::shuffle(evs.begin(), evs.end(), rng_);
    Body b;
    b.events = evs.size();
    b.text = R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[)";
    for (size_t i = 0; i < evs.size(); ++i) {
      if (i) b.text += ',';
      b.text += evs[i];
    }
    b.text += "]}";
    static constexpr std::string_view kId = "\"auditID\":\"";
    for (size_t p = b.text.find(kId); p != std::string::npos; p = b.text.find(kId, p + 1))
      b.id_tails.push_back(p + kId.size() + 24);
    for (size_t p = b.text.find(kMarker); p != std::string::npos; p = b.text.find(kMarker, p + 1))
      b.markers.push_back(p + kMarker.size());
    if (b.id_tails.size() != b.events) die("corpus: an event without auditID");
    return b;
  }

 private:
  const std::string& pick_benign() {
    std::discrete_distribution<size_t> d(benign_weights_.begin(), benign_weights_.end());
    return benign_[d(rng_)].text;
  }

  std::string random_suffix(size_t n) {
    static constexpr char kChars[] = "bcdfghjklmnpqrstvwxz2456789";
    std::string s;
    for (size_t i = 0; i < n; ++i) s += kChars[rng_() % (sizeof(kChars) - 1)];
    return s;
  }

  // A distinct event: its own auditID (the last 12 digits stamped per POST), a namespace out of
  // 24, nodes out of 60, fresh pod name suffixes.
  std::string vary(const std::string& t) {
    static const char* kNamespaces[] = {
        "shop",    "payments", "checkout", "search", "catalog",  "cart",   "auth",   "billing",
        "reports", "web",      "api",      "mobile", "ml-infer", "ingest", "etl",    "storage",
        "cache",   "queue",    "notify",   "media",  "team-a",   "team-b", "team-c", "staging"};
    const std::string id = json::parse(t)["auditID"];
    char new_id[40];
    std::snprintf(new_id, sizeof(new_id), "%08x-%04x-4%03x-a%03x-000000000000", seq_++,
                  static_cast<unsigned>(rng_() & 0xffff), static_cast<unsigned>(rng_() & 0xfff),
                  static_cast<unsigned>(rng_() & 0xfff));
    const std::string ns = kNamespaces[rng_() % std::size(kNamespaces)];
    return replace_all(t, {{id, new_id},
                           {"\"shop\"", "\"" + ns + "\""},
                           {"/shop/", "/" + ns + "/"},
                           {":shop:", ":" + ns + ":"},
                           {"worker-1", "worker-" + std::to_string(1 + rng_() % 60)},
                           {"worker-2", "worker-" + std::to_string(1 + rng_() % 60)},
                           {"7xk2p", random_suffix(5)},
                           {"kx2lq", random_suffix(5)},
                           {"8rj2c", random_suffix(5)}});
  }

  std::mt19937_64 rng_{20261127};
  uint32_t seq_ = 0;
  std::vector<Template> benign_, attack_;
  std::vector<int> benign_weights_;
  std::string marker_;
};

// ---- The receiving side --------------------------------------------------------------------

op::AuditReceiverOptions receiver_options() {
  op::AuditReceiverOptions o;
  o.tokens = {kToken};
  o.cluster_name = "bench";
  o.hostname = "vigil-operator";
  return o;
}

struct Tls {
  http::CertKeyPem ca, server;
};

Tls make_tls() {
  auto ca = http::generate_ca("vigil-bench-ca", 24h);
  if (!ca.ok()) die("ca: " + ca.error());
  http::CertRequest req;
  req.common_name = "vigil-audit";
  req.ip_addresses = {"127.0.0.1"};
  auto server = http::issue_certificate(*ca, req);
  if (!server.ok()) die("certificate: " + server.error());
  return {*ca, *server};
}

std::unique_ptr<http::HttpServer> start_audit_server(const Tls& tls, op::AuditReceiver& rx) {
  http::ServerOptions o;
  o.name = "audit";
  o.body_limit = 16u << 20;
  o.tls = http::TlsOptions{tls.server.cert_pem, tls.server.key_pem, "", false};
  auto h = [&rx](const http::Request& r) { return rx.handle(r); };
  auto s = http::HttpServer::start(o, {http::route("POST", "/k8s-audit", h)});
  if (!s.ok()) die("audit server: " + s.error());
  return std::move(*s);
}

// kube-apiserver's side: one connection, kept alive, a bearer token.
class Poster {
 public:
  Poster(const std::string& url, const std::string& ca_pem) : curl_(curl_easy_init()) {
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ =
        curl_slist_append(headers_, (std::string("Authorization: Bearer ") + kToken).c_str());
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_blob ca{const_cast<char*>(ca_pem.data()), ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(curl_, CURLOPT_CAINFO_BLOB, &ca);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &discard);
  }
  ~Poster() {
    curl_easy_cleanup(curl_);
    curl_slist_free_all(headers_);
  }
  Poster(const Poster&) = delete;
  Poster& operator=(const Poster&) = delete;

  // The HTTP status, or dies on a transport error.
  long post(const std::string& body) {
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
    const CURLcode rc = curl_easy_perform(curl_);
    if (rc != CURLE_OK) die(std::string("POST: ") + curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    return status;
  }

 private:
  static size_t discard(char*, size_t size, size_t n, void*) { return size * n; }
  CURL* curl_;
  curl_slist* headers_ = nullptr;
};

constexpr const char* kEmptyList =
    R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]})";

// ---- Figures -------------------------------------------------------------------------------

struct Throughput {
  uint64_t evaluated = 0, alerts = 0, busy = 0, requests = 0;
  double wall = 0, cpu = 0, handle_cpu = 0, client_cpu = 0;
  double events_per_s() const { return wall > 0 ? evaluated / wall : 0; }
};

void print_throughput(const char* label, const Throughput& t, bool split) {
  std::printf("%-22s %9.0f events/s  (%llu events, %llu POSTs, %.2f s; %llu alerts; %llu 429s)\n",
              label, t.events_per_s(), static_cast<unsigned long long>(t.evaluated),
              static_cast<unsigned long long>(t.requests), t.wall,
              static_cast<unsigned long long>(t.alerts), static_cast<unsigned long long>(t.busy));
  const double n = static_cast<double>(std::max<uint64_t>(1, t.evaluated));
  if (split) {
    std::printf(
        "%-22s CPU %.2f us/event: handle() (auth, decode, queue) %.2f us, evaluator (dedup, "
        "%s) %.2f us\n",
        "", 1e6 * t.cpu / n, 1e6 * t.handle_cpu / n, "rules, alerts",
        1e6 * (t.cpu - t.handle_cpu) / n);
  } else {
    std::printf("%-22s server CPU %.2f us/event (process minus the client thread's %.2f us)\n", "",
                1e6 * (t.cpu - t.client_cpu) / n, 1e6 * t.client_cpu / n);
  }
}

Throughput run_direct(const Flags& f, const LoadedRules& rules, std::vector<Body>& bodies) {
  op::AuditReceiver rx(receiver_options(), nullptr);
  rx.set_rules(rules.rule_set);
  std::vector<http::Request> reqs(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    reqs[i].method = "POST";
    reqs[i].target = reqs[i].path = "/k8s-audit";
    reqs[i].headers = {{"Authorization", std::string("Bearer ") + kToken},
                       {"Content-Type", "application/json"}};
    reqs[i].peer = "127.0.0.1:40000";
    reqs[i].body = bodies[i].text;
  }
  Throughput t;
  uint64_t round = 1;
  const double cpu0 = cpu_seconds(RUSAGE_SELF);
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(f.seconds);
  for (size_t i = 0; Clock::now() < deadline; ++i) {
    http::Request& req = reqs[i % reqs.size()];
    stamp(req.body, bodies[i % reqs.size()], round++);
    // Stay a few batches ahead of the evaluator: a 429 would throw the decoding away.
    while (rx.stats().queued_batches >= 4) std::this_thread::sleep_for(100us);
    for (;;) {
      timespec a{}, b{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
      const http::Response r = rx.handle(req);
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
      t.handle_cpu += static_cast<double>(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
      ++t.requests;
      if (r.status == 200) break;
      if (r.status != 429) die("handle(): " + std::to_string(r.status) + " " + r.body);
      ++t.busy;
      std::this_thread::sleep_for(1ms);
    }
  }
  if (!rx.flush(120s)) die("receiver flush timed out");
  t.wall = std::chrono::duration<double>(Clock::now() - start).count();
  t.cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
  const auto s = rx.stats();
  t.evaluated = s.evaluated;
  t.alerts = s.alerts;
  if (s.duplicates) die("duplicates: " + std::to_string(s.duplicates));
  return t;
}

Throughput run_https(const Flags& f, const LoadedRules& rules, std::vector<Body>& bodies,
                     const Tls& tls, int client_cpu) {
  op::AuditReceiver rx(receiver_options(), nullptr);
  rx.set_rules(rules.rule_set);
  auto server = start_audit_server(tls, rx);
  const std::string url = "https://127.0.0.1:" + std::to_string(server->port()) + "/k8s-audit";
  Throughput t;
  const double cpu0 = cpu_seconds(RUSAGE_SELF);
  Clock::time_point start;
  std::thread client([&] {
    if (client_cpu >= 0) pin_to_cpu(client_cpu);
    const double my0 = cpu_seconds(RUSAGE_THREAD);
    Poster poster(url, tls.ca.cert_pem);
    if (poster.post(kEmptyList) != 200) die("warm-up POST refused");  // the TLS handshake
    std::vector<std::string> texts;
    for (const auto& b : bodies) texts.push_back(b.text);
    uint64_t round = 1;
    start = Clock::now();
    const auto deadline = start + std::chrono::duration<double>(f.seconds);
    for (size_t i = 0; Clock::now() < deadline; ++i) {
      std::string& text = texts[i % texts.size()];
      stamp(text, bodies[i % texts.size()], round++);
      for (;;) {
        const long status = poster.post(text);
        ++t.requests;
        if (status == 200) break;
        if (status != 429) die("POST: HTTP " + std::to_string(status));
        ++t.busy;
        std::this_thread::sleep_for(5ms);  // the API server waits Retry-After; shorter here
      }
    }
    t.client_cpu = cpu_seconds(RUSAGE_THREAD) - my0;
  });
  client.join();
  if (!rx.flush(120s)) die("receiver flush timed out");
  t.wall = std::chrono::duration<double>(Clock::now() - start).count();
  t.cpu = cpu_seconds(RUSAGE_SELF) - cpu0;
  const auto s = rx.stats();
  t.evaluated = s.evaluated;
  t.alerts = s.alerts;
  server->stop();
  return t;
}

// The sink's side: stamps the first arrival of each marker number.
struct Recorder {
  std::mutex mu;  // guards arrivals
  std::vector<Clock::time_point> arrivals;
  std::atomic<uint64_t> alerts{0};
  std::unique_ptr<http::HttpServer> server;

  explicit Recorder(size_t n) : arrivals(n) {
    http::ServerOptions o;
    o.name = "recorder";
    o.body_limit = 8u << 20;
    auto s =
        http::HttpServer::start(o, {http::route("POST", "/hook", [this](const http::Request& r) {
                                  on_body(r.body);
                                  return http::Response{};
                                })});
    if (!s.ok()) die("recorder: " + s.error());
    server = std::move(*s);
  }
  ~Recorder() { server->stop(); }

  void on_body(const std::string& body) {
    const auto now = Clock::now();
    for (size_t p = body.find("\"rule\":"); p != std::string::npos;
         p = body.find("\"rule\":", p + 1))
      ++alerts;
    std::lock_guard lock(mu);
    for (size_t p = body.find(kMarker); p != std::string::npos; p = body.find(kMarker, p + 1)) {
      const size_t seq = std::strtoul(body.c_str() + p + kMarker.size(), nullptr, 10);
      if (seq < arrivals.size() && arrivals[seq] == Clock::time_point{}) arrivals[seq] = now;
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()) + "/hook"; }
};

struct Latency {
  std::vector<double> ms;
  size_t sent = 0;
  uint64_t alerts_evaluated = 0, alerts_received = 0;
  double receiver_delay_mean_ms = 0, receiver_delay_max_ms = 0;
};

Latency run_latency(const Flags& f, const LoadedRules& rules, std::vector<Body>& bodies,
                    const Tls& tls, int client_cpu, api::v1alpha1::WebhookFormat format) {
  const size_t n = static_cast<size_t>(f.latency_batches);
  Recorder rec(n);
  alerts::DispatcherOptions dopts;  // linger: the default 50 ms
  dopts.hostname = "vigil-operator";
  alerts::Dispatcher dispatcher(dopts);
  api::v1alpha1::AlertSinkSpec spec;
  spec.type = api::v1alpha1::SinkType::kWebhook;
  spec.webhook.emplace();
  spec.webhook->endpoint.url = rec.url();
  spec.webhook->format = format;
  spec.delivery.queue_size = 10000;
  auto target = alerts::make_sink_target("vigil-system", "bench", 1, spec, {});
  if (!target.ok()) die("sink: " + target.error());
  dispatcher.configure({std::move(*target)}, "vigil-system");

  op::AuditReceiver rx(receiver_options(), &dispatcher);
  rx.set_rules(rules.rule_set);
  auto server = start_audit_server(tls, rx);
  const std::string url = "https://127.0.0.1:" + std::to_string(server->port()) + "/k8s-audit";

  std::vector<Clock::time_point> posted(n);
  std::thread client([&] {
    if (client_cpu >= 0) pin_to_cpu(client_cpu);
    Poster poster(url, tls.ca.cert_pem);
    if (poster.post(kEmptyList) != 200) die("warm-up POST refused");
    std::vector<std::string> texts;
    for (const auto& b : bodies) texts.push_back(b.text);
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(1.0 / f.latency_rate));
    auto next = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      std::string& text = texts[i % texts.size()];
      stamp(text, bodies[i % texts.size()], 1'000'000 + i, i);
      std::this_thread::sleep_until(next);
      posted[i] = Clock::now();
      const long status = poster.post(text);
      if (status != 200) die("POST: HTTP " + std::to_string(status));
      next += interval;
    }
  });
  client.join();
  if (!rx.flush(30s)) die("receiver flush timed out");
  if (!dispatcher.flush(30s)) die("dispatcher flush timed out");
  server->stop();
  dispatcher.stop();

  Latency l;
  l.sent = n;
  {
    std::lock_guard lock(rec.mu);
    for (size_t i = 0; i < n; ++i) {
      if (rec.arrivals[i] != Clock::time_point{})
        l.ms.push_back(
            std::chrono::duration<double, std::milli>(rec.arrivals[i] - posted[i]).count());
    }
  }
  const auto s = rx.stats();
  l.alerts_evaluated = s.alerts;
  l.alerts_received = rec.alerts;
  l.receiver_delay_mean_ms = s.delay_count ? 1e3 * s.delay_seconds_sum / s.delay_count : 0;
  l.receiver_delay_max_ms = 1e3 * s.delay_seconds_max;
  return l;
}

void print_latency(const char* label, const Latency& l, const Flags& f) {
  std::printf(
      "%-22s p50 %.1f ms  p99 %.1f ms  max %.1f ms  (%zu/%zu markers delivered at %.0f batches/s; "
      "%llu alerts raised, %llu received)\n",
      label, percentile(l.ms, 0.5), percentile(l.ms, 0.99), percentile(l.ms, 1.0), l.ms.size(),
      l.sent, f.latency_rate, static_cast<unsigned long long>(l.alerts_evaluated),
      static_cast<unsigned long long>(l.alerts_received));
  std::printf("%-22s of which POST arrival -> batch evaluated: mean %.1f ms, max %.1f ms\n", "",
              l.receiver_delay_mean_ms, l.receiver_delay_max_ms);
}

Flags parse_flags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.starts_with("--benchmark_")) {
      std::printf("(ignoring %s: not a Google Benchmark binary)\n", a.c_str());
      continue;
    }
    if (i + 1 >= argc)
      die(a + " needs a value (--seconds, --latency-batches, --latency-rate, --rules)");
    const std::string v = argv[++i];
    if (a == "--seconds") {
      f.seconds = std::atof(v.c_str());
    } else if (a == "--latency-batches") {
      f.latency_batches = std::atoi(v.c_str());
    } else if (a == "--latency-rate") {
      f.latency_rate = std::atof(v.c_str());
    } else if (a == "--rules") {
      f.rules = v;
    } else {
      die("unknown option " + a);
    }
  }
  if (f.seconds <= 0 || f.latency_batches <= 0 || f.latency_rate <= 0) die("values must be > 0");
  return f;
}

void result(const char* name, double value, const char* unit, const char* target,
            const char* status) {
  std::printf("RESULT %s=%.3f unit=%s target=%s status=%s\n", name, value, unit, target, status);
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = parse_flags(argc, argv);
  spdlog::set_level(spdlog::level::err);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const auto t0 = Clock::now();
  // The operator's one core: every thread started from here on (evaluator, servers, sink
  // workers) inherits CPU 0; the clients move themselves to CPU 1.
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  pin_to_cpu(0);
  const int client_cpu = cpus >= 2 ? 1 : -1;

  const LoadedRules rules = load_rules(flags.rules);
  std::printf("Audit receiver + Falco's k8s audit rules (%s)\n", flags.rules.c_str());
  std::printf("rules: %zu in the file, %zu compiled (k8s_audit), none failed\n", rules.in_file,
              rules.compiled);

  CorpusBuilder corpus;
  const size_t attacks = static_cast<size_t>(std::lround(kBatchSize * kAttackShare));
  std::vector<Body> mixed, marked;
  size_t bytes = 0;
  for (size_t i = 0; i < kCorpusBatches; ++i) {
    mixed.push_back(corpus.batch(kBatchSize, attacks, false));
    bytes += mixed.back().text.size();
  }
  for (size_t i = 0; i < kCorpusBatches; ++i)
    marked.push_back(corpus.batch(kBatchSize - 1, 0, true));
  std::printf(
      "corpus: %zu distinct events in %zu EventLists of %zu (%zu fire rules per batch, %.1f%%), "
      "%.0f KB per body, %.0f bytes per event; every POST gets fresh auditIDs\n",
      kCorpusBatches * kBatchSize, kCorpusBatches, kBatchSize, attacks, 100.0 * kAttackShare,
      bytes / 1024.0 / kCorpusBatches, static_cast<double>(bytes) / (kCorpusBatches * kBatchSize));
  std::printf("CPUs: operator side pinned to CPU 0; HTTPS client on %s\n\n",
              client_cpu >= 0 ? "CPU 1" : "CPU 0 too (one CPU online)");

  const Throughput direct = run_direct(flags, rules, mixed);
  print_throughput("throughput, handle()", direct, true);
  const Tls tls = make_tls();
  const Throughput https = run_https(flags, rules, mixed, tls, client_cpu);
  print_throughput("throughput, HTTPS", https, false);
  std::printf("\n");

  std::printf(
      "Latency: client POST start -> the alert's arrival at a loopback webhook (HTTPS audit "
      "server, receiver, Dispatcher); one firing event per batch of %zu.\n",
      kBatchSize);
  const Latency falco =
      run_latency(flags, rules, marked, tls, client_cpu, api::v1alpha1::WebhookFormat::kFalco);
  print_latency("latency, falco format", falco, flags);
  std::printf("%-22s (one alert per request: the dispatcher's 50 ms linger does not apply)\n", "");
  const Latency batch =
      run_latency(flags, rules, marked, tls, client_cpu, api::v1alpha1::WebhookFormat::kBatch);
  print_latency("latency, batch format", batch, flags);
  std::printf("%-22s (the dispatcher waits up to its 50 ms linger for a fuller batch: included)\n",
              "");

  const bool pass = direct.events_per_s() >= kTargetEventsPerSecond;
  std::printf(
      "\nTotal time %.0f s. Figures (status PASS/MISS against the target; INFO: no target):\n",
      std::chrono::duration<double>(Clock::now() - t0).count());
  result("audit_events_per_s_one_core", direct.events_per_s(), "events/s", ">=50000",
         pass ? "PASS" : "MISS");
  result("audit_events_per_s_https", https.events_per_s(), "events/s", ">=50000",
         https.events_per_s() >= kTargetEventsPerSecond ? "PASS" : "MISS");
  result("audit_cpu_us_per_event", 1e6 * direct.cpu / std::max<uint64_t>(1, direct.evaluated), "us",
         "none", "INFO");
  result("audit_latency_p50_ms_falco", percentile(falco.ms, 0.5), "ms", "none", "INFO");
  result("audit_latency_p99_ms_falco", percentile(falco.ms, 0.99), "ms", "none", "INFO");
  result("audit_latency_p50_ms_batch", percentile(batch.ms, 0.5), "ms", "none", "INFO");
  result("audit_latency_p99_ms_batch", percentile(batch.ms, 0.99), "ms", "none", "INFO");
  curl_global_cleanup();
  return 0;
}
