#include "common/rules/parser.h"

#include <array>
#include <utility>

namespace vigil::rules {
namespace {

using ast::Node;
using ast::Op;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\b'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_bare_char(char c) {
  return !is_blank(c) && c != '(' && c != ')' && c != ',' && c != '=' && c != '"' && c != '\'' &&
         c != '\0';
}

struct OpSpelling {
  std::string_view text;
  Op op;
  bool word;  // word operators must be followed by a blank or '('
};

// Longest spellings first so that "<=" wins over "<" and "icontains" over "in".
constexpr std::array<OpSpelling, 20> kOps = {{
    {"bstartswith", Op::kBStartsWith, true},
    {"startswith", Op::kStartsWith, true},
    {"intersects", Op::kIntersects, true},
    {"icontains", Op::kIContains, true},
    {"bcontains", Op::kBContains, true},
    {"endswith", Op::kEndsWith, true},
    {"contains", Op::kContains, true},
    {"exists", Op::kExists, true},
    {"pmatch", Op::kPMatch, true},
    {"iglob", Op::kIGlob, true},
    {"regex", Op::kRegex, true},
    {"glob", Op::kGlob, true},
    {"in", Op::kIn, true},
    {"==", Op::kEq, false},
    {"!=", Op::kNe, false},
    {"<=", Op::kLe, false},
    {">=", Op::kGe, false},
    {"=", Op::kEq, false},
    {"<", Op::kLt, false},
    {">", Op::kGt, false},
}};

struct TransformerSpelling {
  std::string_view text;
  ast::Transformer t;
};
constexpr std::array<TransformerSpelling, 5> kTransformers = {{
    {"tolower", ast::Transformer::kToLower},
    {"toupper", ast::Transformer::kToUpper},
    {"b64", ast::Transformer::kB64},
    {"basename", ast::Transformer::kBasename},
    {"len", ast::Transformer::kLen},
}};

// Tracks recursion depth; the parser refuses to go deeper than max_depth.
class DepthGuard {
 public:
  explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
  ~DepthGuard() { --depth_; }
  DepthGuard(const DepthGuard&) = delete;
  DepthGuard& operator=(const DepthGuard&) = delete;

 private:
  int& depth_;
};

}  // namespace

Parser::Parser(std::string_view text, PosMapper mapper, int max_depth)
    : text_(text), mapper_(std::move(mapper)), max_depth_(max_depth) {}

ast::Pos Parser::map(size_t offset) const {
  if (mapper_) return mapper_(offset);
  return ast::Pos{1, static_cast<uint32_t>(offset + 1), 0};
}

char Parser::peek(size_t ahead) const {
  return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
}

void Parser::skip_blanks() {
  while (!at_end() && is_blank(text_[pos_])) ++pos_;
}

bool Parser::at_keyword(std::string_view kw) const {
  if (text_.substr(pos_, kw.size()) != kw) return false;
  // A keyword ends where an identifier could not go on: "exists)" and "not(" are keywords,
  // "inode" and "exists_x" are not.
  char next = pos_ + kw.size() < text_.size() ? text_[pos_ + kw.size()] : '\0';
  return !is_ident_char(next) && next != '.';
}

bool Parser::eat_keyword(std::string_view kw) {
  if (!at_keyword(kw)) return false;
  pos_ += kw.size();
  return true;
}

std::string_view Parser::peek_identifier() const {
  size_t i = pos_;
  if (i >= text_.size() || !is_ident_start(text_[i])) return {};
  while (i < text_.size() && is_ident_char(text_[i])) ++i;
  return text_.substr(pos_, i - pos_);
}

std::string_view Parser::peek_field_name() const {
  size_t i = pos_;
  if (i >= text_.size() || !is_ident_start(text_[i])) return {};
  while (i < text_.size() && is_ident_char(text_[i])) ++i;
  // Further dot-separated segments; a segment may start with a digit (k8s.ns, fd.types).
  while (i + 1 < text_.size() && text_[i] == '.' && is_ident_char(text_[i + 1])) {
    ++i;
    while (i < text_.size() && is_ident_char(text_[i])) ++i;
  }
  return text_.substr(pos_, i - pos_);
}

