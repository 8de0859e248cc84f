// validate(): every check the CRDs make (schema bounds, patterns and the CEL rules), with the
// CRD's field paths, so vigilctl and the operator reject what the API server would and say why.

#include <algorithm>
#include <set>

#include "common/api/v1alpha1/types.h"

namespace vigil::api::v1alpha1 {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

// OpenAPI maxLength counts characters, not bytes.
size_t char_count(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool is_dns_label(std::string_view s) {
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

// DNS labels joined by dots.
bool is_dns_subdomain(std::string_view s) {
  while (true) {
    const size_t dot = s.find('.');
    if (!is_dns_label(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// [A-Za-z_][A-Za-z0-9_]*: the rule language's identifiers, Prometheus label names.
bool is_identifier(std::string_view s) {
  if (s.empty() || !(is_alpha(s.front()) || s.front() == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

// [A-Za-z0-9_][A-Za-z0-9_.-]*
bool is_exception_name(std::string_view s) {
  if (s.empty() || !(is_alnum(s.front()) || s.front() == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

// [-._a-zA-Z0-9]+
bool is_secret_key(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '-' || c == '.' || c == '_';
  });
}

// An HTTP token (RFC 9110).
bool is_header_name(std::string_view s) {
  static constexpr std::string_view kExtra = "!#$%&'*+.^_`|~-";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || kExtra.find(c) != std::string_view::npos;
  });
}

// :[a-z0-9_+-]+:
bool is_emoji(std::string_view s) {
  if (s.size() < 3 || s.front() != ':' || s.back() != ':') return false;
  return std::all_of(s.begin() + 1, s.end() - 1,
                     [](char c) { return is_lower_alnum(c) || c == '_' || c == '+' || c == '-'; });
}

// metav1.Condition type: an optional DNS-subdomain prefix and "/", then
// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
bool is_condition_type(std::string_view s) {
  const size_t slash = s.find('/');
  if (slash != std::string_view::npos) {
    if (!is_dns_subdomain(s.substr(0, slash))) return false;
    s.remove_prefix(slash + 1);
  }
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// metav1.Condition reason: [A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?
bool is_condition_reason(std::string_view s) {
  if (s.empty() || !is_alpha(s.front())) return false;
  if (!(is_alnum(s.back()) || s.back() == '_')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return is_alnum(c) || c == '_' || c == ',' || c == ':'; });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  });
}

std::string idx(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

class Checker {
 public:
  std::vector<FieldError> errors;

  void add(std::string path, std::string message) {
    errors.push_back(FieldError{std::move(path), std::move(message)});
  }
  void max_length(const std::string& path, std::string_view s, size_t max) {
    if (char_count(s) > max) add(path, "must be at most " + std::to_string(max) + " characters");
  }
  // A required, non-blank string of at most `max` characters.
  void text(const std::string& path, std::string_view s, size_t max) {
    if (s.empty()) {
      add(path, "required");
    } else if (blank(s)) {
      add(path, "must not be blank");
    }
    max_length(path, s, max);
  }
  void max_items(const std::string& path, size_t n, size_t max) {
    if (n > max) add(path, "must have at most " + std::to_string(max) + " items");
  }
  void range(const std::string& path, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) {
      add(path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                    std::to_string(v));
    }
  }
  void non_negative(const std::string& path, int64_t v) {
    if (v < 0) add(path, "must not be negative");
  }
  void string_items(const std::string& path, const std::vector<std::string>& items,
                    size_t max_items_, size_t min_len, size_t max_len) {
    max_items(path, items.size(), max_items_);
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].size() < min_len) add(idx(path, i), "must not be empty");
      max_length(idx(path, i), items[i], max_len);
    }
  }
  void secret_name(const std::string& path, std::string_view name, const std::string& why) {
    if (name.empty()) {
      add(path, "required" + why);
    } else if (name.size() > 253 || !is_dns_subdomain(name)) {
      add(path, "must be a Secret name (lowercase DNS subdomain, at most 253 characters)");
    }
  }
  void secret_key(const std::string& path, std::string_view key, const std::string& why) {
    if (key.empty()) {
      add(path, "required" + why);
    } else if (key.size() > 253 || !is_secret_key(key)) {
      add(path, "must be a Secret key ([-._a-zA-Z0-9]+, at most 253 characters)");
    }
  }
  void conditions(const std::string& path, const std::vector<Condition>& conds) {
    max_items(path, conds.size(), 16);
    std::set<std::string_view> seen;
    for (size_t i = 0; i < conds.size(); ++i) {
      const Condition& c = conds[i];
      const std::string p = idx(path, i);
      if (c.type.empty()) {
        add(p + ".type", "required");
      } else if (c.type.size() > 316 || !is_condition_type(c.type)) {
        add(p + ".type", "must be a CamelCase condition type, optionally with a domain prefix");
      } else if (!seen.insert(c.type).second) {
        add(p + ".type", "duplicate condition type \"" + c.type + "\"");
      }
      if (c.reason.empty()) {
        add(p + ".reason", "required");
      } else if (c.reason.size() > 1024 || !is_condition_reason(c.reason)) {
        add(p + ".reason", "must be CamelCase ([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?)");
      }
      max_length(p + ".message", c.message, kMaxConditionMessageLength);
      non_negative(p + ".observedGeneration", c.observed_generation);
      if (c.last_transition_time == Time{}) add(p + ".lastTransitionTime", "required");
    }
  }
};

// ---------------------------------------------------------------------------------------------

void check_spec(Checker& v, const SecurityRuleSpec& s) {
  const std::string sp = "spec";
  v.max_length(sp + ".description", s.description, kMaxDescriptionLength);
  v.text(sp + ".condition", s.condition, kMaxConditionLength);
  v.text(sp + ".output", s.output, kMaxOutputLength);
  v.string_items(sp + ".tags", s.tags, kMaxTags, 1, kMaxTagLength);

  static const std::set<std::string, std::less<>> kComps = {
      "=",        "==",        "!=",        "<",          "<=",          ">",        ">=",
      "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob",
      "iglob",    "regex",     "in",        "intersects", "pmatch"};
  v.max_items(sp + ".exceptions", s.exceptions.size(), kMaxExceptions);
  std::set<std::string_view> names;
  for (size_t i = 0; i < s.exceptions.size(); ++i) {
    const RuleException& ex = s.exceptions[i];
    const std::string p = idx(sp + ".exceptions", i);
    if (ex.name.empty()) {
      v.add(p + ".name", "required");
    } else if (ex.name.size() > kMaxIdentifierLength || !is_exception_name(ex.name)) {
      v.add(p + ".name", "must match [A-Za-z0-9_][A-Za-z0-9_.-]* (at most 128 characters)");
    } else if (!names.insert(ex.name).second) {
      v.add(p + ".name", "duplicate exception \"" + ex.name + "\"");
    }
    if (ex.fields.empty()) v.add(p + ".fields", "required");
    v.string_items(p + ".fields", ex.fields, kMaxExceptionFields, 1, 256);
    v.max_items(p + ".comps", ex.comps.size(), kMaxExceptionFields);
    for (size_t j = 0; j < ex.comps.size(); ++j) {
      if (!kComps.count(ex.comps[j]))
        v.add(idx(p + ".comps", j), "unsupported comparison \"" + ex.comps[j] + "\"");
    }
    if (!ex.comps.empty() && ex.comps.size() != ex.fields.size())
      v.add(p + ".comps", "comps must have one operator per field");
    v.max_items(p + ".values", ex.values.size(), kMaxExceptionRows);
    bool row_error = false;
    for (size_t r = 0; r < ex.values.size(); ++r) {
      const auto& row = ex.values[r];
      v.max_items(idx(p + ".values", r), row.size(), kMaxExceptionFields);
      if (row.size() != ex.fields.size()) row_error = true;
      for (size_t c = 0; c < row.size(); ++c)
        v.max_length(idx(idx(p + ".values", r), c), row[c], kMaxExceptionValueLength);
    }
    if (row_error) v.add(p + ".values", "every row of values must have one value per field");
  }

  v.max_items(sp + ".macros", s.macros.size(), kMaxMacros);
  for (const auto& [name, cond] : s.macros) {
    const std::string p = sp + ".macros." + name;
    if (name.size() > kMaxIdentifierLength || !is_identifier(name)) {
      v.add(sp + ".macros",
            "macro names must be identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters), got "
            "\"" +
                name.substr(0, 64) + "\"");
    }
    if (cond.empty()) v.add(p, "must not be empty");
    v.max_length(p, cond, kMaxMacroLength);
  }
  v.max_items(sp + ".lists", s.lists.size(), kMaxLists);
  for (const auto& [name, items] : s.lists) {
    if (name.size() > kMaxIdentifierLength || !is_identifier(name)) {
      v.add(sp + ".lists",
            "list names must be identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters), got "
            "\"" +
                name.substr(0, 64) + "\"");
    }
    v.string_items(sp + ".lists." + name, items, kMaxListItems, 0, kMaxListItemLength);
  }
  if (s.rate_limit) {
    const RuleRateLimit& rl = *s.rate_limit;
    const std::string p = sp + ".rateLimit";
    if (rl.max_alerts) v.range(p + ".maxAlerts", *rl.max_alerts, 1, 1000000);
    if (rl.per_seconds) v.range(p + ".perSeconds", *rl.per_seconds, 1, 86400);
    v.range(p + ".dedupWindowSeconds", rl.dedup_window_seconds, 0, 86400);
    if (rl.max_alerts.has_value() != rl.per_seconds.has_value())
      v.add(p, "maxAlerts and perSeconds must be set together");
  }
}

void check_status(Checker& v, const SecurityRuleStatus& s) {
  v.non_negative("status.observedGeneration", s.observed_generation);
  v.conditions("status.conditions", s.conditions);
  v.non_negative("status.nodes.targeted", s.nodes.targeted);
  v.non_negative("status.nodes.programmed", s.nodes.programmed);
  v.non_negative("status.nodes.failed", s.nodes.failed);
  v.non_negative("status.alerts.total", s.alerts.total);
  v.max_length("status.expandedCondition", s.expanded_condition, kMaxExpandedConditionLength);
}

// ---------------------------------------------------------------------------------------------

void check_url(Checker& v, const std::string& path, std::string_view url) {
  if (url.empty()) {
    v.add(path, "required");
    return;
  }
  v.max_length(path, url, kMaxUrlLength);
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) {
    v.add(path, "must start with https:// or http://");
    return;
  }
  const std::string_view rest = url.substr(https ? 8 : 7);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) {
    v.add(path,
          "must not carry credentials (user:password@); put them in a Secret named by "
          "headersSecretRef");
    return;
  }
  const bool bad_char = std::any_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == '"' || c == '<' || c == '>' || c == '\\' ||
           c == '^' || c == '`' || c == '{' || c == '|' || c == '}' || c == '\x7f';
  });
  // host[:port] or [v6]:port, as Go's url.Parse reads it: the host non-empty, the port digits.
  std::string_view host = authority, port;
  if (host.starts_with('[')) {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) {
      host = {};
    } else {
      port = host.substr(close + 1);
      host = host.substr(1, close - 1);
      if (!port.empty() && port.front() != ':') host = {};
    }
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon);
    host = host.substr(0, colon);
  }
  if (port.starts_with(':')) port.remove_prefix(1);
  const bool bad_port = !std::all_of(port.begin(), port.end(), is_digit);
  if (host.empty() || bad_port || bad_char) v.add(path, "must be a valid URL with a host");
}

