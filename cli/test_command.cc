// vigilctl test: evaluates recorded events against rules and prints the alerts they raise.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "common/alerts/alert.h"
#include "common/fields/audit_event.h"
#include "common/fields/syscall_event.h"
#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"

namespace vigil::cli {
namespace {

constexpr const char* kTestUsage =
    "Usage: vigilctl test --rules FILE... --events FILE [--json] [--no-builtin] [--hostname NAME]\n"
    "  --rules FILE...   Falco rule files or SecurityRule YAML (repeatable, or several after one "
    "flag)\n"
    "  --events FILE     audit Event/EventList JSON, JSON lines of either, or syscall event JSON\n"
    "                    lines (docs/syscall-events.md); '-' reads standard input\n"
    "  --json            print alerts as Falco JSON lines instead of text\n"
    "  --no-builtin      do not load Vigil's built-in macro and list library\n"
    "  --hostname NAME   hostname reported in alerts (default: this host's name)\n";

bool read_all(const std::string& path, std::string& out) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    out = ss.str();
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// Audit events name their apiVersion or carry an auditID; syscall event lines do not.
bool looks_like_audit(std::string_view body) {
  std::string_view head = body.substr(0, 4096);
  return head.find("audit.k8s.io") != std::string_view::npos ||
         head.find("\"auditID\"") != std::string_view::npos;
}

struct Counters {
  size_t events = 0;
  size_t alerts = 0;
  std::map<std::string, size_t> by_rule;
};

void emit(const rules::SourceRules& src, const void* event, rules::EvalContext& ctx,
          const std::string& hostname, bool json, Counters& counters) {
  ++counters.events;
  // Copy the matches: rendering outputs reuses the context.
  auto span = src.evaluate(event, ctx);
  std::vector<uint32_t> matched(span.begin(), span.end());
  for (uint32_t i : matched) {
    const auto& rule = src.rules()[i];
    alerts::Alert a = alerts::make_alert(rule, src.source(), event, ctx, hostname);
    ++counters.alerts;
    ++counters.by_rule[rule.name];
    if (json) {
      std::printf("%s\n", alerts::to_falco_json(a).c_str());
    } else {
      std::printf("%s%s\n", a.output().c_str(),
                  rule.mode == rules::RuleMode::kDryRun ? " [dry run]" : "");
    }
  }
}

}  // namespace

int run_test(const std::vector<std::string>& args) {
  std::vector<std::string> rule_files;
  std::string events_path, hostname;
  bool json = false, builtin = true;
  bool in_rules = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kTestUsage, stdout);
      return 0;
    }
    if (a == "--rules") {
      in_rules = true;
      continue;
    }
    if (a == "--events" || a == "--hostname") {
      in_rules = false;
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "vigilctl test: %s needs a value\n%s", a.c_str(), kTestUsage);
        return 2;
      }
      (a == "--events" ? events_path : hostname) = args[++i];
      continue;
    }
    if (a == "--json") {
      json = true;
      in_rules = false;
      continue;
    }
    if (a == "--no-builtin") {
      builtin = false;
      in_rules = false;
      continue;
    }
    if (!a.empty() && a[0] == '-' && a != "-") {
      std::fprintf(stderr, "vigilctl test: unknown option '%s'\n%s", a.c_str(), kTestUsage);
      return 2;
    }
    if (!in_rules) {
      std::fprintf(stderr, "vigilctl test: unexpected argument '%s'\n%s", a.c_str(), kTestUsage);
      return 2;
    }
    rule_files.push_back(a);
  }
  if (rule_files.empty() || events_path.empty()) {
    std::fprintf(stderr, "vigilctl test: --rules and --events are required\n%s", kTestUsage);
    return 2;
  }
  if (hostname.empty()) {
    char buf[256] = {};
    if (gethostname(buf, sizeof(buf) - 1) == 0) hostname = buf;
  }

  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader loader(defs, diags);
  if (builtin) loader.load_builtin_library();
  for (const auto& f : rule_files) loader.load_file(f);
  rules::CompileOptions opts;
  opts.warn_unused = false;
  auto compiled = rules::compile_rules(defs, opts);
  diags.append(compiled.diagnostics);
  if (diags.has_errors()) {
    for (const auto& d : diags.items())
      if (d.severity == Severity::kError) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    std::fprintf(stderr,
                 "vigilctl test: the rules have %zu errors; fix them first (vigilctl lint)\n",
                 diags.error_count());
    return 1;
  }

  std::string body;
  if (!read_all(events_path, body)) {
    std::fprintf(stderr, "vigilctl test: cannot read %s\n", events_path.c_str());
    return 1;
  }
  Counters counters;
  size_t failed = 0;
  rules::EvalContext ctx;
  if (looks_like_audit(body)) {
    auto events = fields::decode_audit_events(body);
    if (!events.ok()) {
      std::fprintf(stderr, "%s: %s\n", events_path.c_str(), events.error().c_str());
      return 1;
    }
    const auto* src = compiled.rule_set->source("k8s_audit");
    for (const auto& e : *events) {
      if (src) {
        emit(*src, &e, ctx, hostname, json, counters);
      } else {
        ++counters.events;
      }
    }
  } else {
    const auto* src = compiled.rule_set->source("syscall");
    fields::SyscallEventStore store;
    size_t line_no = 0, start = 0;
    while (start < body.size()) {
      size_t end = body.find('\n', start);
      if (end == std::string::npos) end = body.size();
      std::string_view line(body.data() + start, end - start);
      start = end + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      auto ev = fields::decode_syscall_event_json(line, store);
      if (!ev.ok()) {
        std::fprintf(stderr, "%s:%zu: error: %s\n", events_path.c_str(), line_no,
                     ev.error().c_str());
        ++failed;
        continue;
      }
      if (src) {
        emit(*src, *ev, ctx, hostname, json, counters);
      } else {
        ++counters.events;
      }
    }
  }
  std::fflush(stdout);
  std::fprintf(stderr, "%zu events, %zu alerts", counters.events, counters.alerts);
  if (failed) std::fprintf(stderr, ", %zu events could not be decoded", failed);
  std::fprintf(stderr, "\n");
  for (const auto& [rule, n] : counters.by_rule)
    std::fprintf(stderr, "  %6zu  %s\n", n, rule.c_str());
  return failed ? 1 : 0;
}

}  // namespace vigil::cli
