#include "common/rules/parser.h"

#include <gtest/gtest.h>

namespace vigil::rules {
namespace {

std::string parse_ok(const std::string& text) {
  Parser p(text);
  auto n = p.parse();
  EXPECT_NE(n, nullptr) << text << " -> " << p.error().message;
  return n ? n->to_string() : "";
}

ParseError parse_err(const std::string& text) {
  Parser p(text);
  auto n = p.parse();
  EXPECT_EQ(n, nullptr) << text;
  return p.error();
}

TEST(ParserTest, PrecedenceAndBeforeOr) {
  EXPECT_EQ(parse_ok("a and b or c"), "((a and b) or c)");
  EXPECT_EQ(parse_ok("a or b and c"), "(a or (b and c))");
  EXPECT_EQ(parse_ok("not a and b"), "(not a and b)");
  EXPECT_EQ(parse_ok("not (a and b)"), "not (a and b)");
  EXPECT_EQ(parse_ok("not not a"), "a");
  EXPECT_EQ(parse_ok("not(a)"), "not a");
  EXPECT_EQ(parse_ok("(a)and(b)"), "(a and b)");
}

TEST(ParserTest, ChecksAndOperators) {
  EXPECT_EQ(parse_ok("proc.name=bash"), "proc.name = bash");
  EXPECT_EQ(parse_ok("proc.name == bash"), "proc.name = bash");
  EXPECT_EQ(parse_ok("fd.num>=0"), "fd.num >= 0");
  EXPECT_EQ(parse_ok("fd.num<=0 and fd.num<1 and fd.num>2 and fd.num!=3"),
            "(fd.num <= 0 and fd.num < 1 and fd.num > 2 and fd.num != 3)");
  for (const char* op : {"contains", "icontains", "bcontains", "startswith", "bstartswith",
                         "endswith", "glob", "iglob", "regex"}) {
    EXPECT_EQ(parse_ok(std::string("fd.name ") + op + " /etc"),
              std::string("fd.name ") + op + " /etc");
  }
  EXPECT_EQ(parse_ok("fd.name exists"), "fd.name exists");
  EXPECT_EQ(parse_ok("fd.name pmatch (/etc, /usr)"), "fd.name pmatch (/etc, /usr)");
  EXPECT_EQ(parse_ok("ka.req.pod.volumes.hostpath intersects (/proc)"),
            "ka.req.pod.volumes.hostpath intersects (/proc)");
  EXPECT_EQ(parse_ok("proc.name in(bash,sh)"), "proc.name in (bash, sh)");
  EXPECT_EQ(parse_ok("proc.name in ()"), "proc.name in ()");
  EXPECT_EQ(parse_ok("proc.name in shell_binaries"), "proc.name in shell_binaries");
}

TEST(ParserTest, ValuesQuotedBareAndEscaped) {
  EXPECT_EQ(parse_ok("fd.name startswith /etc/"), "fd.name startswith /etc/");
  EXPECT_EQ(parse_ok("proc.cmdline contains \"a b\""), "proc.cmdline contains \"a b\"");
  EXPECT_EQ(parse_ok("fd.typechar='f'"), "fd.typechar = \"f\"");
  EXPECT_EQ(parse_ok(R"(proc.name = "say \"hi\"")"), R"(proc.name = "say \"hi\"")");
  EXPECT_EQ(parse_ok(R"(proc.name regex 'a\.b')"), R"(proc.name regex "a\\.b")");
  EXPECT_EQ(parse_ok("proc.name in (\"(systemd)\", 'x y', z)"),
            "proc.name in (\"(systemd)\", \"x y\", z)");
}

TEST(ParserTest, FieldArgumentsTransformersAndVal) {
  EXPECT_EQ(parse_ok("proc.aname[2]=sshd"), "proc.aname[2] = sshd");
  EXPECT_EQ(parse_ok("jevt.value[/requestObject/spec/tls] exists"),
            "jevt.value[/requestObject/spec/tls] exists");
  EXPECT_EQ(parse_ok("ka.uri.param[\"command\"] exists"), "ka.uri.param[command] exists");
  EXPECT_EQ(parse_ok("evt.arg.flags contains O_CREAT"), "evt.arg.flags contains O_CREAT");
  EXPECT_EQ(parse_ok("tolower(proc.name) = bash"), "tolower(proc.name) = bash");
  EXPECT_EQ(parse_ok("len(toupper(proc.name)) > 3"), "len(toupper(proc.name)) > 3");
  EXPECT_EQ(parse_ok("basename(proc.exepath) = bash"), "basename(proc.exepath) = bash");
  EXPECT_EQ(parse_ok("b64(proc.name) = x"), "b64(proc.name) = x");
  EXPECT_EQ(parse_ok("proc.name = val(proc.pname)"), "proc.name = val(proc.pname)");
  EXPECT_EQ(parse_ok("proc.name = tolower(proc.pname)"), "proc.name = tolower(proc.pname)");
  EXPECT_EQ(parse_ok("k8s.ns.name = default"), "k8s.ns.name = default");
}

TEST(ParserTest, Modifiers) {
  EXPECT_EQ(parse_ok("proc.name = anyof (a, b)"), "proc.name = anyof (a, b)");
  EXPECT_EQ(parse_ok("proc.name startswith oneof (a, b)"), "proc.name startswith oneof (a, b)");
  EXPECT_EQ(parse_ok("proc.name contains allof (a, b)"), "proc.name contains allof (a, b)");
  EXPECT_NE(parse_err("proc.name in anyof (a)").message.find("does not apply"), std::string::npos);
}

TEST(ParserTest, MacroReferences) {
  EXPECT_EQ(parse_ok("spawned_process and container"), "(spawned_process and container)");
  EXPECT_EQ(parse_ok("(open_write)"), "open_write");
}

TEST(ParserTest, ErrorsCarryColumnAndExpectation) {
  auto e = parse_err("proc.name = bash and");
  EXPECT_EQ(e.pos.col, 21u);
  EXPECT_NE(e.message.find("found end of condition"), std::string::npos) << e.message;

  e = parse_err("proc.name bash");
  EXPECT_EQ(e.pos.col, 11u);
  EXPECT_NE(e.message.find("expected an operator"), std::string::npos) << e.message;

  e = parse_err("(proc.name = bash");
  EXPECT_NE(e.message.find("expected ')'"), std::string::npos) << e.message;
  EXPECT_EQ(e.pos.col, 18u);

  e = parse_err("proc.name in (a, b");
  EXPECT_NE(e.message.find("close the list"), std::string::npos) << e.message;

  e = parse_err("proc.name = \"abc");
  EXPECT_NE(e.message.find("unterminated string"), std::string::npos) << e.message;
  EXPECT_EQ(e.pos.col, 13u);

  e = parse_err("proc.name = a b");
  EXPECT_NE(e.message.find("expected 'and', 'or'"), std::string::npos) << e.message;
  EXPECT_EQ(e.pos.col, 15u);

  e = parse_err("");
  EXPECT_EQ(e.message, "empty condition");
  e = parse_err("and x");
  EXPECT_NE(e.message.find("keyword 'and'"), std::string::npos) << e.message;
  e = parse_err("proc.name =");
  EXPECT_NE(e.message.find("expected a value"), std::string::npos) << e.message;
  e = parse_err("proc.aname[2 = x");
  EXPECT_NE(e.message.find("expected ']'"), std::string::npos) << e.message;
}

TEST(ParserTest, PositionsComeFromTheMapper) {
  Parser p("a and (", [](size_t off) { return ast::Pos{7, static_cast<uint32_t>(off + 3), 2}; });
  EXPECT_EQ(p.parse(), nullptr);
  EXPECT_EQ(p.error().pos.line, 7u);
  EXPECT_EQ(p.error().pos.col, 10u);
  EXPECT_EQ(p.error().pos.file, 2u);
}

TEST(ParserTest, DepthLimitStopsHundredThousandParens) {
  std::string text(100000, '(');
  auto e = parse_err(text);
  EXPECT_NE(e.message.find("nests deeper than"), std::string::npos) << e.message;

  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "not ";
  e = parse_err(nots + "a");
  EXPECT_NE(e.message.find("nests deeper than"), std::string::npos) << e.message;

  std::string lower(100000, '(');
  e = parse_err("tolower" + lower);
  EXPECT_FALSE(e.message.empty());
}

TEST(ParserTest, LongFlatChainsDoNotRecurse) {
  std::string text = "a";
  for (int i = 0; i < 50000; ++i) text += " or a";
  Parser p(text);
  auto n = p.parse();
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->children.size(), 50001u);
}

TEST(ParserTest, WithinLimitNestingParses) {
  std::string text = std::string(100, '(') + "a" + std::string(100, ')');
  EXPECT_EQ(parse_ok(text), "a");
}

}  // namespace
}  // namespace vigil::rules

namespace vigil::rules {
namespace {
TEST(ParserTest, KeywordsEndAtAnyNonIdentifierCharacter) {
  EXPECT_EQ(parse_ok("(ka.verb exists)"), "ka.verb exists");
  EXPECT_EQ(parse_ok("(a)or(b)"), "(a or b)");
  EXPECT_NE(parse_err("fd.name inode").message.find("expected an operator"), std::string::npos);
}
}  // namespace
}  // namespace vigil::rules
