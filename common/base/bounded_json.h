#pragma once

// nlohmann parsing of untrusted JSON with a nesting bound. Include only from .cc files: it pulls
// in nlohmann/json.hpp.

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/json_depth.h"

namespace vigil {

inline constexpr int kMaxJsonDepth = 64;

// The parsed document, or a discarded value (is_discarded()) when the text is not JSON or nests
// deeper than kMaxJsonDepth. Never throws.
template <typename JsonT = nlohmann::json>
JsonT parse_bounded_json(std::string_view text) {
  if (!json_nesting_within(text, kMaxJsonDepth)) return JsonT(JsonT::value_t::discarded);
  return JsonT::parse(text, nullptr, false);
}

}  // namespace vigil
