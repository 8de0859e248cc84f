// The engine's specialised checks (Check::finalize picks them) against the generic evaluation
// they replace, over many shapes of left-hand values; and the string set behind `in`.

#include "common/rules/check.h"

#include <cstdint>
#include <limits>
#include <string>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::rules {
namespace {

using ast::Op;
using fields::FieldType;
using fields::Value;

// A check of `op` against constants, built the way the compiler builds it.
Check make_check(Op op, FieldType type, const std::vector<std::string>& strs,
                 const std::vector<int64_t>& nums, bool lhs_list = false) {
  Check c;
  c.op = op;
  c.type = type;
  c.lhs_list = lhs_list;
  const bool is_str = type == FieldType::kString || type == FieldType::kPath;
  if (is_str) {
    for (const std::string& s : strs) {
      c.storage.push_back(s);
      Value v;
      v.str = c.storage.back();
      c.values.push_back(v);
    }
  } else {
    for (int64_t n : nums) {
      Value v;
      v.num = n;
      c.values.push_back(v);
    }
  }
  if (op == Op::kIn || op == Op::kIntersects) {
    for (const Value& v : c.values) {
      if (is_str) {
        c.str_set.insert(v.str);
      } else {
        c.num_set.insert(v.num);
      }
    }
  }
  c.finalize();
  return c;
}

std::vector<Value> strings(const std::vector<std::string>& in, std::vector<std::string>& keep) {
  std::vector<Value> out;
  for (const std::string& s : in) {
    keep.push_back(s);
  }
  for (size_t i = keep.size() - in.size(); i < keep.size(); ++i) {
    Value v;
    v.str = keep[i];
    out.push_back(v);
  }
  return out;
}

std::vector<Value> numbers(const std::vector<int64_t>& in) {
  std::vector<Value> out;
  for (int64_t n : in) {
    Value v;
    v.num = n;
    out.push_back(v);
  }
  return out;
}

TEST(CheckTest, StringKindsAgreeWithGenericEvaluation) {
  const std::string long_a = "/usr/lib/x86_64-linux-gnu/libc.so.6";
  std::string long_b = long_a;
  long_b[14] = 'X';  // differs only in the middle: neither the first nor the last 8 bytes
  const std::vector<std::string> constants = {"",
                                              "a",
                                              "abc",
                                              "/etc/",
                                              "/etc/shadow",
                                              "/etc/ssh/ssh_host_",
                                              long_a,
                                              "*x*",
                                              "/root/.ssh/id_*",
                                              "/home/*/.ssh/id_*",
                                              "[a-c]*",
                                              "\\*x",
                                              "lib",
                                              ".so.6",
                                              "abcdefgh",
                                              "abcdefghi"};
  const std::vector<std::vector<std::string>> lhs_cases = {
      {},
      {""},
      {"a"},
      {"abc"},
      {"abd"},
      {"x", "abc"},
      {"abc", "abc"},
      {"/etc/shadow"},
      {"/etc/shadow2"},
      {"/etc/ssh/ssh_host_rsa_key"},
      {"/root/.ssh/id_rsa"},
      {"/home/alice/.ssh/id_ed25519"},
      {"/home/alice/ssh/id_ed25519"},
      {long_a},
      {long_b},
      {"bx", "*x"},
      {"abcdefgh"},
      {"abcdefgX"},
      {"Xbcdefgh", "abcdefghi"},
  };
  const Op ops[] = {Op::kEq,       Op::kNe,   Op::kStartsWith, Op::kEndsWith,
                    Op::kContains, Op::kGlob, Op::kIn,         Op::kIntersects};
  size_t specialised = 0;
  for (Op op : ops) {
    for (bool list : {false, true}) {
      if (list && op != Op::kIn && op != Op::kIntersects) continue;
      std::vector<std::vector<std::string>> rhs_sets;
      if (op == Op::kIn || op == Op::kIntersects) {
        rhs_sets = {{},
                    {"abc"},
                    {"abc", "/etc/shadow"},
                    {"", "a"},
                    {"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/pam.conf", long_a, "x"}};
      } else {
        for (const std::string& k : constants) rhs_sets.push_back({k});
      }
      for (const auto& rhs : rhs_sets) {
        Check c = make_check(op, FieldType::kString, rhs, {}, list);
        specialised += c.kind != CheckKind::kGeneric;
        for (const auto& lhs_text : lhs_cases) {
          std::vector<std::string> keep;
          keep.reserve(lhs_text.size());
          const std::vector<Value> lhs = strings(lhs_text, keep);
          EXPECT_EQ(c.eval(lhs, {}), c.eval_reference(lhs, {}))
              << ast::op_name(op) << (list ? " (list)" : "")
              << " rhs[0]=" << (rhs.empty() ? "<none>" : rhs[0])
              << " lhs[0]=" << (lhs_text.empty() ? "<none>" : lhs_text[0])
              << " lhs.size=" << lhs.size();
        }
      }
    }
  }
  EXPECT_GT(specialised, 0u);  // the comparison above exercised the fast paths
}

TEST(CheckTest, NumberKindsAgreeWithGenericEvaluation) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const std::vector<std::vector<int64_t>> lhs_cases = {{},
                                                       {0},
                                                       {5},
                                                       {-1},
                                                       {4},
                                                       {6},
                                                       {kMin},
                                                       {kMax},
                                                       {-1, 7},
                                                       {5, 5},
                                                       {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}};
  const Op ops[] = {Op::kEq, Op::kNe, Op::kLt, Op::kLe, Op::kGt, Op::kGe, Op::kIn, Op::kIntersects};
  for (FieldType type : {FieldType::kNumber, FieldType::kBool}) {
    for (Op op : ops) {
      if (type == FieldType::kBool && op != Op::kEq && op != Op::kNe && op != Op::kIn) continue;
      for (bool list : {false, true}) {
        if (list && op != Op::kIn && op != Op::kIntersects) continue;
        std::vector<std::vector<int64_t>> rhs_sets;
        if (op == Op::kIn || op == Op::kIntersects) {
          rhs_sets = {{}, {5}, {0, 1}, {-1, 5, kMin}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12}};
        } else {
          rhs_sets = {{0}, {5}, {-1}, {kMin}, {kMax}};
        }
        for (const auto& rhs : rhs_sets) {
          Check c = make_check(op, type, {}, rhs, list);
          EXPECT_NE(c.kind, CheckKind::kGeneric) << ast::op_name(op);
          for (const auto& l : lhs_cases) {
            const std::vector<Value> lhs = numbers(l);
            EXPECT_EQ(c.eval(lhs, {}), c.eval_reference(lhs, {}))
                << ast::op_name(op) << (list ? " (list)" : "") << " rhs.size=" << rhs.size()
                << " lhs.size=" << lhs.size() << " lhs[0]=" << (l.empty() ? 0 : l[0]);
          }
        }
      }
    }
  }
}