void check_tls(Checker& v, const std::string& path, const TlsConfig& tls) {
  if (tls.ca_secret_ref) {
    v.secret_name(path + ".caSecretRef.name", tls.ca_secret_ref->name, "");
    v.secret_key(path + ".caSecretRef.key", tls.ca_secret_ref->key, "");
  }
  if (tls.client_cert_secret_ref)
    v.secret_name(path + ".clientCertSecretRef.name", tls.client_cert_secret_ref->name, "");
}

void check_name_values(Checker& v, const std::string& path, const std::vector<HttpHeader>& items,
                       bool labels) {
  v.max_items(path, items.size(), 32);
  std::set<std::string_view> seen;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string p = idx(path, i);
    const HttpHeader& h = items[i];
    if (h.name.empty()) {
      v.add(p + ".name", "required");
    } else if (h.name.size() > 128 || !(labels ? is_identifier(h.name) : is_header_name(h.name))) {
      v.add(p + ".name", labels ? "must be a label name ([a-zA-Z_][a-zA-Z0-9_]*)"
                                : "must be an HTTP header name");
    } else if (!seen.insert(h.name).second) {
      v.add(p + ".name", "duplicate \"" + h.name + "\"");
    }
    v.max_length(p + ".value", h.value, labels ? 1024 : 4096);
    if (!labels) {
      static const std::set<std::string, std::less<>> kCredentials = {
          "authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token", "api-key"};
      if (kCredentials.count(lower(h.name)))
        v.add(p + ".name", "credential headers must come from headersSecretRef, never inline");
    }
  }
}

