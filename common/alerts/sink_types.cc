// The sink types: an AlertSink's spec and Secret values become a SinkTarget (sink.h). HTTP
// destinations get an Encoder (webhook, Slack, Falcosidekick, Alertmanager); stdout and file get
// a LocalOutput (local_outputs.cc).

#include "common/alerts/sink_types.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

namespace vigil::alerts {
namespace {

namespace v1 = api::v1alpha1;
using Json = nlohmann::ordered_json;

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view trim(std::string_view s) {
  const auto not_space = [](char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; };
  while (!s.empty() && !not_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && !not_space(s.back())) s.remove_suffix(1);
  return s;
}

bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// RFC 9110 token characters, what a header name may hold.
bool is_header_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_http_url(std::string_view url) {
  return url.starts_with("https://") || url.starts_with("http://");
}

// An encoder was handed more alerts than it takes: a bug in the caller, not a condition to
// recover from (dropping the rest would lose alerts silently).
void check_batch(std::span<const Alert> batch, size_t max_batch) {
  if (batch.empty() || batch.size() > max_batch) {
    std::fprintf(stderr, "Encoder::encode called with %zu alerts (max %zu)\n", batch.size(),
                 max_batch);
    std::abort();
  }
}

// ---------------------------------------------------------------------------------------------
// Secrets and endpoints.

// "<secret name>/<key>" -> value; errors name the field, the Secret and the key, never a value.
Result<std::string> secret_value(const Credentials& creds, const std::string& field,
                                 const std::string& secret, const std::string& key) {
  auto it = creds.find(secret + "/" + key);
  if (it == creds.end())
    return make_error(field + ": Secret " + secret + " has no key '" + key + "'");
  return it->second;
}

struct Endpoint {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  HttpTls tls;
  std::chrono::seconds timeout{10};
};

Result<Endpoint> make_endpoint(const v1::HttpEndpoint& spec, const std::string& block,
                               const Credentials& creds) {
  Endpoint e;
  e.url = std::string(trim(spec.url));
  if (e.url.empty()) return make_error(block + ".url: required");
  if (!is_http_url(e.url) || has_line_break(e.url))
    return make_error(block + ".url: must be an http:// or https:// URL");
  e.timeout = std::chrono::seconds(std::max<int32_t>(spec.timeout_seconds, 1));

  bool content_type = false;
  std::vector<std::pair<std::string, std::string>> extra;
  for (size_t i = 0; i < spec.headers.size(); ++i) {
    const auto& h = spec.headers[i];
    const std::string field = block + ".headers[" + std::to_string(i) + "]";
    if (!is_header_name(h.name)) return make_error(field + ".name: not a valid header name");
    if (has_line_break(h.value)) return make_error(field + ".value: must not contain line breaks");
    content_type = content_type || iequals(h.name, "Content-Type");
    extra.emplace_back(h.name, h.value);
  }
  if (spec.headers_secret_ref) {
    const std::string field = block + ".headersSecretRef";
    const std::string& secret = spec.headers_secret_ref->name;
    const std::string prefix = secret + "/";
    size_t found = 0;
    for (auto it = creds.lower_bound(prefix); it != creds.end() && it->first.starts_with(prefix);
         ++it, ++found) {
      const std::string key = it->first.substr(prefix.size());
      if (!is_header_name(key))
        return make_error(field + ": Secret " + secret + " key '" + key +
                          "' is not a valid header name");
      const std::string_view value = trim(it->second);
      if (has_line_break(value))
        return make_error(field + ": Secret " + secret + " key '" + key +
                          "' holds a value with line breaks");
      content_type = content_type || iequals(key, "Content-Type");
      extra.emplace_back(key, std::string(value));
    }
    if (found == 0)
      return make_error(field + ": Secret " + secret + " has no keys (or they were not delivered)");
  }
  if (!content_type) e.headers.emplace_back("Content-Type", "application/json");
  for (auto& h : extra) e.headers.push_back(std::move(h));

  e.tls.insecure_skip_verify = spec.tls.insecure_skip_verify;
  if (const auto& ca = spec.tls.ca_secret_ref) {
    auto v = secret_value(creds, block + ".tls.caSecretRef", ca->name, ca->key);
    if (!v.ok()) return Error{v.error()};
    e.tls.ca_pem = std::move(v).value();
  }
  if (const auto& cert = spec.tls.client_cert_secret_ref) {
    const std::string field = block + ".tls.clientCertSecretRef";
    auto crt = secret_value(creds, field, cert->name, "tls.crt");
    if (!crt.ok()) return Error{crt.error()};
    auto key = secret_value(creds, field, cert->name, "tls.key");
    if (!key.ok()) return Error{key.error()};
    e.tls.client_cert_pem = std::move(crt).value();
    e.tls.client_key_pem = std::move(key).value();
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Encoders.

// Falco's JSON alert: one per request (webhook format falco, Falcosidekick, whose `/` takes
// exactly what Falco's http_output posts), or a JSON array of them (webhook format batch).
class FalcoJsonEncoder : public Encoder {
 public:
  FalcoJsonEncoder(HttpRequest prototype, bool batch)
      : prototype_(std::move(prototype)), batch_(batch) {}

  size_t max_batch() const override { return batch_ ? kWebhookMaxBatch : 1; }

  HttpRequest encode(std::span<const Alert> batch) const override {
    check_batch(batch, max_batch());
    HttpRequest r = prototype_;
    if (!batch_) {
      r.body = to_falco_json(batch[0]);
      return r;
    }
    r.body = "[";
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i) r.body += ',';
      r.body += to_falco_json(batch[i]);
    }
    r.body += ']';
    return r;
  }

 private:
  HttpRequest prototype_;
  bool batch_;
};

// Slack's mrkdwn treats &, < and > as control characters.
std::string slack_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<std::string> sorted_tags(const Alert& a) {
  std::vector<std::string> tags = a.tags;
  std::sort(tags.begin(), tags.end());
  return tags;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

// A message like Falcosidekick's Slack output: the text, and one attachment coloured by
// priority whose fields are the rule, priority, source, hostname, tags, every output field (by
// name) and the time.
class SlackEncoder : public Encoder {
 public:
  SlackEncoder(std::string url, const v1::SlackSink& spec, std::optional<SlackTemplate> tmpl)
      : url_(std::move(url)), spec_(spec), template_(std::move(tmpl)) {}

  size_t max_batch() const override { return 1; }

  HttpRequest encode(std::span<const Alert> batch) const override {
    check_batch(batch, max_batch());
    const Alert& a = batch[0];
    Json fields = Json::array();
    const auto field = [&](std::string_view title, std::string_view value, bool is_short) {
      fields.push_back(Json{{"title", title}, {"value", slack_escape(value)}, {"short", is_short}});
    };
    field("rule", a.rule, true);
    field("priority", rules::priority_name(a.priority), true);
    field("source", a.source, true);
    if (!a.hostname.empty()) field("hostname", a.hostname, true);
    if (!a.tags.empty()) field("tags", join(sorted_tags(a), ", "), true);
    std::vector<const rules::OutputField*> outs;
    for (const auto& f : a.output_fields) outs.push_back(&f);
    std::stable_sort(outs.begin(), outs.end(),
                     [](const auto* x, const auto* y) { return x->name < y->name; });
    for (const auto* f : outs) {
      const std::string value = rules::output_value_to_string(f->value);
      field(f->name, value, value.size() < 36);
    }
    field("time", format_rfc3339_ns(a.time_ns), false);

    Json attachment;
    attachment["fallback"] = slack_escape(a.output());
    attachment["color"] = slack_color(a.priority);
    attachment["fields"] = std::move(fields);
    attachment["footer"] = "Vigil";
    attachment["ts"] = a.time_ns / 1000000000;

    Json msg;
    msg["text"] = template_ ? template_->render(a) : slack_escape(a.output());
    if (!spec_.channel.empty()) msg["channel"] = spec_.channel;
    if (!spec_.username.empty()) msg["username"] = spec_.username;
    if (!spec_.icon_emoji.empty()) msg["icon_emoji"] = spec_.icon_emoji;
    msg["attachments"] = Json::array({std::move(attachment)});

    HttpRequest r;
    r.method = "POST";
    r.url = url_;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = dump(msg);
    return r;
  }

 private:
  std::string url_;  // secret
  v1::SlackSink spec_;
  std::optional<SlackTemplate> template_;
};

Json output_fields_json(const Alert& a) {
  Json j = Json::object();
  for (const auto& f : a.output_fields) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            j[f.name] = nullptr;
          } else {
            j[f.name] = v;
          }
        },
        f.value);
  }
  return j;
}