TEST(CheckTest, ModifiersAndFieldComparisonsStayGeneric) {
  Check any = make_check(Op::kEq, FieldType::kString, {"a", "b"}, {});
  EXPECT_EQ(any.kind, CheckKind::kGeneric);  // two constants after `=`: only with a modifier
  Check c = make_check(Op::kEq, FieldType::kString, {"a"}, {});
  EXPECT_EQ(c.kind, CheckKind::kStrEq);
  c.modifier = ast::Modifier::kAnyOf;
  c.finalize();
  EXPECT_EQ(c.kind, CheckKind::kGeneric);
  Check f = make_check(Op::kEq, FieldType::kString, {"a"}, {});
  f.rhs_is_field = true;
  f.finalize();
  EXPECT_EQ(f.kind, CheckKind::kGeneric);
  Check ci = make_check(Op::kIGlob, FieldType::kString, {"A*"}, {});
  EXPECT_EQ(ci.kind, CheckKind::kGeneric);
}

TEST(CheckTest, StrSetMatchesAHashSet) {
  StrSet set;
  std::unordered_set<std::string> reference;
  std::vector<std::string> keep;
  keep.reserve(3000);
  for (int i = 0; i < 1000; ++i) {
    // Lengths from 1 to ~140, so several share a length modulo 64.
    keep.push_back(std::string(static_cast<size_t>(i % 140) + 1, static_cast<char>('a' + i % 26)) +
                   std::to_string(i));
  }
  for (int i = 0; i < 1000; i += 2) {
    set.insert(keep[static_cast<size_t>(i)]);
    set.insert(keep[static_cast<size_t>(i)]);  // duplicates are ignored
    reference.insert(keep[static_cast<size_t>(i)]);
  }
  EXPECT_EQ(set.size(), reference.size());
  for (const std::string& s : keep) {
    EXPECT_EQ(set.contains(s), reference.count(s) > 0) << s;
  }
  EXPECT_FALSE(set.contains(""));
  EXPECT_FALSE(set.contains(std::string(64, 'z')));

  StrSet small;
  EXPECT_FALSE(small.contains(""));  // `in ()` matches nothing, not even the empty string
  small.insert("");
  small.insert("sh");
  EXPECT_TRUE(small.contains(""));
  EXPECT_TRUE(small.contains("sh"));
  EXPECT_FALSE(small.contains("s"));
  EXPECT_FALSE(small.contains("sH"));
}

}  // namespace
}  // namespace vigil::rules
