#pragma once

// Output templates: "Shell in container (user=%user.name cmd=%proc.cmdline)". Compiled once
// into literal text and bound fields; rendered only when a rule matches.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/fields/registry.h"
#include "common/rules/ast.h"

namespace vigil::rules {

class EvalContext;

// A field value as it appears in an alert's output_fields: absent (<NA>, JSON null), a string,
// a number, a boolean or a list of strings.
using OutputValue =
    std::variant<std::monostate, std::string, int64_t, bool, std::vector<std::string>>;

struct OutputField {
  std::string name;  // as written in the template: "proc.aname[2]", "tolower(proc.name)"
  OutputValue value;
};

std::string output_value_to_string(const OutputValue& v);  // <NA> for absent

struct OutputTemplate {
  struct Segment {
    std::string literal;  // printed before the field
    bool has_field = false;
    fields::BoundField field;
    std::vector<ast::Transformer> transformers;
    std::string display;
  };
  std::vector<Segment> segments;

  // Renders the text and, if `fields` is set, the distinct fields with their values.
  void render(const void* event, EvalContext& ctx, std::string& out,
              std::vector<OutputField>* fields) const;
};

// Parses `%field`, `%field[arg]`, `%tolower(field)`; fields are bound against `registry`.
// On error returns false and sets `error` and the byte offset of the problem.
bool compile_output(const std::string& text, const fields::FieldRegistry& registry,
                    OutputTemplate& out, std::string& error, size_t& error_offset);

}  // namespace vigil::rules
