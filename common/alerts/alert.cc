#include "common/alerts/alert.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "common/rules/rule_set.h"

namespace vigil::alerts {
namespace {

std::string_view time_field_for(std::string_view source) {
  return source == "k8s_audit" ? "jevt.rawtime" : "evt.rawtime";
}

void split_time(int64_t time_ns, std::tm& tm, long& nanos) {
  time_t secs = static_cast<time_t>(time_ns / 1000000000);
  nanos = static_cast<long>(time_ns % 1000000000);
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  gmtime_r(&secs, &tm);
}

// The first value of a string field of the event; "" when the source has no such field or the
// event no value.
std::string extract_string(const fields::EventSource& source, const void* event,
                           rules::EvalContext& ctx, std::string_view field) {
  if (field.empty()) return {};
  const fields::FieldInfo* info = source.fields->find(field);
  if (!info) return {};
  fields::BoundField bf;
  bf.info = info;
  auto values = ctx.extract(bf, {}, event);
  return values.empty() ? std::string() : std::string(values[0].str);
}

// The pod an event is about: the syscall source's k8s.pod.name, or for k8s_audit the target
// object's name when the target is a pod (pods/exec, pods/attach, ... included).
std::string event_pod_name(const fields::EventSource& source, const void* event,
                           rules::EvalContext& ctx) {
  if (source.name == "syscall") return extract_string(source, event, ctx, "k8s.pod.name");
  if (source.name == "k8s_audit" &&
      extract_string(source, event, ctx, "ka.target.resource") == "pods")
    return extract_string(source, event, ctx, "ka.target.name");
  return {};
}

}  // namespace

std::string format_rfc3339_ns(int64_t time_ns) {
  std::tm tm{};
  long nanos = 0;
  split_time(time_ns, tm, nanos);
  char buf[64];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
  return buf;
}

std::string Alert::output() const {
  std::tm tm{};
  long nanos = 0;
  split_time(time_ns, tm, nanos);
  char buf[32];
  snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%09ld", tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
  return std::string(buf) + ": " + rules::priority_name(priority) + " " + message;
}

int64_t event_time_ns(const fields::EventSource& source, const void* event,
                      rules::EvalContext& ctx) {
  const fields::FieldInfo* info = source.fields->find(time_field_for(source.name));
  if (!info) return 0;
  fields::BoundField bf;
  bf.info = info;
  auto values = ctx.extract(bf, {}, event);
  return values.empty() ? 0 : values[0].num;
}

Alert make_alert(const rules::CompiledRule& rule, const fields::EventSource& source,
                 const void* event, rules::EvalContext& ctx, std::string_view hostname) {
  Alert a;
  a.time_ns = event_time_ns(source, event, ctx);
  a.rule = rule.name;
  a.priority = rule.priority;
  a.source = rule.source;
  a.hostname = std::string(hostname);
  a.tags = rule.tags;
  a.rule_namespace = rule.object_namespace;
  a.mode = rule.mode;
  a.event_namespace = extract_string(source, event, ctx, source.namespace_field);
  a.event_pod = event_pod_name(source, event, ctx);
  rule.output.render(event, ctx, a.message, &a.output_fields);
  return a;
}

std::string to_falco_json(const Alert& alert) {
  nlohmann::ordered_json j;
  j["hostname"] = alert.hostname;
  j["output"] = alert.output();
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  for (const auto& f : alert.output_fields) {
    switch (f.value.index()) {
      case 0:
        fields[f.name] = nullptr;
        break;
      case 1:
        fields[f.name] = std::get<1>(f.value);
        break;
      case 2:
        fields[f.name] = std::get<2>(f.value);
        break;
      case 3:
        fields[f.name] = std::get<3>(f.value);
        break;
      case 4:
        fields[f.name] = std::get<4>(f.value);
        break;
    }
  }
  j["output_fields"] = std::move(fields);
  j["priority"] = rules::priority_name(alert.priority);
  j["rule"] = alert.rule;
  j["source"] = alert.source;
  j["tags"] = alert.tags;
  j["time"] = format_rfc3339_ns(alert.time_ns);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace vigil::alerts