std::string Parser::describe_here() const {
  if (at_end()) return "end of condition";
  size_t end = pos_;
  if (is_bare_char(text_[end])) {
    while (end < text_.size() && is_bare_char(text_[end]) && end - pos_ < 32) ++end;
  } else {
    end = pos_ + 1;
  }
  return "'" + std::string(text_.substr(pos_, end - pos_)) + "'";
}

bool Parser::fail(size_t offset, std::string message) {
  if (!failed_) {
    failed_ = true;
    error_ = ParseError{map(offset), std::move(message)};
  }
  return false;
}

std::unique_ptr<Node> Parser::parse() {
  failed_ = false;
  pos_ = 0;
  depth_ = 0;
  skip_blanks();
  if (at_end()) {
    fail(pos_, "empty condition");
    return nullptr;
  }
  auto node = parse_or();
  if (!node) return nullptr;
  skip_blanks();
  if (!at_end()) {
    fail(pos_, "expected 'and', 'or' or end of condition, found " + describe_here());
    return nullptr;
  }
  return node;
}

std::unique_ptr<Node> Parser::parse_or() {
  DepthGuard guard(depth_);
  if (depth_ > max_depth_) {
    fail(pos_, "condition nests deeper than " + std::to_string(max_depth_) + " levels");
    return nullptr;
  }
  return parse_chain("or", Node::Kind::kOr, &Parser::parse_and);
}

std::unique_ptr<Node> Parser::parse_and() {
  return parse_chain("and", Node::Kind::kAnd, &Parser::parse_not);
}

// operand (keyword operand)*, kept flat: "a or b or c" is one node with three children, so long
// chains cost no recursion.
std::unique_ptr<Node> Parser::parse_chain(std::string_view keyword, Node::Kind kind,
                                          std::unique_ptr<Node> (Parser::*operand)()) {
  auto first = (this->*operand)();
  if (!first) return nullptr;
  std::vector<std::unique_ptr<Node>> rest;
  while (true) {
    skip_blanks();
    if (!eat_keyword(keyword)) break;
    auto next = (this->*operand)();
    if (!next) return nullptr;
    rest.push_back(std::move(next));
  }
  if (rest.empty()) return first;
  auto result = std::make_unique<Node>(Node{kind, first->pos});
  result->children.reserve(rest.size() + 1);
  result->children.push_back(std::move(first));
  for (auto& n : rest) result->children.push_back(std::move(n));
  return result;
}

std::unique_ptr<Node> Parser::parse_not() {
  skip_blanks();
  size_t start = pos_;
  int nots = 0;
  while (eat_keyword("not")) {
    ++nots;
    if (nots > max_depth_) {
      fail(start, "condition nests deeper than " + std::to_string(max_depth_) + " levels");
      return nullptr;
    }
    skip_blanks();
  }
  auto node = parse_check();
  if (!node) return nullptr;
  // "not not x" is x; keep one Not node per remaining negation.
  if (nots % 2 == 1) {
    auto n = std::make_unique<Node>(Node{Node::Kind::kNot, map(start)});
    n->children.push_back(std::move(node));
    return n;
  }
  return node;
}

std::unique_ptr<Node> Parser::parse_check() {
  skip_blanks();
  size_t start = pos_;
  if (peek() == '(') {
    ++pos_;  // parse_or counts the nesting
    auto inner = parse_or();
    if (!inner) return nullptr;
    skip_blanks();
    if (peek() != ')') {
      fail(pos_, "expected ')' to close the '(' at column " + std::to_string(map(start).col) +
                     ", found " + describe_here());
      return nullptr;
    }
    ++pos_;
    return inner;
  }
  if (at_end()) {
    fail(pos_, "expected a field, a macro or '(', found end of condition");
    return nullptr;
  }
  std::string_view word = peek_field_name();
  if (word.empty()) {
    fail(pos_, "expected a field, a macro or '(', found " + describe_here());
    return nullptr;
  }
  bool is_transformer = false;
  for (const auto& t : kTransformers) {
    if (word == t.text && peek(word.size()) == '(') is_transformer = true;
  }
  if (!is_transformer && word.find('.') == std::string_view::npos) {
    // A bare identifier is a macro reference, unless an operator follows (then it is a
    // field name without a dot, which no source has: say so).
    for (const char* kw : {"and", "or", "not"}) {
      if (word == kw) {
        fail(pos_, std::string("expected a field, a macro or '(', found keyword '") + kw + "'");
        return nullptr;
      }
    }
    pos_ += word.size();
    auto n = std::make_unique<Node>(Node{Node::Kind::kMacroRef, map(start)});
    n->name = std::string(word);
    return n;
  }
  auto n = std::make_unique<Node>(Node{Node::Kind::kCheck, map(start)});
  if (!parse_field_or_transformer(n->field)) return nullptr;
  if (!parse_condition(*n)) return nullptr;
  return n;
}

