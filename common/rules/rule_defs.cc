#include "common/rules/rule_defs.h"

#include <array>
#include <cctype>

namespace vigil::rules {
namespace {

constexpr std::array<const char*, 8> kPriorityNames = {
    "Emergency", "Alert", "Critical", "Error", "Warning", "Notice", "Informational", "Debug"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

}  // namespace

std::optional<Priority> parse_priority(std::string_view text) {
  for (size_t i = 0; i < kPriorityNames.size(); ++i) {
    if (iequals(text, kPriorityNames[i])) return static_cast<Priority>(i);
  }
  if (iequals(text, "info")) return Priority::kInformational;
  return std::nullopt;
}

const char* priority_name(Priority p) { return kPriorityNames[static_cast<size_t>(p)]; }

void MappedText::append(const MappedText& other, char separator) {
  if (text.empty()) {
    *this = other;
    return;
  }
  ast::Pos end = pos.empty() ? ast::Pos{} : pos.back();
  pos.pop_back();
  text += separator;
  pos.push_back(end);
  text += other.text;
  pos.insert(pos.end(), other.pos.begin(), other.pos.end());
}

ast::Pos MappedText::at(size_t offset) const {
  if (pos.empty()) return {};
  return pos[offset < pos.size() ? offset : pos.size() - 1];
}

ListDef* RuleDefs::find_list(std::string_view name) {
  for (auto& l : lists)
    if (l.name == name) return &l;
  return nullptr;
}

MacroDef* RuleDefs::find_macro(std::string_view name) {
  for (auto& m : macros)
    if (m.name == name) return &m;
  return nullptr;
}

RuleDef* RuleDefs::find_rule(std::string_view name) {
  for (auto& r : rules)
    if (r.name == name) return &r;
  return nullptr;
}

const std::string& RuleDefs::file_name(const ast::Pos& pos) const {
  static const std::string kUnknown;
  return pos.file < files.size() ? files[pos.file] : kUnknown;
}

}  // namespace vigil::rules
