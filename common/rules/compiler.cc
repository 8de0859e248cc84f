#include "common/rules/compiler.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include <re2/re2.h>

#include "common/fields/source.h"
#include "common/rules/check.h"
#include "common/rules/parser.h"

namespace vigil::rules {
namespace {

using ast::Node;
using ast::Op;
using fields::FieldType;

constexpr int kMaxExpandedDepth = 1000;

struct Failure {
  bool set = false;
  ast::Pos pos;
  std::string message;
  bool unknown_field = false;

  bool fail(const ast::Pos& p, std::string m) {
    if (!set) {
      set = true;
      pos = p;
      message = std::move(m);
    }
    return false;
  }
};

// Event-type sets for indexing: bit i = type id i may match.
struct TypeSet {
  std::vector<bool> bits;
  static TypeSet all(size_t n) { return TypeSet{std::vector<bool>(n, true)}; }
  static TypeSet none(size_t n) { return TypeSet{std::vector<bool>(n, false)}; }
  bool is_all() const {
    return std::all_of(bits.begin(), bits.end(), [](bool b) { return b; });
  }
  void complement() { bits.flip(); }
  void intersect(const TypeSet& o) {
    for (size_t i = 0; i < bits.size(); ++i) bits[i] = bits[i] && o.bits[i];
  }
  void unite(const TypeSet& o) {
    for (size_t i = 0; i < bits.size(); ++i) bits[i] = bits[i] || o.bits[i];
  }
};

bool parse_int(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return false;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return false;
    }
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

bool hex_decode(std::string_view s, std::string& out) {
  if (s.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    int64_t v;
    if (!parse_int(std::string("0x") + std::string(s.substr(i, 2)), v)) return false;
    out += static_cast<char>(v);
  }
  return true;
}

const char* type_word(FieldType t) {
  switch (t) {
    case FieldType::kString:
      return "string";
    case FieldType::kPath:
      return "path";
    case FieldType::kNumber:
      return "numeric";
    case FieldType::kBool:
      return "boolean";
    case FieldType::kIpAddr:
      return "IP address";
    case FieldType::kIpNet:
      return "IP network";
  }
  return "?";
}

}  // namespace

class Compiler {
 public:
  Compiler(const RuleDefs& defs, const CompileOptions& options, CompileOutput& out)
      : defs_(defs), options_(options), out_(out) {}

  void run();

 private:
  struct ParsedMacro {
    std::unique_ptr<Node> ast;
    bool parsed = false;
    bool failed = false;
    std::string error;
    ast::Pos error_pos;
  };
  // What one rule sees: its own spec.macros/spec.lists first, then the shared ones.
  struct Scope {
    const RuleDef* rule = nullptr;
    std::unordered_map<std::string, ParsedMacro> local_macros;
  };
  struct SourceBuilder {
    SourceRules rules;
    std::unordered_map<std::string, uint32_t> slot_index;
    // Identical checks (the same macro used by many rules) compile to one Check, so an event
    // evaluates each at most once.
    std::unordered_map<std::string, uint32_t> check_index;
  };

  ParsedMacro& macro(const std::string& name, Scope& scope, const MacroDef** def);
  std::unique_ptr<Node> expand(const Node& n, Scope& scope, std::vector<std::string>& stack,
                               int depth, Failure& f);
  bool resolve_list(const std::string& name, Scope& scope, std::vector<ast::Value>& out,
                    std::vector<std::string>& stack, const ast::Pos& pos, Failure& f);
  const ListDef* find_list(const std::string& name, Scope& scope);
  std::unique_ptr<Node> exceptions_ast(const RuleDef& rule, Failure& f);
  TypeSet type_set(const Node& n, const fields::EventSource& src, bool negated,
                   std::vector<std::string>& unknown_types);
  bool bind_slot(const ast::FieldExpr& fe, SourceBuilder& sb, uint32_t& slot, Failure& f);
  bool compile_check(const Node& n, SourceBuilder& sb, Check& c, Failure& f);
  void type_table(Check& c, const SourceBuilder& sb);
  void specialize_by_type(SourceRules& sr);
  uint32_t emit(const Node& n, SourceBuilder& sb, uint32_t on_true, uint32_t on_false, Failure& f);
  void compile_rule(const RuleDef& rule, RuleStatus& status);
  SourceBuilder& builder(const fields::EventSource& src);
  std::string file_of(const ast::Pos& p) const { return defs_.file_name(p); }