bool Parser::parse_field_or_transformer(ast::FieldExpr& out) {
  skip_blanks();
  size_t start = pos_;
  std::string_view word = peek_identifier();
  for (const auto& t : kTransformers) {
    if (word == t.text && peek(word.size()) == '(') {
      DepthGuard guard(depth_);
      if (depth_ > max_depth_) {
        return fail(pos_, "condition nests deeper than " + std::to_string(max_depth_) + " levels");
      }
      pos_ += word.size() + 1;
      if (!parse_field_or_transformer(out)) return false;
      skip_blanks();
      if (peek() != ')') {
        return fail(pos_,
                    "expected ')' to close " + std::string(t.text) + "(, found " + describe_here());
      }
      ++pos_;
      out.transformers.push_back(t.t);
      out.pos = map(start);
      return true;
    }
  }
  return parse_field(out);
}

bool Parser::parse_field(ast::FieldExpr& out) {
  skip_blanks();
  size_t start = pos_;
  std::string_view name = peek_field_name();
  if (name.empty() || name.find('.') == std::string_view::npos) {
    return fail(pos_, "expected a field name (like proc.name), found " + describe_here());
  }
  pos_ += name.size();
  out.name = std::string(name);
  out.pos = map(start);
  if (peek() == '[') {
    ++pos_;
    std::string arg;
    if (peek() == '"' || peek() == '\'') {
      if (!parse_quoted(arg)) return false;
    } else {
      size_t a = pos_;
      while (!at_end() && !is_blank(text_[pos_]) && text_[pos_] != '[' && text_[pos_] != ']' &&
             text_[pos_] != '"' && text_[pos_] != '\'')
        ++pos_;
      if (a == pos_)
        return fail(pos_, "expected a field argument after '[', found " + describe_here());
      arg = std::string(text_.substr(a, pos_ - a));
    }
    if (peek() != ']')
      return fail(pos_, "expected ']' after field argument, found " + describe_here());
    ++pos_;
    out.arg = std::move(arg);
  }
  return true;
}

bool Parser::parse_condition(Node& check) {
  skip_blanks();
  size_t op_at = pos_;
  bool found = false;
  for (const auto& s : kOps) {
    if (s.word ? at_keyword(s.text) : text_.substr(pos_, s.text.size()) == s.text) {
      check.op = s.op;
      pos_ += s.text.size();
      found = true;
      break;
    }
  }
  if (!found) {
    return fail(op_at,
                "expected an operator after '" + check.field.to_string() +
                    "' (one of = != < <= > >= "
                    "contains icontains bcontains startswith bstartswith endswith glob iglob "
                    "regex in intersects pmatch exists), found " +
                    describe_here());
  }
  if (check.op == Op::kExists) return true;
  skip_blanks();
  check.rhs.pos = here();
  for (auto [kw, mod] :
       {std::pair{"oneof", ast::Modifier::kOneOf}, std::pair{"anyof", ast::Modifier::kAnyOf},
        std::pair{"allof", ast::Modifier::kAllOf}}) {
    if (eat_keyword(kw)) {
      if (ast::op_takes_list(check.op)) {
        return fail(op_at, std::string("modifier '") + kw + "' does not apply to '" +
                               ast::op_name(check.op) + "'");
      }
      check.modifier = mod;
      return parse_list_value(check.rhs);
    }
  }
  if (ast::op_takes_list(check.op)) return parse_list_value(check.rhs);
  return parse_rhs_value(check.rhs);
}