// Alertmanager's v2 API: POST /api/v2/alerts with a list of postableAlert
// ({labels, annotations, startsAt, endsAt, generatorURL}).
class AlertmanagerEncoder : public Encoder {
 public:
  AlertmanagerEncoder(HttpRequest prototype, const v1::AlertmanagerSink& spec)
      : prototype_(std::move(prototype)), spec_(spec) {}

  size_t max_batch() const override { return kAlertmanagerMaxBatch; }

  HttpRequest encode(std::span<const Alert> batch) const override {
    check_batch(batch, max_batch());
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    Json alerts = Json::array();
    for (const Alert& a : batch) {
      // Identity labels first; the spec's labels add to them and never replace one (a sink's
      // labels must not make alerts of different rules or namespaces look alike).
      Json labels;
      labels["alertname"] = a.rule;
      labels["rule"] = a.rule;
      labels["priority"] = rules::priority_name(a.priority);
      labels["severity"] = alertmanager_severity(a.priority);
      labels["source"] = a.source;
      if (!a.hostname.empty()) labels["hostname"] = a.hostname;
      const std::string& ns = a.event_namespace.empty() ? a.rule_namespace : a.event_namespace;
      if (!ns.empty()) labels["namespace"] = ns;
      if (!a.event_pod.empty()) labels["pod"] = a.event_pod;
      for (const auto& l : spec_.labels)
        if (!labels.contains(l.name)) labels[l.name] = l.value;

      Json annotations;
      annotations["summary"] = a.message;
      annotations["description"] = a.output();
      if (!a.output_fields.empty()) annotations["output_fields"] = dump(output_fields_json(a));
      if (!a.tags.empty()) annotations["tags"] = join(sorted_tags(a), ",");

      // An alert without an event time starts when it is sent, so that it does not arrive
      // already resolved.
      const int64_t starts = a.time_ns > 0 ? a.time_ns : now_ns;
      const int64_t ends =
          starts +
          static_cast<int64_t>(std::max<int32_t>(spec_.resolve_after_seconds, 1)) * 1000000000;
      Json alert;
      alert["labels"] = std::move(labels);
      alert["annotations"] = std::move(annotations);
      alert["startsAt"] = format_rfc3339_ns(starts);
      alert["endsAt"] = format_rfc3339_ns(ends);
      alerts.push_back(std::move(alert));
    }
    HttpRequest r = prototype_;
    r.body = dump(alerts);
    return r;
  }

