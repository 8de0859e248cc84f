#pragma once

// A hand-written recursive-descent parser for Falco's condition language. Scannerless, like
// libsinsp's: what a token is depends on where it stands (a bare value may contain '/' and '.').
//
// Grammar (EBNF):
//   Expr          ::= OrExpr
//   OrExpr        ::= AndExpr ('or' AndExpr)*
//   AndExpr       ::= NotExpr ('and' NotExpr)*
//   NotExpr       ::= 'not' NotExpr | Check
//   Check         ::= '(' Expr ')'
//                   | FieldOrTransf Condition
//                   | Identifier                          -- a macro reference
//   FieldOrTransf ::= Transformer '(' FieldOrTransf ')' | Field
//   Transformer   ::= 'tolower' | 'toupper' | 'b64' | 'basename' | 'len'
//   Field         ::= FieldName ('[' FieldArg ']')?
//   Condition     ::= 'exists'
//                   | CmpOp Modifier? RhsValue
//                   | ListOp ListValue
//   CmpOp         ::= '=' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'contains' | 'icontains'
//                   | 'bcontains' | 'startswith' | 'bstartswith' | 'endswith' | 'glob'
//                   | 'iglob' | 'regex'
//   ListOp        ::= 'in' | 'intersects' | 'pmatch'
//   Modifier      ::= 'oneof' | 'anyof' | 'allof'            -- followed by a ListValue
//   RhsValue      ::= 'val(' Field ')' | FieldOrTransf | QuotedStr | BareStr
//   ListValue     ::= '(' (ListItem (',' ListItem)*)? ')' | Identifier | RhsField
//   ListItem      ::= QuotedStr | BareStr                    -- a bare list name is expanded
//
// Tokens:
//   Identifier    ::= [a-zA-Z_][a-zA-Z0-9_]*
//   FieldName     ::= Identifier ('.' [a-zA-Z0-9_]+)+
//   FieldArg      ::= QuotedStr | [^ \t\r\n\[\]"']+
//   QuotedStr     ::= '"' ([^"\\] | '\' .)* '"' | "'" ([^'\\] | '\' .)* "'"
//   BareStr       ::= [^ \t\r\n(),="']+
//
// Keywords (and, or, not, operators) are case-sensitive and must be followed by a blank or '('.
// Nesting is limited (kDefaultMaxDepth) because rule text is untrusted input.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/rules/ast.h"

namespace vigil::rules {

struct ParseError {
  ast::Pos pos;
  std::string message;  // "expected ')' after list, found 'and'"
};

// Maps a byte offset in the condition text to its position in the file it came from.
using PosMapper = std::function<ast::Pos(size_t offset)>;

class Parser {
 public:
  static constexpr int kDefaultMaxDepth = 128;

  // The mapper defaults to line 1, column offset+1 of file 0.
  explicit Parser(std::string_view text, PosMapper mapper = nullptr,
                  int max_depth = kDefaultMaxDepth);

  // Parses the whole text as one condition. On failure returns nullptr and sets error().
  std::unique_ptr<ast::Node> parse();
  const ParseError& error() const { return error_; }

 private:
  std::unique_ptr<ast::Node> parse_or();
  std::unique_ptr<ast::Node> parse_and();
  std::unique_ptr<ast::Node> parse_chain(std::string_view keyword, ast::Node::Kind kind,
                                         std::unique_ptr<ast::Node> (Parser::*operand)());
  std::unique_ptr<ast::Node> parse_not();
  std::unique_ptr<ast::Node> parse_check();
  bool parse_field_or_transformer(ast::FieldExpr& out);
  bool parse_field(ast::FieldExpr& out);
  bool parse_condition(ast::Node& check);
  bool parse_list_value(ast::Rhs& rhs);
  bool parse_rhs_value(ast::Rhs& rhs);
  bool try_parse_rhs_field(ast::Rhs& rhs, bool& matched);
  bool parse_quoted(std::string& out);

  void skip_blanks();
  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const;
  bool at_keyword(std::string_view kw) const;
  bool eat_keyword(std::string_view kw);
  std::string_view peek_identifier() const;
  std::string_view peek_field_name() const;
  std::string describe_here() const;
  ast::Pos here() const { return map(pos_); }
  ast::Pos map(size_t offset) const;
  bool fail(size_t offset, std::string message);

  std::string_view text_;
  PosMapper mapper_;
  int max_depth_;
  int depth_ = 0;
  size_t pos_ = 0;
  bool failed_ = false;
  ParseError error_;
};

}  // namespace vigil::rules