bool Parser::try_parse_rhs_field(ast::Rhs& rhs, bool& matched) {
  matched = false;
  std::string_view word = peek_identifier();
  if (word == "val" && peek(3) == '(') {
    matched = true;
    pos_ += 4;
    ast::FieldExpr f;
    if (!parse_field_or_transformer(f)) return false;
    skip_blanks();
    if (peek() != ')') return fail(pos_, "expected ')' to close val(, found " + describe_here());
    ++pos_;
    rhs.kind = ast::Rhs::Kind::kField;
    rhs.field = std::move(f);
    return true;
  }
  for (const auto& t : kTransformers) {
    if (word == t.text && peek(word.size()) == '(') {
      matched = true;
      ast::FieldExpr f;
      if (!parse_field_or_transformer(f)) return false;
      rhs.kind = ast::Rhs::Kind::kField;
      rhs.field = std::move(f);
      return true;
    }
  }
  return true;
}

bool Parser::parse_rhs_value(ast::Rhs& rhs) {
  skip_blanks();
  bool matched = false;
  if (!try_parse_rhs_field(rhs, matched)) return false;
  if (matched) return true;
  ast::Value v;
  v.pos = here();
  if (peek() == '"' || peek() == '\'') {
    if (!parse_quoted(v.text)) return false;
    v.quoted = true;
  } else {
    size_t a = pos_;
    while (!at_end() && is_bare_char(text_[pos_])) ++pos_;
    if (a == pos_) return fail(pos_, "expected a value, found " + describe_here());
    v.text = std::string(text_.substr(a, pos_ - a));
  }
  rhs.kind = ast::Rhs::Kind::kValue;
  rhs.values.push_back(std::move(v));
  return true;
}

bool Parser::parse_list_value(ast::Rhs& rhs) {
  skip_blanks();
  rhs.kind = ast::Rhs::Kind::kList;
  rhs.pos = here();
  if (peek() != '(') {
    bool matched = false;
    if (!try_parse_rhs_field(rhs, matched)) return false;
    if (matched) return true;
    std::string_view name = peek_identifier();
    if (name.empty()) return fail(pos_, "expected '(' or a list name, found " + describe_here());
    pos_ += name.size();
    rhs.list_name = std::string(name);
    return true;
  }
  size_t open = pos_;
  ++pos_;
  skip_blanks();
  if (peek() == ')') {
    ++pos_;
    return true;
  }
  while (true) {
    skip_blanks();
    ast::Value v;
    v.pos = here();
    if (peek() == '"' || peek() == '\'') {
      if (!parse_quoted(v.text)) return false;
      v.quoted = true;
    } else {
      size_t a = pos_;
      while (!at_end() && is_bare_char(text_[pos_])) ++pos_;
      if (a == pos_) {
        return fail(pos_, at_end() ? "expected ')' to close the list opened at column " +
                                         std::to_string(map(open).col) + ", found end of condition"
                                   : "expected a list item, found " + describe_here());
      }
      v.text = std::string(text_.substr(a, pos_ - a));
    }
    rhs.values.push_back(std::move(v));
    skip_blanks();
    if (peek() == ',') {
      ++pos_;
      continue;
    }
    if (peek() == ')') {
      ++pos_;
      return true;
    }
    return fail(pos_, at_end() ? "expected ')' to close the list opened at column " +
                                     std::to_string(map(open).col) + ", found end of condition"
                               : "expected ',' or ')' in list, found " + describe_here());
  }
}

bool Parser::parse_quoted(std::string& out) {
  char quote = peek();
  size_t start = pos_;
  ++pos_;
  out.clear();
  while (!at_end()) {
    char c = text_[pos_];
    if (c == '\\' && pos_ + 1 < text_.size()) {
      char n = text_[pos_ + 1];
      if (n == quote || n == '\\') {
        out += n;
      } else {
        out += c;  // keep other escapes for regex operands: '\.' stays '\.'
        out += n;
      }
      pos_ += 2;
      continue;
    }
    if (c == quote) {
      ++pos_;
      return true;
    }
    out += c;
    ++pos_;
  }
  return fail(start, std::string("unterminated string: missing closing ") + quote);
}

}  // namespace vigil::rules