 private:
  HttpRequest prototype_;
  v1::AlertmanagerSink spec_;
};

const char* const kPlaceholders[] = {"rule",     "priority",  "output", "message", "source",
                                     "hostname", "namespace", "pod",    "time",    "tags"};

bool is_identifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool is_field_placeholder(std::string_view s) {
  if (!s.starts_with("field:") || s.size() == 6) return false;
  return std::none_of(s.begin() + 6, s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '{' || c == '}';
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public helpers.

Result<SlackTemplate> SlackTemplate::parse(std::string_view text) {
  SlackTemplate t;
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '{') {
      const bool twice = i + 1 < text.size() && text[i + 1] == '{';
      const std::string_view close = twice ? "}}" : "}";
      const size_t start = i + (twice ? 2 : 1);
      const size_t end = text.find(close, start);
      if (end != std::string_view::npos) {
        const std::string_view name = trim(text.substr(start, end - start));
        const bool known = std::any_of(std::begin(kPlaceholders), std::end(kPlaceholders),
                                       [&](const char* p) { return name == p; });
        if (known || is_field_placeholder(name)) {
          t.segments_.push_back({std::move(literal), std::string(name)});
          literal.clear();
          i = end + close.size();
          continue;
        }
        if (is_identifier(name)) {
          std::string all;
          for (const char* p : kPlaceholders)
            all += std::string(all.empty() ? "" : ", ") + "{" + p + "}";
          return make_error("spec.slack.template: unknown placeholder {" + std::string(name) +
                            "}; known: " + all + ", {field:NAME}");
        }
      }
    }
    literal += text[i++];
  }
  t.segments_.push_back({std::move(literal), ""});
  return t;
}

