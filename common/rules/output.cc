#include "common/rules/output.h"

#include "common/rules/rule_set.h"

namespace vigil::rules {
namespace {

bool is_field_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

struct TransformerName {
  std::string_view name;
  ast::Transformer t;
};
constexpr TransformerName kTransformers[] = {{"tolower", ast::Transformer::kToLower},
                                             {"toupper", ast::Transformer::kToUpper},
                                             {"b64", ast::Transformer::kB64},
                                             {"basename", ast::Transformer::kBasename},
                                             {"len", ast::Transformer::kLen}};

std::string format_value(fields::FieldType type, const fields::Value& v) {
  switch (type) {
    case fields::FieldType::kString:
    case fields::FieldType::kPath:
      return std::string(v.str);
    case fields::FieldType::kNumber:
      return std::to_string(v.num);
    case fields::FieldType::kBool:
      return v.num ? "true" : "false";
    case fields::FieldType::kIpAddr:
    case fields::FieldType::kIpNet:
      return fields::format_ip(v.ip);
  }
  return {};
}

}  // namespace

std::string output_value_to_string(const OutputValue& v) {
  switch (v.index()) {
    case 0:
      return "<NA>";
    case 1:
      return std::get<1>(v);
    case 2:
      return std::to_string(std::get<2>(v));
    case 3:
      return std::get<3>(v) ? "true" : "false";
    case 4: {
      std::string out = "(";
      const auto& l = std::get<4>(v);
      for (size_t i = 0; i < l.size(); ++i) out += (i ? "," : "") + l[i];
      return out + ")";
    }
  }
  return "<NA>";
}

bool compile_output(const std::string& text, const fields::FieldRegistry& registry,
                    OutputTemplate& out, std::string& error, size_t& error_offset) {
  out.segments.clear();
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '%') {
      literal += c;
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '%') {  // %% prints one %
      literal += '%';
      i += 2;
      continue;
    }
    size_t start = i++;
    std::vector<ast::Transformer> ts;
    size_t closing = 0;
    // %tolower(proc.name), possibly nested.
    while (true) {
      bool found = false;
      for (const auto& t : kTransformers) {
        if (text.compare(i, t.name.size(), t.name) == 0 && i + t.name.size() < text.size() &&
            text[i + t.name.size()] == '(') {
          ts.insert(ts.begin(), t.t);
          i += t.name.size() + 1;
          ++closing;
          found = true;
          break;
        }
      }
      if (!found) break;
    }
    size_t name_start = i;
    while (i < text.size() && is_field_char(text[i])) ++i;
    while (i > name_start && text[i - 1] == '.') --i;  // "%proc.name." ends a sentence
    std::string name = text.substr(name_start, i - name_start);
    if (name.empty() || name.find('.') == std::string::npos) {
      if (ts.empty()) {  // a lone '%' (e.g. "100%") stays literal
        literal += text.substr(start, i - start);
        continue;
      }
      error = "expected a field name after '%'";
      error_offset = name_start;
      return false;
    }
    std::optional<std::string_view> arg;
    if (i < text.size() && text[i] == '[') {
      size_t close = text.find(']', i);
      if (close == std::string::npos) {
        error = "missing ']' after field argument";
        error_offset = i;
        return false;
      }
      arg = std::string_view(text).substr(i + 1, close - i - 1);
      i = close + 1;
    }
    for (size_t k = 0; k < closing; ++k) {
      if (i >= text.size() || text[i] != ')') {
        error = "missing ')' after transformer argument";
        error_offset = i;
        return false;
      }
      ++i;
    }
    auto bound = registry.bind(name, arg);
    if (!bound.ok()) {
      error = bound.error();
      error_offset = name_start;
      return false;
    }
    OutputTemplate::Segment seg;
    seg.literal = std::move(literal);
    literal.clear();
    seg.has_field = true;
    seg.field = std::move(bound.value());
    seg.transformers = std::move(ts);
    seg.display = text.substr(start + 1, i - start - 1);
    out.segments.push_back(std::move(seg));
  }
  if (!literal.empty()) {
    OutputTemplate::Segment seg;
    seg.literal = std::move(literal);
    out.segments.push_back(std::move(seg));
  }
  return true;
}

void OutputTemplate::render(const void* event, EvalContext& ctx, std::string& out,
                            std::vector<OutputField>* fields) const {
  for (const auto& seg : segments) {
    out += seg.literal;
    if (!seg.has_field) continue;
    auto values = ctx.extract(seg.field, seg.transformers, event);
    fields::FieldType type = seg.field.info->type;
    for (auto t : seg.transformers) {
      type = t == ast::Transformer::kLen ? fields::FieldType::kNumber : fields::FieldType::kString;
    }
    OutputValue value;
    if (values.empty()) {
      out += "<NA>";
    } else if (values.size() == 1 && !seg.field.is_list()) {
      std::string s = format_value(type, values[0]);
      out += s;
      if (type == fields::FieldType::kNumber) {
        value = values[0].num;
      } else if (type == fields::FieldType::kBool) {
        value = values[0].num != 0;
      } else {
        value = std::move(s);
      }
    } else {
      std::vector<std::string> list;
      for (const auto& v : values) list.push_back(format_value(type, v));
      value = list;
      out += output_value_to_string(value);
    }
    if (fields) {
      bool seen = false;
      for (const auto& f : *fields) seen = seen || f.name == seg.display;
      if (!seen) fields->push_back(OutputField{seg.display, std::move(value)});
    }
  }
}

}  // namespace vigil::rules
