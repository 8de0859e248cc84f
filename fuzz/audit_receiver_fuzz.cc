// libFuzzer target for the audit webhook's HTTP body path: op::AuditReceiver::handle() as the
// operator's /k8s-audit route calls it (authentication, Content-Type, decoding with the body
// limit, the queue), then the evaluator thread running the k8s_audit rules and rendering alerts
// (alerts::make_alert, output templates, alerts::to_falco_json).
//
// Input: the first byte picks the request's variants, the rest is the body:
//   bits 0-1  Authorization: 0 the right token, 1 a wrong one, 2 none, 3 the right one as
//             "bearer   <token>  " (case and spaces)
//   bits 2-3  Content-Type: 0 application/json, 1 application/json; charset=utf-8,
//             2 text/plain, 3 none
//   bit  4    client_cert_verified
//   bit  5    rule set: Vigil's default rules alone, or with Falco's k8s_audit_rules.yaml
//   bit  6    send the body a second time after the first is evaluated (the dedup path)
// Checks: the status is what the variants call for (401 unless authenticated, 415 for a
// non-JSON Content-Type, otherwise 200, 400 or 429); error bodies are short; a 200's body is
// JSON; flush() finishes (a hang traps); the receiver's counters add up; every alert renders to
// Falco JSON that parses back.
//
// Rules: Vigil's builtin library and default rules (embedded), and, when
// VIGIL_FUZZ_FALCO_AUDIT_RULES names a readable file (Falco's k8s_audit_rules.yaml), those too.
// Limits are small (48 KiB body, 40 KiB queue) so inputs up to -max_len reach 400 and 429.
//
//   CC=clang CXX=clang++ cmake -S . -B build-fuzz-audit -G Ninja -DVIGIL_BUILD_FUZZ=ON \
//     -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF
//   ninja -C build-fuzz-audit audit_receiver_fuzz
//   VIGIL_FUZZ_FALCO_AUDIT_RULES=/work/shared/reference/falco/k8s_audit_rules.yaml \
//     build-fuzz-audit/audit_receiver_fuzz -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
//     -jobs=1 -max_total_time=600 <work-corpus-dir> fuzz/corpus/audit_receiver

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/alerts/alert.h"
#include "common/base/diagnostic.h"
#include "common/http/server.h"
#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"
#include "common/rules/rule_set.h"
#include "operator/audit/audit_receiver.h"

namespace {

using namespace vigil;

constexpr const char* kToken = "fuzz-token-0123456789";
constexpr size_t kMaxBody = 48u << 10;
constexpr size_t kMaxQueuedBytes = 40u << 10;

std::shared_ptr<const rules::RuleSet> compile(const std::string& extra_name,
                                              const std::string& extra_text) {
  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader loader(defs, diags);
  loader.load_builtin_library();
  loader.load_default_rules();
  if (!extra_text.empty()) loader.load_text(extra_name, extra_text);
  rules::CompileOptions opts;
  opts.warn_unused = false;
  auto out = rules::compile_rules(defs, opts);
  if (diags.has_errors() || out.diagnostics.has_errors() || !out.rule_set ||
      !out.rule_set->source("k8s_audit")) {
    std::fprintf(stderr, "audit_receiver_fuzz: rules %s do not compile:\n%s%s\n",
                 extra_name.empty() ? "(default)" : extra_name.c_str(), diags.to_string().c_str(),
                 out.diagnostics.to_string().c_str());
    return nullptr;
  }
  return out.rule_set;
}

void check_alert(const alerts::Alert& alert) {
  if (alert.source != "k8s_audit" || alert.rule.empty()) __builtin_trap();
  const std::string json = alerts::to_falco_json(alert);
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) __builtin_trap();
  if (!parsed.contains("rule") || !parsed["rule"].is_string() ||
      parsed["rule"].get<std::string>() != alert.rule)
    __builtin_trap();
  if (!parsed.contains("output") || !parsed["output"].is_string()) __builtin_trap();
  (void)alert.output();
}

struct Fixture {
  std::shared_ptr<const rules::RuleSet> defaults;
  std::shared_ptr<const rules::RuleSet> with_falco;  // null when no Falco file loads
  std::unique_ptr<op::AuditReceiver> receiver;
  int current = -1;  // which rule set the receiver has