std::string SlackTemplate::render(const Alert& a) const {
  std::string out;
  for (const auto& s : segments_) {
    out += s.literal;
    const std::string_view p = s.placeholder;
    if (p.empty()) continue;
    std::string value;
    if (p == "rule") {
      value = a.rule;
    } else if (p == "priority") {
      value = rules::priority_name(a.priority);
    } else if (p == "output") {
      value = a.output();
    } else if (p == "message") {
      value = a.message;
    } else if (p == "source") {
      value = a.source;
    } else if (p == "hostname") {
      value = a.hostname;
    } else if (p == "namespace") {
      value = a.event_namespace.empty() ? a.rule_namespace : a.event_namespace;
    } else if (p == "pod") {
      value = a.event_pod;
    } else if (p == "time") {
      value = format_rfc3339_ns(a.time_ns);
    } else if (p == "tags") {
      value = join(a.tags, ", ");
    } else {  // field:NAME
      const std::string_view name = p.substr(6);
      value = "<NA>";
      for (const auto& f : a.output_fields) {
        if (f.name == name) {
          value = rules::output_value_to_string(f.value);
          break;
        }
      }
    }
    out += slack_escape(value);
  }
  return out;
}

std::string_view slack_color(rules::Priority p) {
  switch (p) {
    case rules::Priority::kEmergency:
    case rules::Priority::kError:
      return "#e20b0b";  // red
    case rules::Priority::kAlert:
    case rules::Priority::kCritical:
      return "#ff5400";  // orange
    case rules::Priority::kWarning:
      return "#ffc700";  // yellow
    case rules::Priority::kNotice:
      return "#5bffb5";  // light cyan
    case rules::Priority::kInformational:
      return "#68c2ff";  // light blue
    case rules::Priority::kDebug:
      return "#ccfff2";  // pale cyan
  }
  return "#ccfff2";
}

std::string_view alertmanager_severity(rules::Priority p) {
  switch (p) {
    case rules::Priority::kEmergency:
    case rules::Priority::kAlert:
    case rules::Priority::kCritical:
      return "critical";
    case rules::Priority::kError:
    case rules::Priority::kWarning:
      return "warning";
    default:
      return "information";
  }
}

std::string alertmanager_alerts_url(std::string_view base) {
  constexpr std::string_view kPath = "/api/v2/alerts";
  std::string_view query;
  if (const size_t q = base.find_first_of("?#"); q != std::string_view::npos) {
    query = base.substr(q);
    base = base.substr(0, q);
  }
  while (base.ends_with('/')) base.remove_suffix(1);
  std::string url(base);
  if (!base.ends_with(kPath)) url += kPath;
  url += query;
  return url;
}

