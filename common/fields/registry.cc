#include "common/fields/registry.h"

#include <cassert>
#include <charconv>

namespace vigil::fields {

namespace {

constexpr uint32_t kTakesArg = kArgRequired | kArgAllowed | kArgIndex | kDotArg;

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

// A non-negative decimal integer that fits in int64; -1 otherwise.
int64_t parse_index(std::string_view text) {
  if (text.empty()) {
    return -1;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return -1;
    }
  }
  int64_t value = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return -1;
  }
  return value;
}

}  // namespace

void FieldRegistry::add(std::span<const FieldInfo> family) {
  for (const FieldInfo& info : family) {
    assert(info.name != nullptr && info.extract != nullptr);
    [[maybe_unused]] const bool inserted = by_name_.emplace(info.name, &info).second;
    assert(inserted && "duplicate field name");
    ordered_.push_back(&info);
  }
}

const FieldInfo* FieldRegistry::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Result<BoundField> FieldRegistry::bind(std::string_view name,
                                       std::optional<std::string_view> bracket_arg) const {
  BoundField bound;
  std::string_view field_name = name;
  std::optional<std::string_view> arg_text = bracket_arg;
  bool dot_form = false;

  bound.info = find(name);
  if (bound.info == nullptr) {
    // `evt.arg.flags`, `k8s.pod.label.app`: the first dot-prefix that names a kDotArg field
    // takes the rest as its argument. Scanning from the left lets arguments contain dots.
    for (size_t dot = name.find('.'); dot != std::string_view::npos;
         dot = name.find('.', dot + 1)) {
      const FieldInfo* prefix = find(name.substr(0, dot));
      if (prefix != nullptr && (prefix->flags & kDotArg) != 0 && dot + 1 < name.size()) {
        bound.info = prefix;
        field_name = name.substr(0, dot);
        if (bracket_arg.has_value()) {
          return make_error("field " + quoted(field_name) + " already has the argument " +
                            quoted(name.substr(dot + 1)) + "; remove '[" +
                            std::string(*bracket_arg) + "]'");
        }
        arg_text = name.substr(dot + 1);
        dot_form = true;
        break;
      }
    }
  }
  if (bound.info == nullptr) {
    return make_error("unknown field " + quoted(name) + " for source " + quoted(source_));
  }

  const uint32_t flags = bound.info->flags;
  if (arg_text.has_value() && (flags & kTakesArg) == 0) {
    return make_error("field " + quoted(field_name) + " does not take an argument");
  }
  if (!arg_text.has_value() || arg_text->empty()) {
    if ((flags & kArgRequired) != 0) {
      return make_error("field " + quoted(field_name) + " requires an argument, e.g. " +
                        std::string(field_name) + "[...]");
    }
    if (arg_text.has_value() && (flags & kArgIndex) != 0) {
      return make_error("field " + quoted(field_name) + " takes an integer argument, got ''");
    }
  }

  if (arg_text.has_value() && !arg_text->empty()) {
    bound.arg.present = true;
    bound.arg.text = std::string(*arg_text);
    bound.arg.index = parse_index(*arg_text);
    if ((flags & kArgIndex) != 0 && bound.arg.index < 0) {
      return make_error("field " + quoted(field_name) + " takes an integer argument, got " +
                        quoted(*arg_text));
    }
  }

  if (bound.info->prepare != nullptr) {
    std::string err = bound.info->prepare(bound.arg);
    if (!err.empty()) {
      return make_error("field " + quoted(field_name) + ": " + err);
    }
  }

  if (dot_form || !bracket_arg.has_value()) {
    bound.display = std::string(name);
  } else {
    bound.display = std::string(name) + "[" + std::string(*bracket_arg) + "]";
  }
  return bound;
}

}  // namespace vigil::fields
