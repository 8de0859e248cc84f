// Times, enum spellings and conditions. Parsing is in parse.cc, validation in validate.cc and
// writing in write.cc.

#include "common/api/v1alpha1/types.h"

#include <algorithm>
#include <cstdio>

namespace vigil::api::v1alpha1 {
namespace {

bool digits(std::string_view s, size_t at, size_t n, int& out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::string format_time(Time t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<Time> parse_time(std::string_view s) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i - start > 9) return std::nullopt;
  }
  int offset_minutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !digits(s, i + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  return Time{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{sec} - minutes{offset_minutes};
}

const char* to_string(ConditionStatus s) {
  switch (s) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      return "Unknown";
  }
  return "Unknown";
}

const char* to_string(RuleSource s) { return s == RuleSource::kK8sAudit ? "k8s_audit" : "syscall"; }

const char* to_string(SinkType t) {
  switch (t) {
    case SinkType::kStdout:
      return "stdout";
    case SinkType::kFile:
      return "file";
    case SinkType::kWebhook:
      return "webhook";
    case SinkType::kSlack:
      return "slack";
    case SinkType::kFalcosidekick:
      return "falcosidekick";
    case SinkType::kAlertmanager:
      return "alertmanager";
  }
  return "stdout";
}

const char* to_string(AlertFormat f) { return f == AlertFormat::kText ? "text" : "json"; }
const char* to_string(WebhookFormat f) { return f == WebhookFormat::kBatch ? "batch" : "falco"; }
const char* to_string(HttpMethod m) { return m == HttpMethod::kPut ? "PUT" : "POST"; }
const char* to_string(FsyncPolicy p) {
  return p == FsyncPolicy::kEveryAlert ? "EveryAlert" : "Never";
}

const char* to_string(ProbeState s) {
  switch (s) {
    case ProbeState::kStarting:
      return "Starting";
    case ProbeState::kRunning:
      return "Running";
    case ProbeState::kFailed:
      return "Failed";
    case ProbeState::kUnsupported:
      return "Unsupported";
  }
  return "Starting";
}

std::optional<rules::Priority> parse_canonical_priority(std::string_view text) {
  // rules::parse_priority accepts any case and "info"; the CRD only the canonical names.
  auto p = rules::parse_priority(text);
  if (!p || text != rules::priority_name(*p)) return std::nullopt;
  return p;
}

std::string nodes_summary(const NodeCounts& nodes) {
  return std::to_string(nodes.programmed) + "/" + std::to_string(nodes.targeted);
}

std::string join_errors(const std::vector<FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.to_string();
  }
  return out;
}

bool set_condition(std::vector<Condition>& conditions, Condition condition, Time now) {
  auto it = std::find_if(conditions.begin(), conditions.end(),
                         [&](const Condition& c) { return c.type == condition.type; });
  if (it == conditions.end()) {
    if (condition.last_transition_time == Time{}) condition.last_transition_time = now;
    conditions.push_back(std::move(condition));
    return true;
  }
  bool changed = false;
  if (it->status != condition.status) {
    it->status = condition.status;
    it->last_transition_time =
        condition.last_transition_time == Time{} ? now : condition.last_transition_time;
    changed = true;
  }
  if (it->reason != condition.reason) {
    it->reason = std::move(condition.reason);
    changed = true;
  }
  if (it->message != condition.message) {
    it->message = std::move(condition.message);
    changed = true;
  }
  if (it->observed_generation != condition.observed_generation) {
    it->observed_generation = condition.observed_generation;
    changed = true;
  }
  return changed;
}

const Condition* find_condition(const std::vector<Condition>& conditions, std::string_view type) {
  for (const auto& c : conditions)
    if (c.type == type) return &c;
  return nullptr;
}

bool is_condition_true(const std::vector<Condition>& conditions, std::string_view type) {
  const Condition* c = find_condition(conditions, type);
  return c && c->status == ConditionStatus::kTrue;
}

bool remove_condition(std::vector<Condition>& conditions, std::string_view type) {
  auto it = std::remove_if(conditions.begin(), conditions.end(),
                           [&](const Condition& c) { return c.type == type; });
  if (it == conditions.end()) return false;
  conditions.erase(it, conditions.end());
  return true;
}

}  // namespace vigil::api::v1alpha1