void check_endpoint(Checker& v, const std::string& path, const HttpEndpoint& e) {
  check_url(v, path + ".url", e.url);
  check_name_values(v, path + ".headers", e.headers, /*labels=*/false);
  if (e.headers_secret_ref)
    v.secret_name(path + ".headersSecretRef.name", e.headers_secret_ref->name, "");
  check_tls(v, path + ".tls", e.tls);
  v.range(path + ".timeoutSeconds", e.timeout_seconds, 1, 300);
}

void check_spec(Checker& v, const AlertSinkSpec& s) {
  const std::string type = to_string(s.type);
  const std::string why = " when type is " + type;
  const bool present[] = {s.stdout_.has_value(),       s.file.has_value(),
                          s.webhook.has_value(),       s.slack.has_value(),
                          s.falcosidekick.has_value(), s.alertmanager.has_value()};
  const SinkType types[] = {SinkType::kStdout, SinkType::kFile,          SinkType::kWebhook,
                            SinkType::kSlack,  SinkType::kFalcosidekick, SinkType::kAlertmanager};
  for (size_t i = 0; i < 6; ++i) {
    const std::string block = std::string("spec.") + to_string(types[i]);
    if (types[i] == s.type && !present[i] && s.type != SinkType::kStdout) {
      v.add(block, "required" + why);
    } else if (types[i] != s.type && present[i]) {
      v.add(block, "only the block named by spec.type may be set (type is " + type + ")");
    }
  }
  if (s.file) {
    const FileSink& f = *s.file;
    const std::string p = "spec.file";
    if (f.path.empty()) {
      v.add(p + ".path", "required");
    } else {
      v.max_length(p + ".path", f.path, kMaxFilePathLength);
      if (!f.path.starts_with(kFileSinkDirectory)) {
        v.add(p + ".path", "must be an absolute path under " + std::string(kFileSinkDirectory));
      } else if (f.path.find("/../") != std::string::npos || f.path.ends_with("/..") ||
                 f.path.ends_with("/")) {
        v.add(p + ".path", "must name a file and must not contain '..'");
      }
    }
    v.range(p + ".maxSizeBytes", f.max_size_bytes, 4096, 10737418240);
    v.range(p + ".maxFiles", f.max_files, 0, 100);
  }
  if (s.webhook) check_endpoint(v, "spec.webhook", s.webhook->endpoint);
  if (s.slack) {
    const SlackSink& sl = *s.slack;
    const std::string p = "spec.slack";
    v.secret_name(p + ".webhookSecretRef.name", sl.webhook_secret_ref.name, why);
    v.secret_key(p + ".webhookSecretRef.key", sl.webhook_secret_ref.key, why);
    v.max_length(p + ".channel", sl.channel, 80);
    v.max_length(p + ".username", sl.username, 80);
    if (!sl.icon_emoji.empty() && (sl.icon_emoji.size() > 64 || !is_emoji(sl.icon_emoji)))
      v.add(p + ".iconEmoji", "must be an emoji code like :rotating_light:");
    v.max_length(p + ".template", sl.template_, 4096);
  }
  if (s.falcosidekick) check_endpoint(v, "spec.falcosidekick", s.falcosidekick->endpoint);
  if (s.alertmanager) {
    check_endpoint(v, "spec.alertmanager", s.alertmanager->endpoint);
    check_name_values(v, "spec.alertmanager.labels", s.alertmanager->labels, /*labels=*/true);
    v.range("spec.alertmanager.resolveAfterSeconds", s.alertmanager->resolve_after_seconds, 60,
            604800);
  }

  const SinkFilter& f = s.filter;
  v.string_items("spec.filter.rules", f.rules, 256, 1, 253);
  v.string_items("spec.filter.tags", f.tags, kMaxTags, 1, kMaxTagLength);
  v.max_items("spec.filter.sources", f.sources.size(), 2);
  if (f.sources.size() == 2 && f.sources[0] == f.sources[1])
    v.add("spec.filter.sources[1]", "duplicate \"" + std::string(to_string(f.sources[1])) + "\"");
  v.max_items("spec.filter.namespaces", f.namespaces.size(), 256);
  for (size_t i = 0; i < f.namespaces.size(); ++i) {
    if (f.namespaces[i].size() > 63 || !is_dns_label(f.namespaces[i]))
      v.add(idx("spec.filter.namespaces", i), "must be a namespace name (lowercase DNS label)");
  }

  const Delivery& d = s.delivery;
  v.range("spec.delivery.retries", d.retries, 0, 20);
  v.range("spec.delivery.backoff.initialSeconds", d.backoff_initial_seconds, 1, 3600);
  v.range("spec.delivery.backoff.maxSeconds", d.backoff_max_seconds, 1, 86400);
  if (d.backoff_initial_seconds > d.backoff_max_seconds)
    v.add("spec.delivery.backoff", "initialSeconds must not exceed maxSeconds");
  v.range("spec.delivery.queueSize", d.queue_size, 1, 1000000);
  v.range("spec.delivery.dedupWindowSeconds", d.dedup_window_seconds, 0, 86400);
  if (d.rate_limit) {
    v.range("spec.delivery.rateLimit.maxAlerts", d.rate_limit->max_alerts, 1, 1000000);
    v.range("spec.delivery.rateLimit.perSeconds", d.rate_limit->per_seconds, 1, 86400);
  }
}