Result<SinkTarget> make_sink_target(std::string ns, std::string name, int64_t generation,
                                    const api::v1alpha1::AlertSinkSpec& spec,
                                    const Credentials& credentials) {
  SinkTarget t;
  t.ns = std::move(ns);
  t.name = std::move(name);
  t.generation = generation;
  t.type = spec.type;
  t.filter = spec.filter;
  t.delivery = spec.delivery;
  const auto missing = [&](const char* block) {
    return make_error(std::string("spec.") + block + ": required when type is " + block);
  };
  const auto prototype = [](const Endpoint& e, std::string method) {
    HttpRequest r;
    r.method = std::move(method);
    r.url = e.url;
    r.headers = e.headers;
    return r;
  };

  switch (spec.type) {
    case v1::SinkType::kStdout:
      t.local = make_stdout_output(spec.stdout_ ? spec.stdout_->format : v1::AlertFormat::kJson);
      return t;
    case v1::SinkType::kFile: {
      if (!spec.file) return missing("file");
      auto out = make_file_output(*spec.file);
      if (!out.ok()) return Error{out.error()};
      t.local = std::move(out).value();
      return t;
    }
    case v1::SinkType::kWebhook: {
      if (!spec.webhook) return missing("webhook");
      auto e = make_endpoint(spec.webhook->endpoint, "spec.webhook", credentials);
      if (!e.ok()) return Error{e.error()};
      t.encoder =
          std::make_shared<FalcoJsonEncoder>(prototype(*e, v1::to_string(spec.webhook->method)),
                                             spec.webhook->format == v1::WebhookFormat::kBatch);
      t.tls = e->tls;
      t.timeout = e->timeout;
      return t;
    }
    case v1::SinkType::kSlack: {
      if (!spec.slack) return missing("slack");
      const auto& ref = spec.slack->webhook_secret_ref;
      const std::string field = "spec.slack.webhookSecretRef";
      auto url = secret_value(credentials, field, ref.name, ref.key);
      if (!url.ok()) return Error{url.error()};
      const std::string_view u = trim(*url);
      if (!is_http_url(u) || has_line_break(u))
        return make_error(field + ": Secret " + ref.name + " key '" + ref.key +
                          "' does not hold an http:// or https:// URL");
      std::optional<SlackTemplate> tmpl;
      if (!spec.slack->template_.empty()) {
        auto parsed = SlackTemplate::parse(spec.slack->template_);
        if (!parsed.ok()) return Error{parsed.error()};
        tmpl = std::move(parsed).value();
      }
      t.encoder = std::make_shared<SlackEncoder>(std::string(u), *spec.slack, std::move(tmpl));
      return t;
    }
    case v1::SinkType::kFalcosidekick: {
      if (!spec.falcosidekick) return missing("falcosidekick");
      auto e = make_endpoint(spec.falcosidekick->endpoint, "spec.falcosidekick", credentials);
      if (!e.ok()) return Error{e.error()};
      t.encoder = std::make_shared<FalcoJsonEncoder>(prototype(*e, "POST"), false);
      t.tls = e->tls;
      t.timeout = e->timeout;
      return t;
    }
    case v1::SinkType::kAlertmanager: {
      if (!spec.alertmanager) return missing("alertmanager");
      auto e = make_endpoint(spec.alertmanager->endpoint, "spec.alertmanager", credentials);
      if (!e.ok()) return Error{e.error()};
      HttpRequest proto = prototype(*e, "POST");
      proto.url = alertmanager_alerts_url(e->url);
      t.encoder = std::make_shared<AlertmanagerEncoder>(std::move(proto), *spec.alertmanager);
      t.tls = e->tls;
      t.timeout = e->timeout;
      return t;
    }
  }
  return make_error("spec.type: unknown sink type");
}

}  // namespace vigil::alerts