  Fixture() {
    spdlog::set_level(spdlog::level::off);  // a 400 per input otherwise
    defaults = compile("", "");
    if (!defaults) std::abort();
    if (const char* path = std::getenv("VIGIL_FUZZ_FALCO_AUDIT_RULES"); path && *path) {
      std::ifstream in(path, std::ios::binary);
      if (in) {
        std::stringstream ss;
        ss << in.rdbuf();
        with_falco = compile(path, ss.str());
      }
      std::fprintf(stderr, "audit_receiver_fuzz: Falco rules %s: %s\n", path,
                   with_falco ? "loaded" : "skipped");
    }
    op::AuditReceiverOptions o;
    o.max_body_bytes = kMaxBody;
    o.max_queued_batches = 4;
    o.max_queued_bytes = kMaxQueuedBytes;
    o.dedup_window = 8;
    o.cluster_name = "fuzz";
    o.hostname = "fuzz-host";
    o.tokens = {"", kToken};
    o.allow_unauthenticated = false;
    receiver = std::make_unique<op::AuditReceiver>(std::move(o), nullptr, check_alert);
  }

  void use_rules(int which) {
    if (which == 1 && !with_falco) which = 0;
    if (which == current) return;
    receiver->set_rules(which == 1 ? with_falco : defaults);
    current = which;
  }
};

void flush_or_trap(op::AuditReceiver& r) {
  if (!r.flush(std::chrono::seconds(5))) {
    std::fprintf(stderr, "audit_receiver_fuzz: flush() timed out\n");
    __builtin_trap();
  }
}

http::Response send(op::AuditReceiver& receiver, uint8_t variants, std::string_view body) {
  http::Request req;
  req.method = "POST";
  req.target = req.path = "/k8s-audit";
  req.peer = "127.0.0.1:40000";
  req.tls = true;
  switch (variants & 3) {
    case 0:
      req.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
      break;
    case 1:
      req.headers.emplace_back("Authorization", "Bearer fuzz-token-0123456788");
      break;
    case 2:
      break;
    case 3:
      req.headers.emplace_back("authorization", std::string("bearer   ") + kToken + "  ");
      break;
  }
  switch ((variants >> 2) & 3) {
    case 0:
      req.headers.emplace_back("Content-Type", "application/json");
      break;
    case 1:
      req.headers.emplace_back("content-type", "application/json; charset=utf-8");
      break;
    case 2:
      req.headers.emplace_back("Content-Type", "text/plain");
      break;
    case 3:
      break;
  }
  req.client_cert_verified = (variants >> 4) & 1;
  req.body.assign(body.data(), body.size());

  const http::Response resp = receiver.handle(req);

  const bool authenticated = req.client_cert_verified || (variants & 3) == 0 || (variants & 3) == 3;
  const bool json_type = ((variants >> 2) & 3) != 2;
  int s = resp.status;
  if (s != 200 && s != 400 && s != 401 && s != 415 && s != 429) __builtin_trap();
  if (!authenticated && s != 401) __builtin_trap();
  if (authenticated && s == 401) __builtin_trap();
  if (authenticated && !json_type && s != 415) __builtin_trap();
  if (authenticated && json_type && s != 200 && s != 400 && s != 429) __builtin_trap();
  if (s == 429 && body.size() <= kMaxQueuedBytes) __builtin_trap();  // the queue is empty
  if (s == 200 && body.size() > kMaxBody) __builtin_trap();
  if (s == 200) {
    const nlohmann::json j = nlohmann::json::parse(resp.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("accepted") ||
        !j["accepted"].is_number_unsigned() || !j.contains("rejected") ||
        !j["rejected"].is_number_unsigned())
      __builtin_trap();
  } else {
    if (resp.body.size() >= 300) __builtin_trap();
  }
  return resp;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fx;
  if (size == 0) return 0;
  const uint8_t variants = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);

  fx.use_rules((variants >> 5) & 1);
  const op::AuditReceiverStats before = fx.receiver->stats();
  send(*fx.receiver, variants, body);
  flush_or_trap(*fx.receiver);
  if ((variants >> 6) & 1) {
    send(*fx.receiver, variants, body);
    flush_or_trap(*fx.receiver);
  }

  const op::AuditReceiverStats after = fx.receiver->stats();
  if (after.queued_batches != 0 || after.queued_bytes != 0) __builtin_trap();
  // Every accepted event was either evaluated or recognized as a duplicate.
  if (after.events - before.events !=
      (after.evaluated - before.evaluated) + (after.duplicates - before.duplicates))
    __builtin_trap();
  return 0;
}
