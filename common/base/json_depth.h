#pragma once

// A pre-check for untrusted JSON before nlohmann builds a tree from it: nlohmann parses and
// destroys recursively, so a document nested thousands of levels deep would exhaust the stack.

#include <string_view>

namespace vigil {

// True when no object or array in `text` nests deeper than `max_depth` (strings are skipped,
// escapes included). Linear, allocation-free; malformed JSON is left for the parser to reject.
inline bool json_nesting_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

}  // namespace vigil
