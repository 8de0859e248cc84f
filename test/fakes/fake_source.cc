#include "test/fakes/fake_source.h"

#include <array>

namespace vigil::testing {
namespace {

using fields::FieldArg;
using fields::FieldInfo;
using fields::FieldType;
using fields::ValueWriter;

const FakeEvent& ev(const void* e) { return *static_cast<const FakeEvent*>(e); }

constexpr std::array<std::string_view, 3> kTypes = {"alpha", "beta", "gamma"};

const std::array<FieldInfo, 12> kFields = {{
    {"fake.type", FieldType::kString, fields::kNone, "event type",
     [](const void* e, const FieldArg&, ValueWriter& w) { w.str(kTypes[ev(e).type]); }},
    {"fake.name", FieldType::kString, fields::kNone, "a name",
     [](const void* e, const FieldArg&, ValueWriter& w) {
       if (!ev(e).name.empty()) w.str(ev(e).name);
     }},
    {"fake.path", FieldType::kPath, fields::kNone, "a path",
     [](const void* e, const FieldArg&, ValueWriter& w) {
       if (!ev(e).path.empty()) w.str(ev(e).path);
     }},
    {"fake.num", FieldType::kNumber, fields::kNone, "a number",
     [](const void* e, const FieldArg&, ValueWriter& w) {
       if (ev(e).has_num) w.num(ev(e).num);
     }},
    {"fake.flag", FieldType::kBool, fields::kNone, "a flag",
     [](const void* e, const FieldArg&, ValueWriter& w) { w.boolean(ev(e).flag); }},
    {"fake.ip", FieldType::kIpAddr, fields::kNone, "an address",
     [](const void* e, const FieldArg&, ValueWriter& w) {
       fields::IpAddr a;
       if (fields::parse_ip(ev(e).ip, a, false)) w.ip(a);
     }},
    {"fake.net", FieldType::kIpNet, fields::kNone, "an address compared with networks",
     [](const void* e, const FieldArg&, ValueWriter& w) {
       fields::IpAddr a;
       if (fields::parse_ip(ev(e).ip, a, false)) w.ip(a);
     }},
    {"fake.tags", FieldType::kString, fields::kList, "a list",
     [](const void* e, const FieldArg&, ValueWriter& w) {
       for (const auto& t : ev(e).tags) w.str(t);
     }},
    {"fake.any", FieldType::kString, fields::kArgAllowed | fields::kArgIndex, "ancestors-like",
     [](const void* e, const FieldArg& arg, ValueWriter& w) {
       const auto& n = ev(e).names;
       if (arg.present) {
         if (arg.index >= 0 && static_cast<size_t>(arg.index) < n.size()) w.str(n[arg.index]);
         return;
       }
       for (const auto& s : n) w.str(s);
     }},
    {"fake.kv", FieldType::kString, fields::kArgRequired | fields::kDotArg, "keyed values",
     [](const void* e, const FieldArg& arg, ValueWriter& w) {
       for (const auto& [k, v] : ev(e).kv)
         if (k == arg.text) w.str(v);
     }},
    {"fake.time", FieldType::kNumber, fields::kNone, "event time",
     [](const void* e, const FieldArg&, ValueWriter& w) { w.num(ev(e).time_ns); }},
    {"fake.ns", FieldType::kString, fields::kNone, "namespace",
     [](const void* e, const FieldArg&, ValueWriter& w) {
       if (!ev(e).ns.empty()) w.str(ev(e).ns);
     }},
}};

int type_id(std::string_view name) {
  for (size_t i = 0; i < kTypes.size(); ++i)
    if (kTypes[i] == name) return static_cast<int>(i);
  return -1;
}

}  // namespace

const fields::EventSource& fake_source() {
  static const fields::FieldRegistry* registry = [] {
    auto* r = new fields::FieldRegistry("fake");  // NOLINT: lives for the process
    r->add(kFields);
    return r;
  }();
  static const fields::EventSource source{
      "fake",
      registry,
      "fake.type",
      kTypes.size(),
      type_id,
      [](uint16_t id) { return id < kTypes.size() ? kTypes[id] : std::string_view(); },
      [](const void* e) { return ev(e).type; },
      "fake.ns"};
  return source;
}

}  // namespace vigil::testing
