#include "common/rules/ast.h"

namespace vigil::rules::ast {

const char* transformer_name(Transformer t) {
  switch (t) {
    case Transformer::kToLower:
      return "tolower";
    case Transformer::kToUpper:
      return "toupper";
    case Transformer::kB64:
      return "b64";
    case Transformer::kBasename:
      return "basename";
    case Transformer::kLen:
      return "len";
  }
  return "?";
}

const char* op_name(Op op) {
  switch (op) {
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kContains:
      return "contains";
    case Op::kIContains:
      return "icontains";
    case Op::kBContains:
      return "bcontains";
    case Op::kStartsWith:
      return "startswith";
    case Op::kBStartsWith:
      return "bstartswith";
    case Op::kEndsWith:
      return "endswith";
    case Op::kGlob:
      return "glob";
    case Op::kIGlob:
      return "iglob";
    case Op::kRegex:
      return "regex";
    case Op::kIn:
      return "in";
    case Op::kIntersects:
      return "intersects";
    case Op::kPMatch:
      return "pmatch";
    case Op::kExists:
      return "exists";
  }
  return "?";
}

bool op_takes_list(Op op) { return op == Op::kIn || op == Op::kIntersects || op == Op::kPMatch; }

const char* modifier_name(Modifier m) {
  switch (m) {
    case Modifier::kNone:
      return "";
    case Modifier::kOneOf:
      return "oneof";
    case Modifier::kAnyOf:
      return "anyof";
    case Modifier::kAllOf:
      return "allof";
  }
  return "?";
}

std::string FieldExpr::to_string() const {
  std::string out = name;
  if (arg) out += "[" + *arg + "]";
  for (Transformer t : transformers) out = std::string(transformer_name(t)) + "(" + out + ")";
  return out;
}

namespace {

bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')' || c == ',' ||
        c == '=' || c == '"' || c == '\'')
      return true;
  }
  return false;
}

std::string render_value(const Value& v) {
  if (!v.quoted && !needs_quotes(v.text)) return v.text;
  std::string out = "\"";
  for (char c : v.text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::unique_ptr<Node> Node::clone() const {
  auto n = std::make_unique<Node>(Node{kind, pos, {}, field, op, modifier, rhs, name});
  n->children.reserve(children.size());
  for (const auto& c : children) n->children.push_back(c->clone());
  return n;
}

std::string Node::to_string() const {
  switch (kind) {
    case Kind::kAnd:
    case Kind::kOr: {
      std::string out = "(";
      for (size_t i = 0; i < children.size(); ++i) {
        if (i) out += kind == Kind::kAnd ? " and " : " or ";
        out += children[i]->to_string();
      }
      return out + ")";
    }
    case Kind::kNot:
      return "not " + children[0]->to_string();
    case Kind::kMacroRef:
      return name;
    case Kind::kCheck: {
      std::string out = field.to_string() + " " + op_name(op);
      if (modifier != Modifier::kNone) out += std::string(" ") + modifier_name(modifier);
      switch (rhs.kind) {
        case Rhs::Kind::kNone:
          break;
        case Rhs::Kind::kValue:
          out += " " + render_value(rhs.values[0]);
          break;
        case Rhs::Kind::kField:
          out += rhs.field->transformers.empty() ? " val(" + rhs.field->to_string() + ")"
                                                 : " " + rhs.field->to_string();
          break;
        case Rhs::Kind::kList:
          if (rhs.list_name) {
            out += " " + *rhs.list_name;
          } else {
            out += " (";
            for (size_t i = 0; i < rhs.values.size(); ++i) {
              if (i) out += ", ";
              out += render_value(rhs.values[i]);
            }
            out += ")";
          }
          break;
      }
      return out;
    }
  }
  return "";
}

}  // namespace vigil::rules::ast
