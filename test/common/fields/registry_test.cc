#include "common/fields/registry.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/fields/source.h"

namespace vigil::fields {
namespace {

void extract_nothing(const void*, const FieldArg&, ValueWriter&) {}

// Accepts arguments that start with a letter and records that it ran.
std::string prepare_word(FieldArg& arg) {
  if (arg.text.empty() || !(arg.text[0] >= 'a' && arg.text[0] <= 'z')) {
    return "argument must start with a lower-case letter";
  }
  arg.prepared = std::make_shared<std::string>("prepared:" + arg.text);
  return "";
}

const FieldInfo kTestFields[] = {
    {"t.plain", FieldType::kString, kNone, "No argument.", extract_nothing},
    {"t.index", FieldType::kString, kArgAllowed | kArgIndex, "Optional integer.", extract_nothing},
    {"t.key", FieldType::kString, kArgRequired | kArgAllowed | kDotArg, "Required key.",
     extract_nothing},
    {"t.opt", FieldType::kString, kArgAllowed, "Optional key, brackets only.", extract_nothing},
    {"t.word", FieldType::kString, kArgRequired, "Prepared argument.", extract_nothing,
     prepare_word},
    {"t.key.exact", FieldType::kNumber, kNone, "An exact name that shadows t.key.exact.",
     extract_nothing},
};

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : registry_("test") { registry_.add(kTestFields); }
  FieldRegistry registry_;
};

TEST_F(RegistryTest, FindsAndListsFields) {
  EXPECT_EQ(registry_.source(), "test");
  ASSERT_NE(registry_.find("t.plain"), nullptr);
  EXPECT_EQ(registry_.find("t.plain"), &kTestFields[0]);
  EXPECT_EQ(registry_.find("t.nope"), nullptr);
  ASSERT_EQ(registry_.all().size(), std::size(kTestFields));
  EXPECT_EQ(registry_.all()[1]->name, std::string("t.index"));
}

TEST_F(RegistryTest, BindsPlainField) {
  auto b = registry_.bind("t.plain", std::nullopt);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(b->info, &kTestFields[0]);
  EXPECT_FALSE(b->arg.present);
  EXPECT_EQ(b->display, "t.plain");
  EXPECT_FALSE(b->is_list());
}

TEST_F(RegistryTest, UnknownField) {
  auto b = registry_.bind("t.plian", std::nullopt);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(), "unknown field 't.plian' for source 'test'");
}

TEST_F(RegistryTest, RejectsArgumentOnPlainField) {
  auto b = registry_.bind("t.plain", "1");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(), "field 't.plain' does not take an argument");
  // A dot suffix on a field without kDotArg is just an unknown name.
  auto d = registry_.bind("t.plain.x", std::nullopt);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), "unknown field 't.plain.x' for source 'test'");
}

TEST_F(RegistryTest, BindsIndexArgument) {
  auto none = registry_.bind("t.index", std::nullopt);
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->arg.present);
  EXPECT_EQ(none->arg.index, -1);

  auto b = registry_.bind("t.index", "2");
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_TRUE(b->arg.present);
  EXPECT_EQ(b->arg.text, "2");
  EXPECT_EQ(b->arg.index, 2);
  EXPECT_EQ(b->display, "t.index[2]");
}

TEST_F(RegistryTest, RejectsNonIntegerIndex) {
  for (const char* bad : {"x", "-1", "1.5", "2x", " 2", "99999999999999999999999"}) {
    auto b = registry_.bind("t.index", std::string_view(bad));
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.error(),
              "field 't.index' takes an integer argument, got '" + std::string(bad) + "'");
  }
  auto empty = registry_.bind("t.index", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), "field 't.index' takes an integer argument, got ''");
}

TEST_F(RegistryTest, BindsDotAndBracketArguments) {
  auto dot = registry_.bind("t.key.flags", std::nullopt);
  ASSERT_TRUE(dot.ok()) << dot.error();
  EXPECT_EQ(dot->info, &kTestFields[2]);
  EXPECT_EQ(dot->arg.text, "flags");
  EXPECT_EQ(dot->arg.index, -1);
  EXPECT_EQ(dot->display, "t.key.flags");

  auto bracket = registry_.bind("t.key", "flags");
  ASSERT_TRUE(bracket.ok()) << bracket.error();
  EXPECT_EQ(bracket->arg.text, "flags");
  EXPECT_EQ(bracket->display, "t.key[flags]");

  // Numeric arguments also get their index, for fields like evt.arg[0].
  auto numeric = registry_.bind("t.key", "0");
  ASSERT_TRUE(numeric.ok()) << numeric.error();
  EXPECT_EQ(numeric->arg.index, 0);
}

TEST_F(RegistryTest, DotArgumentsMayContainDots) {
  auto b = registry_.bind("t.key.app.kubernetes.io", std::nullopt);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(b->info, &kTestFields[2]);
  EXPECT_EQ(b->arg.text, "app.kubernetes.io");
}

