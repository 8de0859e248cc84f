// libFuzzer target for the audit webhook decoder: decodes arbitrary bytes and, for every event
// it accepts, runs every k8s_audit field extractor (argument-taking fields with a few fixed
// arguments), then checks that an event's JSON renders to something that decodes back to the
// same rendering.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/audit_decoder_fuzz.cc \
//     common/fields/{audit_event,audit_fields,audit_source,registry,value}.cc -o audit_decoder_fuzz
//   ./audit_decoder_fuzz -max_len=65536 fuzz/corpus/audit_decoder

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/fields/audit_event.h"
#include "common/fields/registry.h"
#include "common/fields/source.h"
#include "common/fields/value.h"

namespace {

using namespace vigil::fields;

struct Binding {
  const FieldInfo* info;
  FieldArg arg;
};

FieldArg make_arg(const FieldInfo& info, std::string text) {
  FieldArg arg;
  arg.present = true;
  arg.text = std::move(text);
  if (!arg.text.empty() && arg.text.find_first_not_of("0123456789") == std::string::npos) {
    arg.index = std::stoll(arg.text);
  }
  if (info.prepare && !info.prepare(arg).empty()) __builtin_trap();
  return arg;
}

// Every field once, argument-taking ones with a few arguments each.
std::vector<Binding> all_bindings() {
  std::vector<Binding> out;
  for (const FieldInfo* f : audit_source().fields->all()) {
    std::string_view name = f->name;
    if (f->flags & kArgRequired) {
      std::vector<std::string> args;
      if (name == "ka.uri.param") {
        args = {"command", "limit", "a b"};
      } else if (name.ends_with(".value")) {
        args = {"/requestObject/spec/containers/0", "/user/groups", "/", "stage", "/a~1b/~0/0"};
      } else {
        args = {"/etc*", "/proc", "*"};
      }
      for (std::string& a : args) out.push_back({f, make_arg(*f, std::move(a))});
      continue;
    }
    out.push_back({f, FieldArg{}});
    if (f->flags & kArgIndex) {
      out.push_back({f, make_arg(*f, "0")});
      out.push_back({f, make_arg(*f, "1")});
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<Binding> bindings = all_bindings();
  static ValuePool pool;
  static Arena arena;

  AuditDecodeOptions options;
  options.max_depth = 16;  // small enough that the fuzzer reaches truncation
  options.cluster_name = "fuzz";
  std::string_view body(reinterpret_cast<const char*>(data), size);
  vigil::Result<AuditBatch> batch = decode_audit_batch(body, options);
  if (!batch.ok()) return 0;

  for (const AuditEvent& ev : batch->events) {
    for (const Binding& b : bindings) {
      pool.clear();
      arena.reset();
      ValueWriter out(pool, arena);
      b.info->extract(&ev, b.arg, out);
      if (!(b.info->flags & kList) && pool.size() > 1) __builtin_trap();
      for (const Value& v : pool) {
        if (b.info->type != FieldType::kNumber && v.str.size() && v.str.data() == nullptr)
          __builtin_trap();
      }
    }

    // Rendering is valid JSON and stable: render, decode the rendering as an EventList item,
    // render again.
    std::string compact = render_json(ev.json());
    std::string indented = render_json(ev.json(), 2);
    (void)indented;
    AuditDecodeOptions again = options;
    again.max_depth = options.max_depth + 3;  // the item now sits two levels deeper
    std::string list =
        R"({"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[)" + compact + "]}";
    vigil::Result<AuditBatch> round = decode_audit_batch(list, again);
    if (!round.ok() || round->events.size() != 1) __builtin_trap();
    if (render_json(round->events[0].json()) != compact) __builtin_trap();
  }
  return 0;
}