  const RuleDefs& defs_;
  const CompileOptions& options_;
  CompileOutput& out_;
  std::unordered_map<std::string, ParsedMacro> macros_;
  std::map<std::string, bool> used_macros_, used_lists_;
  std::vector<std::unique_ptr<SourceBuilder>> builders_;
};

Compiler::SourceBuilder& Compiler::builder(const fields::EventSource& src) {
  for (auto& b : builders_)
    if (b->rules.source_ == &src) return *b;
  builders_.push_back(std::make_unique<SourceBuilder>());
  builders_.back()->rules.source_ = &src;
  return *builders_.back();
}

Compiler::ParsedMacro& Compiler::macro(const std::string& name, Scope& scope,
                                       const MacroDef** def) {
  static ParsedMacro kMissing;
  *def = nullptr;
  auto parse_into = [](ParsedMacro& pm, const MacroDef& m) {
    if (pm.parsed) return;
    pm.parsed = true;
    Parser p(m.condition.text, [&m](size_t off) { return m.condition.at(off); });
    pm.ast = p.parse();
    if (!pm.ast) {
      pm.failed = true;
      pm.error = p.error().message;
      pm.error_pos = p.error().pos;
    }
  };
  if (scope.rule) {
    for (const auto& m : scope.rule->local_macros) {
      if (m.name == name) {
        *def = &m;
        auto& pm = scope.local_macros[name];
        parse_into(pm, m);
        return pm;
      }
    }
  }
  for (const auto& m : defs_.macros) {
    if (m.name == name) {
      *def = &m;
      used_macros_[name] = true;
      auto& pm = macros_[name];
      parse_into(pm, m);
      return pm;
    }
  }
  kMissing = ParsedMacro{};
  return kMissing;
}

const ListDef* Compiler::find_list(const std::string& name, Scope& scope) {
  if (scope.rule) {
    for (const auto& l : scope.rule->local_lists)
      if (l.name == name) return &l;
  }
  for (const auto& l : defs_.lists) {
    if (l.name == name) {
      used_lists_[name] = true;
      return &l;
    }
  }
  return nullptr;
}

bool Compiler::resolve_list(const std::string& name, Scope& scope, std::vector<ast::Value>& out,
                            std::vector<std::string>& stack, const ast::Pos& pos, Failure& f) {
  const ListDef* l = find_list(name, scope);
  if (!l) return f.fail(pos, "undefined list '" + name + "'");
  if (std::find(stack.begin(), stack.end(), name) != stack.end()) {
    std::string chain;
    for (const auto& s : stack) chain += s + " -> ";
    return f.fail(pos, "list '" + name + "' contains itself (" + chain + name + ")");
  }
  stack.push_back(name);
  for (size_t i = 0; i < l->items.size(); ++i) {
    const std::string& item = l->items[i];
    bool quoted = i < l->item_quoted.size() && l->item_quoted[i];
    if (!quoted && item != name && find_list(item, scope)) {
      if (!resolve_list(item, scope, out, stack, pos, f)) return false;
    } else {
      out.push_back(ast::Value{item, true, pos});
    }
  }
  stack.pop_back();
  return true;
}

std::unique_ptr<Node> Compiler::expand(const Node& n, Scope& scope, std::vector<std::string>& stack,
                                       int depth, Failure& f) {
  if (depth > kMaxExpandedDepth) {
    f.fail(n.pos, "condition nests deeper than " + std::to_string(kMaxExpandedDepth) +
                      " levels after macro expansion");
    return nullptr;
  }
  switch (n.kind) {
    case Node::Kind::kMacroRef: {
      const MacroDef* def = nullptr;
      ParsedMacro& pm = macro(n.name, scope, &def);
      if (!def) {
        f.fail(n.pos, "undefined macro '" + n.name + "'");
        return nullptr;
      }
      if (pm.failed) {
        f.fail(n.pos, "macro '" + n.name +
                          "' does not compile: " + std::to_string(pm.error_pos.line) + ":" +
                          std::to_string(pm.error_pos.col) + ": " + pm.error);
        return nullptr;
      }
      if (std::find(stack.begin(), stack.end(), n.name) != stack.end()) {
        std::string chain;
        for (const auto& s : stack) chain += s + " -> ";
        f.fail(n.pos, "macro '" + n.name + "' refers to itself (" + chain + n.name + ")");
        return nullptr;
      }
      stack.push_back(n.name);
      auto result = expand(*pm.ast, scope, stack, depth + 1, f);
      stack.pop_back();
      return result;
    }
    case Node::Kind::kAnd:
    case Node::Kind::kOr:
    case Node::Kind::kNot: {
      auto copy = std::make_unique<Node>(Node{n.kind, n.pos});
      for (const auto& c : n.children) {
        auto e = expand(*c, scope, stack, depth + 1, f);
        if (!e) return nullptr;
        copy->children.push_back(std::move(e));
      }
      return copy;
    }
    case Node::Kind::kCheck: {
      auto copy = n.clone();
      ast::Rhs& rhs = copy->rhs;
      if (rhs.kind == ast::Rhs::Kind::kList) {
        std::vector<std::string> lstack;
        std::vector<ast::Value> values;
        if (rhs.list_name) {
          if (!resolve_list(*rhs.list_name, scope, values, lstack, rhs.pos, f)) return nullptr;
          rhs.list_name.reset();
        } else {
          for (auto& v : rhs.values) {
            if (!v.quoted && find_list(v.text, scope)) {
              if (!resolve_list(v.text, scope, values, lstack, v.pos, f)) return nullptr;
            } else {
              values.push_back(std::move(v));
            }
          }
        }
        rhs.values = std::move(values);
      }
      return copy;
    }
  }
  return nullptr;
}

std::unique_ptr<Node> Compiler::exceptions_ast(const RuleDef& rule, Failure& f) {
  std::vector<std::unique_ptr<Node>> excs;
  for (const auto& ex : rule.exceptions) {
    if (ex.values.empty() || ex.fields.empty()) continue;
    std::vector<ast::FieldExpr> fes;
    for (const auto& field : ex.fields) {
      const std::string text = field + " exists";  // the parser keeps a view of it
      Parser p(text, [&ex](size_t) { return ex.pos; });
      auto node = p.parse();
      if (!node || node->kind != Node::Kind::kCheck) {
        f.fail(ex.pos, "exception '" + ex.name + "': '" + field + "' is not a field");
        return nullptr;
      }
      fes.push_back(node->field);
    }
    auto make_check = [&](size_t i, const ExceptionValue& v) -> std::unique_ptr<Node> {
      auto c = std::make_unique<Node>(Node{Node::Kind::kCheck, ex.pos});
      c->field = fes[i];
      std::string comp = ex.comps[i];
      static const std::map<std::string, Op> kOps = {{"=", Op::kEq},
                                                     {"==", Op::kEq},
                                                     {"!=", Op::kNe},
                                                     {"<", Op::kLt},
                                                     {"<=", Op::kLe},
                                                     {">", Op::kGt},
                                                     {">=", Op::kGe},
                                                     {"contains", Op::kContains},
                                                     {"icontains", Op::kIContains},
                                                     {"bcontains", Op::kBContains},
                                                     {"startswith", Op::kStartsWith},
                                                     {"bstartswith", Op::kBStartsWith},
                                                     {"endswith", Op::kEndsWith},
                                                     {"glob", Op::kGlob},
                                                     {"iglob", Op::kIGlob},
                                                     {"regex", Op::kRegex},
                                                     {"in", Op::kIn},
                                                     {"intersects", Op::kIntersects},
                                                     {"pmatch", Op::kPMatch}};
      c->op = kOps.at(comp);
      c->rhs.pos = ex.pos;
      if (ast::op_takes_list(c->op)) {
        c->rhs.kind = ast::Rhs::Kind::kList;
        // A scalar names a list (expanded later) or is a one-item list.
        for (const auto& item : v.items) c->rhs.values.push_back(ast::Value{item, false, ex.pos});
      } else {
        if (v.is_list || v.items.size() != 1) {
          f.fail(ex.pos, "exception '" + ex.name + "': comparison '" + comp +
                             "' takes a single value, got a list");
          return nullptr;
        }
        c->rhs.kind = ast::Rhs::Kind::kValue;
        c->rhs.values.push_back(ast::Value{v.items[0], true, ex.pos});
      }
      return c;
    };
    auto any = std::make_unique<Node>(Node{Node::Kind::kOr, ex.pos});
    if (ex.single_field) {
      ExceptionValue all;
      all.is_list = true;
      for (const auto& row : ex.values)
        for (const auto& v : row) all.items.insert(all.items.end(), v.items.begin(), v.items.end());
      if (ast::op_takes_list(ast::Op::kIn) &&
          (ex.comps[0] == "in" || ex.comps[0] == "pmatch" || ex.comps[0] == "intersects")) {
        auto c = make_check(0, all);
        if (!c) return nullptr;
        any->children.push_back(std::move(c));
      } else {
        for (const auto& item : all.items) {
          auto c = make_check(0, ExceptionValue{{item}, false});
          if (!c) return nullptr;
          any->children.push_back(std::move(c));
        }
      }
    } else {
      for (const auto& row : ex.values) {
        auto both = std::make_unique<Node>(Node{Node::Kind::kAnd, ex.pos});
        for (size_t i = 0; i < row.size() && i < fes.size(); ++i) {
          auto c = make_check(i, row[i]);
          if (!c) return nullptr;
          both->children.push_back(std::move(c));
        }
        if (both->children.size() == 1) {
          any->children.push_back(std::move(both->children[0]));
        } else if (!both->children.empty()) {
          any->children.push_back(std::move(both));
        }
      }
    }
    if (any->children.empty()) continue;
    auto neg = std::make_unique<Node>(Node{Node::Kind::kNot, ex.pos});
    if (any->children.size() == 1) {
      neg->children.push_back(std::move(any->children[0]));
    } else {
      neg->children.push_back(std::move(any));
    }
    excs.push_back(std::move(neg));
  }
  if (excs.empty()) return nullptr;
  if (excs.size() == 1) return std::move(excs[0]);
  auto all = std::make_unique<Node>(Node{Node::Kind::kAnd, excs[0]->pos});
  all->children = std::move(excs);
  return all;
}

TypeSet Compiler::type_set(const Node& n, const fields::EventSource& src, bool negated,
                           std::vector<std::string>& unknown) {
  const size_t count = src.type_count;
  switch (n.kind) {
    case Node::Kind::kNot:
      return type_set(*n.children[0], src, !negated, unknown);
    case Node::Kind::kAnd:
    case Node::Kind::kOr: {
      bool intersect = (n.kind == Node::Kind::kAnd) != negated;  // De Morgan under negation
      TypeSet acc = intersect ? TypeSet::all(count) : TypeSet::none(count);
      for (const auto& c : n.children) {
        TypeSet s = type_set(*c, src, negated, unknown);
        if (intersect) {
          acc.intersect(s);
        } else {
          acc.unite(s);
        }
      }
      return acc;
    }
    case Node::Kind::kMacroRef:
      return TypeSet::all(count);
    case Node::Kind::kCheck: {
      const auto& fe = n.field;
      if (fe.name != src.type_field || fe.arg || !fe.transformers.empty() ||
          n.modifier != ast::Modifier::kNone || n.rhs.kind == ast::Rhs::Kind::kField)
        return TypeSet::all(count);
      bool eq = n.op == Op::kEq || n.op == Op::kIn || n.op == Op::kIntersects;
      bool ne = n.op == Op::kNe;
      if (!eq && !ne) return TypeSet::all(count);
      TypeSet s = TypeSet::none(count);
      for (const auto& v : n.rhs.values) {
        int id = src.type_id(v.text);
        if (id < 0) {
          unknown.push_back(v.text);
        } else if (static_cast<size_t>(id) < count) {
          s.bits[static_cast<size_t>(id)] = true;
        }
      }
      if (ne != negated) s.complement();
      return s;
    }
  }
  return TypeSet::all(count);
}

bool Compiler::bind_slot(const ast::FieldExpr& fe, SourceBuilder& sb, uint32_t& slot, Failure& f) {
  std::string key = fe.to_string();
  auto it = sb.slot_index.find(key);
  if (it != sb.slot_index.end()) {
    slot = it->second;
    return true;
  }
  std::optional<std::string_view> arg;
  if (fe.arg) arg = *fe.arg;
  auto bound = sb.rules.source_->fields->bind(fe.name, arg);
  if (!bound.ok()) {
    f.unknown_field = sb.rules.source_->fields->find(fe.name) == nullptr;
    return f.fail(fe.pos, bound.error() + " (source " + std::string(sb.rules.source_->name) + ")");
  }
  FieldSlot s;
  s.field = std::move(bound.value());
  s.type = s.field.info->type;
  s.list = s.field.is_list();
  for (auto t : fe.transformers) {
    if (t == ast::Transformer::kLen) {
      s.type = FieldType::kNumber;
      s.list = false;
    } else {
      if (s.type != FieldType::kString && s.type != FieldType::kPath) {
        return f.fail(fe.pos, std::string("transformer '") + ast::transformer_name(t) +
                                  "' needs a string field, '" + fe.name + "' is " +
                                  type_word(s.type));
      }
      s.type = FieldType::kString;
    }
  }
  s.transformers = fe.transformers;
  s.extract = s.field.info->extract;
  s.transform = !s.transformers.empty();
  s.key = key;
  slot = static_cast<uint32_t>(sb.rules.slots_.size());
  sb.rules.slots_.push_back(std::move(s));
  sb.slot_index.emplace(std::move(key), slot);
  return true;
}

bool Compiler::compile_check(const Node& n, SourceBuilder& sb, Check& c, Failure& f) {
  if (!bind_slot(n.field, sb, c.lhs_slot, f)) return false;
  const FieldSlot& lhs = sb.rules.slots_[c.lhs_slot];
  c.op = n.op;
  c.modifier = n.modifier;
  c.type = lhs.type;
  c.lhs_list = lhs.list;
  const std::string fname = n.field.to_string();
  const std::string opname = ast::op_name(n.op);

  if (lhs.list && n.op != Op::kIn && n.op != Op::kIntersects && n.op != Op::kExists) {
    return f.fail(n.pos, "field '" + fname +
                             "' holds a list: use 'in', 'intersects' or 'exists', not '" + opname +
                             "'");
  }
  const bool is_str = c.type == FieldType::kString || c.type == FieldType::kPath;
  if (!is_str) {
    bool ok = false;
    switch (n.op) {
      case Op::kEq:
      case Op::kNe:
      case Op::kIn:
      case Op::kIntersects:
      case Op::kExists:
        ok = true;
        break;
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
        ok = c.type == FieldType::kNumber;
        break;
      default:
        break;
    }
    if (!ok) {
      return f.fail(n.pos, "operator '" + opname + "' does not apply to " + type_word(c.type) +
                               " field '" + fname + "'");
    }
  }
  if (n.op == Op::kExists) return true;

  if (n.rhs.kind == ast::Rhs::Kind::kField) {
    if (n.op == Op::kRegex || n.op == Op::kPMatch) {
      return f.fail(n.rhs.pos, "operator '" + opname + "' does not take a field on the right");
    }
    if (!bind_slot(*n.rhs.field, sb, c.rhs_slot, f)) return false;
    const FieldSlot& rhs = sb.rules.slots_[c.rhs_slot];
    const bool rhs_str = rhs.type == FieldType::kString || rhs.type == FieldType::kPath;
    if (rhs_str != is_str || (!is_str && rhs.type != c.type)) {
      return f.fail(n.rhs.pos, "cannot compare " + std::string(type_word(c.type)) + " field '" +
                                   fname + "' with " + type_word(rhs.type) + " field '" +
                                   n.rhs.field->to_string() + "'");
    }
    c.rhs_is_field = true;
    return true;
  }

  for (const auto& v : n.rhs.values) {
    fields::Value parsed;
    if (is_str) {
      std::string text = v.text;
      if (n.op == Op::kBContains || n.op == Op::kBStartsWith) {
        if (!hex_decode(v.text, text)) {
          return f.fail(v.pos,
                        "'" + opname + "' takes hex bytes (like 2f6574), got '" + v.text + "'");
        }
      }
      c.storage.push_back(std::move(text));
      parsed.str = c.storage.back();
    } else if (c.type == FieldType::kNumber) {
      if (!parse_int(v.text, parsed.num)) {
        return f.fail(v.pos, "'" + v.text + "' is not a number (field '" + fname + "' is numeric)");
      }
    } else if (c.type == FieldType::kBool) {
      if (v.text == "true" || v.text == "True" || v.text == "TRUE") {
        parsed.num = 1;
      } else if (v.text == "false" || v.text == "False" || v.text == "FALSE") {
        parsed.num = 0;
      } else {
        return f.fail(v.pos,
                      "'" + v.text + "' is not true or false (field '" + fname + "' is boolean)");
      }
    } else {
      bool allow_prefix = true;
      if (!fields::parse_ip(v.text, parsed.ip, allow_prefix)) {
        return f.fail(v.pos,
                      "'" + v.text + "' is not an IP address or network (field '" + fname + "')");
      }
    }
    c.values.push_back(parsed);
  }
  if (n.rhs.kind == ast::Rhs::Kind::kValue && c.values.size() != 1) {
    return f.fail(n.rhs.pos, "expected one value after '" + opname + "'");
  }
  if (n.modifier != ast::Modifier::kNone && c.values.empty()) {
    return f.fail(n.rhs.pos,
                  std::string("'") + ast::modifier_name(n.modifier) + "' needs at least one value");
  }
  if (n.op == Op::kIn || n.op == Op::kIntersects) {
    for (const auto& v : c.values) {  // `in ()` leaves the sets empty: never matches
      if (is_str) {
        c.str_set.insert(v.str);
      } else {
        c.num_set.insert(v.num);
      }
    }
  }
  if (n.op == Op::kRegex) {
    for (const auto& v : c.values) {
      re2::RE2::Options opts(re2::RE2::POSIX);
      opts.set_log_errors(false);
      auto re = std::make_unique<re2::RE2>(re2::StringPiece(v.str.data(), v.str.size()), opts);
      if (!re->ok()) {
        return f.fail(n.rhs.pos,
                      "invalid regular expression '" + std::string(v.str) + "': " + re->error());
      }
      c.regexes.push_back(std::move(re));
    }
  }
  return true;
}

// A check of the event-type field against constants depends on the event type alone: evaluate
// it once per type id here, so that events look the result up instead of extracting and
// comparing. The source's type field extracts exactly type_name(event_type(e)), the same
// contract the rule index by type relies on.
void Compiler::type_table(Check& c, const SourceBuilder& sb) {
  const fields::EventSource& src = *sb.rules.source_;
  if (src.type_field.empty() || src.type_name == nullptr || src.event_type == nullptr ||
      c.rhs_is_field || c.type != FieldType::kString) {
    return;
  }
  const FieldSlot& lhs = sb.rules.slots_[c.lhs_slot];
  if (lhs.field.info->name != src.type_field || lhs.field.arg.present || !lhs.transformers.empty())
    return;
  c.by_type.resize(src.type_count);
  for (size_t t = 0; t < src.type_count; ++t) {
    const fields::Value v{src.type_name(static_cast<uint16_t>(t)), 0, {}};
    c.by_type[t] = c.eval(std::span<const fields::Value>(&v, 1), {}) ? 1 : 0;
  }
}

uint32_t Compiler::emit(const Node& n, SourceBuilder& sb, uint32_t on_true, uint32_t on_false,
                        Failure& f) {
  if (f.set) return Instr::kReject;
  switch (n.kind) {
    case Node::Kind::kNot:
      return emit(*n.children[0], sb, on_false, on_true, f);
    case Node::Kind::kAnd: {
      uint32_t next = on_true;
      for (size_t i = n.children.size(); i-- > 0;)
        next = emit(*n.children[i], sb, next, on_false, f);
      return next;
    }
    case Node::Kind::kOr: {
      uint32_t next = on_false;
      for (size_t i = n.children.size(); i-- > 0;)
        next = emit(*n.children[i], sb, on_true, next, f);
      return next;
    }
    case Node::Kind::kCheck: {
      auto& rules = sb.rules;
      std::string key = n.to_string();
      uint32_t index;
      auto it = sb.check_index.find(key);
      if (it != sb.check_index.end()) {
        index = it->second;
      } else {
        Check c;
        if (!compile_check(n, sb, c, f)) return Instr::kReject;
        c.finalize();
        type_table(c, sb);
        rules.checks_.push_back(std::move(c));
        index = static_cast<uint32_t>(rules.checks_.size() - 1);
        sb.check_index.emplace(std::move(key), index);
      }
      Instr in{index, on_true, on_false};
      in.lhs_slot = rules.checks_[index].lhs_slot;
      rules.program_.push_back(in);
      return static_cast<uint32_t>(rules.program_.size() - 1);
    }
    case Node::Kind::kMacroRef:
      break;  // expanded away before emission
  }
  f.fail(n.pos, "internal error: unexpanded macro");
  return Instr::kReject;
}

void Compiler::compile_rule(const RuleDef& rule, RuleStatus& status) {
  status.name = rule.name;
  status.object_namespace = rule.object_namespace;
  status.source = rule.source;
  status.enabled = rule.enabled;
  status.file = file_of(rule.pos);
  status.pos = SourcePos{int(rule.pos.line), int(rule.pos.col)};
  const std::string what = "rule '" + rule.name + "'";

  auto report = [&](const ast::Pos& p, const std::string& msg, bool warning_only) {
    if (warning_only) {
      out_.diagnostics.warning(file_of(p), SourcePos{int(p.line), int(p.col)}, what, msg);
      status.warnings.push_back(msg);
    } else {
      out_.diagnostics.error(file_of(p), SourcePos{int(p.line), int(p.col)}, what, msg);
      if (status.message.empty())
        status.message = std::to_string(p.line) + ":" + std::to_string(p.col) + ": " + msg;
    }
  };

  const fields::EventSource* src = nullptr;
  for (const auto* s : options_.extra_sources)
    if (s->name == rule.source) src = s;
  if (!src) src = fields::find_source(rule.source);
  if (!src) {
    report(rule.pos, "unknown source '" + rule.source + "' (syscall or k8s_audit)", false);
    return;
  }
  Parser parser(rule.condition.text, [&rule](size_t off) { return rule.condition.at(off); });
  auto tree = parser.parse();
  if (!tree) {
    report(parser.error().pos, parser.error().message, false);
    return;
  }
  Scope scope;
  scope.rule = &rule;
  Failure f;
  std::vector<std::string> stack;
  auto expanded = expand(*tree, scope, stack, 0, f);
  if (!expanded) {
    report(f.pos, f.message, false);
    return;
  }
  if (auto ex = exceptions_ast(rule, f)) {
    auto ex_expanded = expand(*ex, scope, stack, 0, f);
    if (!ex_expanded) {
      report(f.pos, f.message, false);
      return;
    }
    auto both = std::make_unique<Node>(Node{Node::Kind::kAnd, expanded->pos});
    both->children.push_back(std::move(expanded));
    both->children.push_back(std::move(ex_expanded));
    expanded = std::move(both);
  } else if (f.set) {
    report(f.pos, f.message, false);
    return;
  }
  if (!rule.cluster_scope && !rule.object_namespace.empty()) {
    // A tenant's rule sees only its namespace (DESIGN.md §2).
    if (src->namespace_field.empty()) {
      report(rule.pos,
             "source '" + rule.source +
                 "' has no namespaces; a rule outside the cluster namespace cannot use it",
             false);
      return;
    }
    auto scoped = std::make_unique<Node>(Node{Node::Kind::kAnd, expanded->pos});
    auto check = std::make_unique<Node>(Node{Node::Kind::kCheck, rule.pos});
    check->field.name = std::string(src->namespace_field);
    check->op = Op::kEq;
    check->rhs.kind = ast::Rhs::Kind::kValue;
    check->rhs.values.push_back(ast::Value{rule.object_namespace, true, rule.pos});
    scoped->children.push_back(std::move(expanded));
    scoped->children.push_back(std::move(check));
    expanded = std::move(scoped);
  }
  status.expanded_condition = expanded->to_string();

  SourceBuilder& sb = builder(*src);
  const size_t checks_before = sb.rules.checks_.size();
  const size_t program_before = sb.rules.program_.size();
  uint32_t entry = emit(*expanded, sb, Instr::kAccept, Instr::kReject, f);
  auto rollback = [&] {
    for (auto it = sb.check_index.begin(); it != sb.check_index.end();) {
      it = it->second >= checks_before ? sb.check_index.erase(it) : std::next(it);
    }
    sb.rules.checks_.resize(checks_before);
    sb.rules.program_.resize(program_before);
  };
  if (f.set) {
    rollback();
    if (f.unknown_field && rule.skip_if_unknown_filter) {
      report(f.pos, f.message + "; rule skipped (skip-if-unknown-filter)", true);
      status.accepted = true;
      status.enabled = false;
      return;
    }
    report(f.pos, f.message, false);
    return;
  }

  CompiledRule cr;
  std::string err;
  size_t err_off = 0;
  if (!compile_output(rule.output, *src->fields, cr.output, err, err_off)) {
    rollback();
    ast::Pos p = rule.output_pos;
    if (rule.output.find('\n') == std::string::npos && p.col)
      p.col += static_cast<uint32_t>(err_off);
    report(p, "output: " + err, false);
    return;
  }

  std::vector<std::string> unknown_types;
  TypeSet types = TypeSet::all(src->type_count);
  if (!src->type_field.empty()) {
    types = type_set(*expanded, *src, false, unknown_types);
    for (const auto& t : unknown_types) report(rule.pos, "unknown event type '" + t + "'", true);
    if (types.is_all() && rule.warn_evttypes && rule.enabled) {
      report(rule.pos,
             "condition does not restrict " + std::string(src->type_field) +
                 ": the rule is tested against every event, which costs every syscall",
             true);
    }
  }
  status.accepted = true;
  if (!rule.enabled) {
    rollback();  // validated, but not part of the program
    return;
  }
  cr.name = rule.name;
  cr.desc = rule.desc;
  cr.priority = rule.priority;
  cr.source = rule.source;
  cr.tags = rule.tags;
  cr.mode = rule.mode;
  cr.object_namespace = rule.object_namespace;
  cr.entry = entry;
  cr.expanded_condition = status.expanded_condition;
  const uint32_t index = static_cast<uint32_t>(sb.rules.rules_.size());
  sb.rules.rules_.push_back(std::move(cr));
  sb.rules.all_rules_.push_back(index);
  if (!src->type_field.empty()) {
    if (sb.rules.by_type_.empty()) sb.rules.by_type_.resize(src->type_count);
    for (size_t t = 0; t < src->type_count; ++t)
      if (types.bits[t]) sb.rules.by_type_[t].push_back(index);
  }
}

// For each event type, the program of each candidate rule with that type's event-type checks
// decided: a copy of the rule's instructions in which a jump to an event-type check goes
// straight to the branch the type takes. Types on which a rule's event-type checks agree share
// one copy. A rule that the type rejects outright is not a candidate. The original program stays
// for events of an unknown type. Results are the same: an event-type check's outcome is a
// function of the type alone (Instr::type_row).
void Compiler::specialize_by_type(SourceRules& sr) {
  sr.typed_.assign(sr.by_type_.size(), {});
  if (sr.by_type_.empty()) return;
  std::vector<std::vector<uint32_t>> types_of(sr.rules_.size());
  for (size_t t = 0; t < sr.by_type_.size(); ++t)
    for (uint32_t r : sr.by_type_[t]) types_of[r].push_back(static_cast<uint32_t>(t));
  const size_t original = sr.program_.size();
  for (uint32_t r = 0; r < sr.rules_.size(); ++r) {
    if (types_of[r].empty()) continue;
    // The rule's own instructions (programs are per rule and only jump to lower indices).
    std::vector<uint32_t> mine;
    std::vector<uint32_t> stack{sr.rules_[r].entry};
    std::vector<bool> seen(original, false);
    while (!stack.empty()) {
      const uint32_t pc = stack.back();
      stack.pop_back();
      if (pc >= Instr::kReject || seen[pc]) continue;
      seen[pc] = true;
      mine.push_back(pc);
      stack.push_back(sr.program_[pc].on_true);
      stack.push_back(sr.program_[pc].on_false);
    }
    std::sort(mine.begin(), mine.end());
    std::vector<uint32_t> type_pcs;
    for (uint32_t pc : mine)
      if (sr.program_[pc].type_row != Instr::kNoTypeRow) type_pcs.push_back(pc);

    std::map<std::vector<bool>, uint32_t> copies;  // the types' answers -> entry of the copy
    for (uint32_t t : types_of[r]) {
      std::vector<bool> answers;
      answers.reserve(type_pcs.size());
      for (uint32_t pc : type_pcs)
        answers.push_back(sr.type_results_[sr.program_[pc].type_row + t]);
      auto it = copies.find(answers);
      if (it == copies.end()) {
        auto decide = [&](uint32_t pc) {
          while (pc < Instr::kReject && sr.program_[pc].type_row != Instr::kNoTypeRow) {
            const Instr& in = sr.program_[pc];
            pc = sr.type_results_[in.type_row + t] ? in.on_true : in.on_false;
          }
          return pc;
        };
        std::map<uint32_t, uint32_t> index;  // original pc -> pc of its copy
        uint32_t next = static_cast<uint32_t>(sr.program_.size());
        for (uint32_t pc : mine) {
          if (sr.program_[pc].type_row == Instr::kNoTypeRow) index[pc] = next++;
        }
        auto target = [&](uint32_t pc) {
          pc = decide(pc);
          return pc >= Instr::kReject ? pc : index.at(pc);
        };
        for (uint32_t pc : mine) {  // in index order, as `index` numbered them
          if (sr.program_[pc].type_row != Instr::kNoTypeRow) continue;
          Instr in = sr.program_[pc];
          in.on_true = target(in.on_true);
          in.on_false = target(in.on_false);
          sr.program_.push_back(in);
        }
        it = copies.emplace(std::move(answers), target(sr.rules_[r].entry)).first;
      }
      if (it->second != Instr::kReject) sr.typed_[t].push_back({r, it->second});
    }
  }
  // Each typed_[t] lists its rules in rule order (the loop above goes by rule), as evaluate()
  // reports matches.
}

void Compiler::run() {
  out_.statuses.resize(defs_.rules.size());
  for (size_t i = 0; i < defs_.rules.size(); ++i) compile_rule(defs_.rules[i], out_.statuses[i]);

  // Macros referenced only by other macros are used too (marked during expansion). Parse the
  // rest to report their syntax errors.
  for (const auto& m : defs_.macros) {
    if (used_macros_.count(m.name)) {
      const auto& pm = macros_[m.name];
      (void)pm;
      continue;
    }
    Parser p(m.condition.text, [&m](size_t off) { return m.condition.at(off); });
    if (!p.parse()) {
      out_.diagnostics.error(file_of(p.error().pos),
                             SourcePos{int(p.error().pos.line), int(p.error().pos.col)},
                             "macro '" + m.name + "'", p.error().message);
    } else if (options_.warn_unused && !m.builtin) {
      out_.diagnostics.warning(file_of(m.pos), SourcePos{int(m.pos.line), int(m.pos.col)},
                               "macro '" + m.name + "'", "not referred to by any rule or macro");
    }
  }
  // Syntax errors in used macros are reported once here, at the macro.
  for (const auto& [name, pm] : macros_) {
    if (pm.failed) {
      out_.diagnostics.error(file_of(pm.error_pos),
                             SourcePos{int(pm.error_pos.line), int(pm.error_pos.col)},
                             "macro '" + name + "'", pm.error);
    }
  }
  if (options_.warn_unused) {
    for (const auto& l : defs_.lists) {
      if (!l.builtin && !used_lists_.count(l.name)) {
        out_.diagnostics.warning(file_of(l.pos), SourcePos{int(l.pos.line), int(l.pos.col)},
                                 "list '" + l.name + "'",
                                 "not referred to by any rule, macro or list");
      }
    }
  }

  auto set = std::make_shared<RuleSet>();
  for (auto& b : builders_) {
    // Lay the per-type results of event-type checks out flat, next to the program.
    SourceRules& sr = b->rules;
    std::vector<uint32_t> rows(sr.checks_.size(), Instr::kNoTypeRow);
    for (size_t i = 0; i < sr.checks_.size(); ++i) {
      std::vector<uint8_t>& by_type = sr.checks_[i].by_type;
      if (by_type.empty() || by_type.size() != sr.source_->type_count) continue;
      rows[i] = static_cast<uint32_t>(sr.type_results_.size());
      sr.type_results_.insert(sr.type_results_.end(), by_type.begin(), by_type.end());
      std::vector<uint8_t>().swap(by_type);
    }
    std::vector<uint32_t> refs(sr.checks_.size(), 0);
    for (const Instr& in : sr.program_) ++refs[in.check];
    // Checks reading each slot; a check with a field on the right side keeps its slots cached
    // (it looks its left side up again after extracting the right one).
    std::vector<uint32_t> readers(sr.slots_.size(), 0);
    for (const Check& c : sr.checks_) {
      readers[c.lhs_slot] += c.rhs_is_field ? 2 : 1;
      if (c.rhs_is_field) readers[c.rhs_slot] += 2;
    }
    for (Instr& in : sr.program_) {
      in.type_row = rows[in.check];
      in.cache = refs[in.check] > 1;
      // One check reads the slot and it runs at most once per event (cached when shared).
      in.slot_cache = readers[in.lhs_slot] > 1;
    }
    specialize_by_type(sr);
    b->rules.checks_.shrink_to_fit();
    set->sources_.push_back(std::move(b->rules));
  }
  out_.rule_set = std::move(set);
}

CompileOutput compile_rules(const RuleDefs& defs, const CompileOptions& options) {
  CompileOutput out;
  Compiler c(defs, options, out);
  c.run();
  return out;
}

}  // namespace vigil::rules