TEST_F(RegistryTest, ExactNamesWinOverDotArguments) {
  auto b = registry_.bind("t.key.exact", std::nullopt);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(b->info, &kTestFields[5]);
  EXPECT_FALSE(b->arg.present);
}

TEST_F(RegistryTest, RejectsDotAndBracketTogether) {
  auto b = registry_.bind("t.key.flags", "0");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().find("already has the argument 'flags'"), std::string::npos) << b.error();
}

TEST_F(RegistryTest, RequiredArgumentMissing) {
  auto b = registry_.bind("t.key", std::nullopt);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(), "field 't.key' requires an argument, e.g. t.key[...]");
  auto empty = registry_.bind("t.key", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), "field 't.key' requires an argument, e.g. t.key[...]");
  auto trailing_dot = registry_.bind("t.key.", std::nullopt);
  ASSERT_FALSE(trailing_dot.ok());
}

TEST_F(RegistryTest, BracketOnlyFieldRejectsDotForm) {
  EXPECT_TRUE(registry_.bind("t.opt", "x").ok());
  auto b = registry_.bind("t.opt.x", std::nullopt);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(), "unknown field 't.opt.x' for source 'test'");
}

TEST_F(RegistryTest, RunsPrepare) {
  auto b = registry_.bind("t.word", "abc");
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_NE(b->arg.prepared, nullptr);
  EXPECT_EQ(*std::static_pointer_cast<const std::string>(b->arg.prepared), "prepared:abc");

  auto bad = registry_.bind("t.word", "1abc");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "field 't.word': argument must start with a lower-case letter");
}

// The real registry: the forms Falco rules use.
TEST(RegistrySyscallTest, BindsFalcoForms) {
  const FieldRegistry& reg = *syscall_source().fields;
  EXPECT_EQ(reg.source(), "syscall");

  auto aname = reg.bind("proc.aname", "2");
  ASSERT_TRUE(aname.ok()) << aname.error();
  EXPECT_EQ(aname->arg.index, 2);
  EXPECT_EQ(aname->display, "proc.aname[2]");

  auto bad = reg.bind("proc.aname", "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "field 'proc.aname' takes an integer argument, got 'x'");

  auto flags = reg.bind("evt.arg.flags", std::nullopt);
  ASSERT_TRUE(flags.ok()) << flags.error();
  EXPECT_EQ(flags->info->name, std::string("evt.arg"));
  EXPECT_EQ(flags->display, "evt.arg.flags");

  auto sipname = reg.bind("fd.sip.name", std::nullopt);
  ASSERT_TRUE(sipname.ok()) << sipname.error();
  EXPECT_EQ(sipname->info->name, std::string("fd.sip.name"));

  auto types = reg.bind("fd.types", "0");
  ASSERT_TRUE(types.ok()) << types.error();
  EXPECT_TRUE(types->is_list());

  auto label = reg.bind("k8s.pod.label", "app.kubernetes.io/name");
  ASSERT_TRUE(label.ok()) << label.error();
  EXPECT_EQ(label->arg.text, "app.kubernetes.io/name");

  auto typo = reg.bind("proc.nme", std::nullopt);
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.error(), "unknown field 'proc.nme' for source 'syscall'");

  EXPECT_FALSE(reg.bind("evt.arg", std::nullopt).ok());
  EXPECT_FALSE(reg.bind("proc.name", "1").ok());
}

TEST(RegistrySyscallTest, FindSource) {
  EXPECT_EQ(find_source("syscall"), &syscall_source());
  EXPECT_EQ(find_source("nope"), nullptr);
  const EventSource& src = syscall_source();
  EXPECT_EQ(src.name, "syscall");
  EXPECT_EQ(src.type_field, "evt.type");
  ASSERT_NE(src.type_id, nullptr);
  EXPECT_EQ(src.type_name(static_cast<uint16_t>(src.type_id("openat"))), "openat");
  EXPECT_EQ(src.type_id("nosuchcall"), -1);
}

TEST(RegistrySyscallTest, EveryFieldIsDescribed) {
  const FieldRegistry& reg = *syscall_source().fields;
  EXPECT_GT(reg.all().size(), 150u);
  for (const FieldInfo* f : reg.all()) {
    EXPECT_NE(f->extract, nullptr) << f->name;
    ASSERT_NE(f->description, nullptr) << f->name;
    EXPECT_GT(std::string(f->description).size(), 8u) << f->name;
    // kArgIndex and kDotArg only make sense on fields that take an argument.
    if (f->flags & (kArgIndex | kDotArg)) {
      EXPECT_TRUE(f->flags & (kArgAllowed | kArgRequired)) << f->name;
    }
  }
}

}  // namespace
}  // namespace vigil::fields