void check_status(Checker& v, const AlertSinkStatus& s) {
  v.non_negative("status.observedGeneration", s.observed_generation);
  v.conditions("status.conditions", s.conditions);
  v.non_negative("status.delivered", s.delivered);
  v.non_negative("status.failed", s.failed);
  v.non_negative("status.dropped", s.dropped);
  v.max_length("status.lastError", s.last_error, kMaxLastErrorLength);
}

// ---------------------------------------------------------------------------------------------

template <typename Entry>
void check_named_entries(Checker& v, const std::string& path, const std::vector<Entry>& entries,
                         size_t max) {
  v.max_items(path, entries.size(), max);
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string p = idx(path, i);
    v.max_length(p + ".namespace", entries[i].namespace_, 63);
    v.max_length(p + ".name", entries[i].name, 253);
    if (!seen.insert({entries[i].namespace_, entries[i].name}).second)
      v.add(p, "duplicate entry " + entries[i].namespace_ + "/" + entries[i].name);
  }
}

void check_status(Checker& v, const NodeAgentStatus& s) {
  v.conditions("status.conditions", s.conditions);
  v.non_negative("status.probe.programs", s.probe.programs);
  v.max_length("status.probe.message", s.probe.message, 4096);
  v.non_negative("status.bundle.generation", s.bundle.generation);
  v.max_length("status.bundle.hash", s.bundle.hash, 128);
  v.max_length("status.bundle.error", s.bundle.error, kMaxBundleErrorLength);
  v.non_negative("status.eventsPerSecond", s.events_per_second);
  v.non_negative("status.drops", s.drops);
  v.non_negative("status.alerts", s.alerts);
  check_named_entries(v, "status.rules", s.rules, kMaxNodeAgentRules);
  for (size_t i = 0; i < s.rules.size(); ++i) {
    v.non_negative(idx("status.rules", i) + ".alerts", s.rules[i].alerts);
    v.max_length(idx("status.rules", i) + ".error", s.rules[i].error, 4096);
  }
  check_named_entries(v, "status.sinks", s.sinks, kMaxNodeAgentSinks);
  for (size_t i = 0; i < s.sinks.size(); ++i) {
    const std::string p = idx("status.sinks", i);
    v.non_negative(p + ".delivered", s.sinks[i].delivered);
    v.non_negative(p + ".failed", s.sinks[i].failed);
    v.non_negative(p + ".dropped", s.sinks[i].dropped);
    v.max_length(p + ".lastError", s.sinks[i].last_error, 1024);
    const std::string& st = s.sinks[i].state;
    if (!st.empty() && st != "Ready" && st != "Degraded" && st != "CircuitOpen")
      v.add(p + ".state", "must be Ready, Degraded or CircuitOpen");
  }
}

}  // namespace

std::vector<FieldError> validate(const SecurityRule& rule) {
  Checker v;
  if (rule.metadata.name.empty()) v.add("metadata.name", "required");
  check_spec(v, rule.spec);
  check_status(v, rule.status);
  return std::move(v.errors);
}

std::vector<FieldError> validate(const AlertSink& sink) {
  Checker v;
  if (sink.metadata.name.empty()) v.add("metadata.name", "required");
  check_spec(v, sink.spec);
  check_status(v, sink.status);
  return std::move(v.errors);
}

std::vector<FieldError> validate(const NodeAgent& agent) {
  Checker v;
  const std::string& node = agent.spec.node_name;
  if (node.empty()) {
    v.add("spec.nodeName", "required");
  } else if (node.size() > 253 || !is_dns_subdomain(node)) {
    v.add("spec.nodeName", "must be a node name (lowercase DNS subdomain, at most 253 characters)");
  } else if (agent.metadata.name != node) {
    v.add("metadata.name", "must equal spec.nodeName");
  }
  check_status(v, agent.status);
  return std::move(v.errors);
}

}  // namespace vigil::api::v1alpha1
