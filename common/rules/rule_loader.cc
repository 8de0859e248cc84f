#include "common/rules/rule_loader.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "common/rules/embedded_rules.h"

namespace vigil::rules {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Compares dotted versions numerically: "0.57.0" vs "0.43".
int compare_versions(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& s) -> long {
    long v = 0;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      v = v * 10 + (s.front() - '0');
      if (v > 1000000) v = 1000000;
      s.remove_prefix(1);
    }
    if (!s.empty() && s.front() == '.') s.remove_prefix(1);
    return v;
  };
  for (int i = 0; i < 4; ++i) {
    long x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string unquote_item(const std::string& s, bool& quoted) {
  quoted = false;
  if (s.size() >= 2 &&
      ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\''))) {
    quoted = true;
    return s.substr(1, s.size() - 2);
  }
  return s;
}

// Folded YAML scalars (`output: >`) end with a newline; alerts should not.
void trim_right(std::string& s) {
  while (!s.empty() && is_space(s.back())) s.pop_back();
}

// [begin, end) of each document of a YAML stream: documents are separated by lines that start
// with the marker "---" (or end with "..."), which YAML only allows at column 0.
std::vector<std::pair<size_t, size_t>> split_documents(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> docs;
  size_t doc_begin = 0;
  size_t line = 0;
  auto is_marker = [&](size_t at, std::string_view m) {
    if (text.substr(at, 3) != m) return false;
    char next = at + 3 < text.size() ? text[at + 3] : '\n';
    return next == '\n' || next == ' ' || next == '\t' || next == '\r';
  };
  while (line < text.size()) {
    size_t eol = text.find('\n', line);
    if (eol == std::string_view::npos) eol = text.size();
    if (is_marker(line, "---")) {
      if (line > doc_begin) docs.emplace_back(doc_begin, line);
      doc_begin = line;  // the marker line belongs to the document it opens
    } else if (is_marker(line, "...")) {
      docs.emplace_back(doc_begin, line);
      doc_begin = std::min(eol + 1, text.size());
    }
    line = eol + 1;
  }
  if (doc_begin < text.size()) docs.emplace_back(doc_begin, text.size());
  return docs;
}

const std::set<std::string, std::less<>> kValidComps = {
    "=",        "==",        "!=",        "<",          "<=",          ">",        ">=",
    "contains", "icontains", "bcontains", "startswith", "bstartswith", "endswith", "glob",
    "iglob",    "regex",     "in",        "intersects", "pmatch"};

}  // namespace

// Per-file state: the raw text (for mapping scalar values to positions) and its file index.
class RuleLoader::FileContext {
 public:
  FileContext(RuleDefs& defs, Diagnostics& diags, std::string name, std::string_view text,
              bool builtin, const LoadOptions& options)
      : defs_(defs),
        diags_(diags),
        name_(std::move(name)),
        text_(text),
        builtin_(builtin),
        options_(options) {
    file_ = static_cast<uint16_t>(defs_.files.size());
    defs_.files.push_back(name_);
    line_starts_.push_back(0);
    for (size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }

  bool load();

 private:
  ast::Pos pos_at(size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    size_t line = static_cast<size_t>(it - line_starts_.begin());  // 1-based
    size_t col = offset - line_starts_[line - 1] + 1;
    return ast::Pos{static_cast<uint32_t>(line), static_cast<uint32_t>(col), file_};
  }
  // A node's mark in the whole text: documents are parsed alone (see load()), so marks are
  // relative to the document being loaded.
  YAML::Mark mark_of(const YAML::Node& n) const {
    YAML::Mark m = n.Mark();
    if (m.is_null()) return m;
    m.pos += static_cast<int>(doc_offset_);
    m.line += static_cast<int>(doc_line_);
    return m;
  }
  ast::Pos pos_of(const YAML::Node& n) const {
    const YAML::Mark m = mark_of(n);
    if (m.is_null()) return ast::Pos{0, 0, file_};
    return ast::Pos{static_cast<uint32_t>(m.line + 1), static_cast<uint32_t>(m.column + 1), file_};
  }
  SourcePos src(const ast::Pos& p) const { return SourcePos{int(p.line), int(p.col)}; }

  void error(const YAML::Node& n, const std::string& item, const std::string& msg) {
    diags_.error(name_, src(pos_of(n)), item, msg);
    ok_ = false;
  }
  void error_at(const ast::Pos& p, const std::string& item, const std::string& msg) {
    diags_.error(name_, src(p), item, msg);
    ok_ = false;
  }
  void warning(const YAML::Node& n, const std::string& item, const std::string& msg) {
    diags_.warning(name_, src(pos_of(n)), item, msg);
  }

  MappedText map_scalar(const YAML::Node& n, const std::string& value) const;
  bool get_string(const YAML::Node& map, const char* key, const std::string& item,
                  std::string& out);
  bool get_string_list(const YAML::Node& n, const std::string& item, const char* what,
                       std::vector<std::string>& out);
  bool get_bool(const YAML::Node& n, const std::string& item, const char* what, bool& out);

  void load_falco_items(const YAML::Node& doc);
  void load_list(const YAML::Node& item);
  void load_macro(const YAML::Node& item);
  void load_rule(const YAML::Node& item);
  bool parse_exceptions(const YAML::Node& n, const std::string& item,
                        std::vector<ExceptionDef>& out);
  void load_security_rule(const YAML::Node& doc);
  // Returns the override mode for each key ("append"/"replace"), or false on error.
  bool parse_override(const YAML::Node& item, const std::string& what,
                      const std::set<std::string>& appendable,
                      const std::set<std::string>& replaceable,
                      std::vector<std::pair<std::string, std::string>>& out);

  RuleDefs& defs_;
  Diagnostics& diags_;
  std::string name_;
  std::string_view text_;
  bool builtin_;
  const LoadOptions& options_;
  uint16_t file_ = 0;
  std::vector<size_t> line_starts_;
  size_t doc_offset_ = 0;  // of the document being loaded, in text_
  size_t doc_line_ = 0;    // lines before it
  bool ok_ = true;
};

MappedText RuleLoader::FileContext::map_scalar(const YAML::Node& n,
                                               const std::string& value) const {
  MappedText out;
  out.text = value;
  out.pos.resize(value.size() + 1);
  const YAML::Mark m = mark_of(n);
  if (options_.positions_in_values) {
    ast::Pos p{1, 1, file_};
    for (size_t i = 0; i < value.size(); ++i) {
      out.pos[i] = p;
      if (value[i] == '\n') {
        ++p.line;
        p.col = 1;
      } else {
        ++p.col;
      }
    }
    out.pos[value.size()] = p;
    return out;
  }
  if (m.is_null() || m.pos < 0 || static_cast<size_t>(m.pos) >= text_.size()) {
    ast::Pos p = pos_of(n);
    for (size_t i = 0; i <= value.size(); ++i) {
      out.pos[i] = p;
      if (p.col) p.col++;
    }
    return out;
  }
  // Walk the raw text beside the value: folding turns line breaks and indentation into one
  // space, quotes and escapes shift columns. Greedy alignment is exact for the common cases and
  // close for escapes.
  size_t p = static_cast<size_t>(m.pos);
  const size_t n_src = text_.size();
  if (text_[p] == '"' || text_[p] == '\'') {
    ++p;
  } else if (text_[p] == '|' || text_[p] == '>') {
    while (p < n_src && text_[p] != '\n') ++p;
    if (p < n_src) ++p;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (is_space(c)) {
      out.pos[i] = pos_at(std::min(p, n_src ? n_src - 1 : 0));
      while (p < n_src && is_space(text_[p])) ++p;
      continue;
    }
    while (p < n_src && is_space(text_[p])) ++p;
    if (p < n_src && text_[p] == c) {
      out.pos[i] = pos_at(p);
      ++p;
      continue;
    }
    size_t q = p;
    bool found = false;
    for (int k = 0; k < 8 && q < n_src; ++k, ++q) {
      if (text_[q] == c) {
        found = true;
        break;
      }
    }
    if (found) {
      out.pos[i] = pos_at(q);
      p = q + 1;
    } else {
      out.pos[i] = pos_at(std::min(p, n_src ? n_src - 1 : 0));
    }
  }
  out.pos[value.size()] = pos_at(std::min(p, n_src ? n_src - 1 : 0));
  return out;
}

bool RuleLoader::FileContext::get_string(const YAML::Node& map, const char* key,
                                         const std::string& item, std::string& out) {
  YAML::Node n = map[key];
  if (!n) return false;
  if (n.IsNull()) {
    out.clear();
    return true;
  }
  if (!n.IsScalar()) {
    error(n, item, std::string("'") + key + "' must be a string");
    return false;
  }
  out = n.Scalar();
  return true;
}

bool RuleLoader::FileContext::get_string_list(const YAML::Node& n, const std::string& item,
                                              const char* what, std::vector<std::string>& out) {
  if (n.IsNull()) return true;
  if (!n.IsSequence()) {
    error(n, item, std::string("'") + what + "' must be a list");
    return false;
  }
  for (const auto& e : n) {
    if (!e.IsScalar()) {
      error(e, item, std::string("every item of '") + what + "' must be a string");
      return false;
    }
    out.push_back(e.Scalar());
  }
  return true;
}

bool RuleLoader::FileContext::get_bool(const YAML::Node& n, const std::string& item,
                                       const char* what, bool& out) {
  if (!n.IsScalar()) {
    error(n, item, std::string("'") + what + "' must be true or false");
    return false;
  }
  const std::string& s = n.Scalar();
  if (s == "true" || s == "True" || s == "TRUE" || s == "yes") {
    out = true;
  } else if (s == "false" || s == "False" || s == "FALSE" || s == "no") {
    out = false;
  } else {
    error(n, item, std::string("'") + what + "' must be true or false, got '" + s + "'");
    return false;
  }
  return true;
}

bool RuleLoader::FileContext::load() {
  // yaml-cpp 0.7's LoadAll loops forever, allocating, on some malformed input (a stray ',' at
  // the start of a line: jbeder/yaml-cpp#1040, fixed after 0.7 by #1319). Rule text is
  // untrusted, so split the stream into documents here and Load each one: Load parses a single
  // document and always returns. Each document keeps its offsets, lines and columns, because
  // everything before it is blanked out (newlines kept), not cut.
  struct Doc {
    YAML::Node node;
    size_t offset;
    size_t line;
  };
  std::vector<Doc> docs;
  for (const auto& [begin, end] : split_documents(text_)) {
    // Parsed alone (marks relative to the document, rebased by mark_of()): prefixing the text
    // before it, even blanked, made loading N documents cost O(N^2).
    const size_t line =
        static_cast<size_t>(std::upper_bound(line_starts_.begin(), line_starts_.end(), begin) -
                            line_starts_.begin() - 1);
    try {
      docs.push_back(Doc{YAML::Load(std::string(text_.substr(begin, end - begin))), begin, line});
    } catch (const YAML::Exception& e) {
      diags_.error(name_, SourcePos{e.mark.line + 1 + static_cast<int>(line), e.mark.column + 1},
                   "", "invalid YAML: " + e.msg);
      ok_ = false;
    }
  }
  if (!ok_) return false;
  bool any = false;
  for (const auto& [doc, offset, line] : docs) {
    doc_offset_ = offset;
    doc_line_ = line;
    if (!doc || doc.IsNull()) continue;
    any = true;
    try {
      if (doc.IsSequence()) {
        load_falco_items(doc);
      } else if (doc.IsMap() && doc["kind"]) {
        std::string kind = doc["kind"].IsScalar() ? doc["kind"].Scalar() : "";
        if (kind == "SecurityRule") {
          load_security_rule(doc);
        } else if (kind == "List" || kind == "SecurityRuleList") {
          if (doc["items"] && doc["items"].IsSequence()) {
            for (const auto& it : doc["items"]) load_security_rule(it);
          }
        } else if (kind != "AlertSink" && kind != "NodeAgent" && kind != "Secret") {
          // Vigil's other kinds and the Secrets they reference sit beside rules in manifests.
          warning(doc, "", "ignored document of kind '" + kind + "' (not a SecurityRule)");
        }
      } else {
        error(doc, "", "expected a list of rule, macro and list items, or a SecurityRule object");
      }
    } catch (const YAML::Exception& e) {
      diags_.error(name_, SourcePos{e.mark.line + 1 + static_cast<int>(line), e.mark.column + 1},
                   "", e.msg);
      ok_ = false;
    }
  }
  doc_offset_ = 0;
  doc_line_ = 0;
  if (!any) warning(YAML::Node(), "", "file holds no rules");
  return ok_;
}

void RuleLoader::FileContext::load_falco_items(const YAML::Node& doc) {
  for (const auto& item : doc) {
    if (!item.IsMap()) {
      error(item, "",
            "expected a mapping with one of 'rule', 'macro', 'list', "
            "'required_engine_version' or 'required_plugin_versions'");
      continue;
    }
    if (item["rule"]) {
      load_rule(item);
    } else if (item["macro"]) {
      load_macro(item);
    } else if (item["list"]) {
      load_list(item);
    } else if (item["required_engine_version"]) {
      const YAML::Node v = item["required_engine_version"];
      std::string ver = v.IsScalar() ? v.Scalar() : "";
      defs_.required_engine_version = ver;
      // Before Falco 0.35 engine versions were plain integers (up to 17); those files predate
      // the semantic versions and load here.
      const bool legacy = ver.find('.') == std::string::npos;
      if (!legacy && compare_versions(ver, kEngineVersion) > 0) {
        error(v, "",
              "rules require engine version " + ver + ", Vigil provides " +
                  std::string(kEngineVersion));
      }
    } else if (item["required_plugin_versions"]) {
      const YAML::Node v = item["required_plugin_versions"];
      if (v.IsSequence()) {
        for (const auto& p : v) {
          if (p.IsMap() && p["name"] && p["name"].IsScalar()) {
            std::string s = p["name"].Scalar();
            if (p["version"] && p["version"].IsScalar()) s += " " + p["version"].Scalar();
            defs_.required_plugins.push_back(s);
          }
        }
      }
    } else {
      std::string keys;
      for (const auto& kv : item) keys += (keys.empty() ? "" : ", ") + kv.first.as<std::string>();
      warning(item, "", "ignored item with unknown keys (" + keys + ")");
    }
  }
}

bool RuleLoader::FileContext::parse_override(
    const YAML::Node& item, const std::string& what, const std::set<std::string>& appendable,
    const std::set<std::string>& replaceable,
    std::vector<std::pair<std::string, std::string>>& out) {
  const YAML::Node ov = item["override"];
  if (!ov.IsMap()) {
    error(ov, what, "'override' must map keys to 'append' or 'replace'");
    return false;
  }
  for (const auto& kv : ov) {
    std::string key = kv.first.Scalar();
    std::string mode = kv.second.IsScalar() ? kv.second.Scalar() : "";
    if (mode != "append" && mode != "replace") {
      error(kv.second, what, "override mode for '" + key + "' must be 'append' or 'replace'");
      return false;
    }
    const auto& allowed = mode == "append" ? appendable : replaceable;
    if (!allowed.count(key)) {
      error(kv.first, what, "key '" + key + "' cannot be overridden with '" + mode + "'");
      return false;
    }
    if (!item[key]) {
      error(kv.first, what, "override names '" + key + "' but the item does not set it");
      return false;
    }
    out.emplace_back(key, mode);
  }
  for (const auto& kv : item) {
    std::string key = kv.first.Scalar();
    if (key == "rule" || key == "macro" || key == "list" || key == "override") continue;
    bool listed =
        std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.first == key; });
    if (!listed) {
      error(kv.first, what, "key '" + key + "' is set but not listed under 'override'");
      return false;
    }
  }
  return true;
}

void RuleLoader::FileContext::load_list(const YAML::Node& item) {
  std::string name;
  if (!get_string(item, "list", "", name) || name.empty()) {
    error(item, "", "list has no name");
    return;
  }
  const std::string what = "list '" + name + "'";
  std::vector<std::string> raw;
  const YAML::Node items = item["items"];
  if (!items) {
    error(item, what, "missing 'items'");
    return;
  }
  if (!get_string_list(items, what, "items", raw)) return;
  ListDef def{name, {}, {}, pos_of(item), builtin_};
  for (const auto& s : raw) {
    bool quoted = false;
    def.items.push_back(unquote_item(s, quoted));
    def.item_quoted.push_back(quoted);
  }
  for (const auto& kv : item) {
    std::string k = kv.first.Scalar();
    if (k != "list" && k != "items" && k != "append" && k != "override")
      warning(kv.first, what, "unknown key '" + k + "' ignored");
  }
  bool append = false;
  if (item["append"] && !get_bool(item["append"], what, "append", append)) return;
  std::string mode;
  if (item["override"]) {
    std::vector<std::pair<std::string, std::string>> ov;
    if (!parse_override(item, what, {"items"}, {"items"}, ov)) return;
    if (!ov.empty()) mode = ov[0].second;
  } else if (append) {
    mode = "append";
  }
  ListDef* existing = defs_.find_list(name);
  if (!mode.empty()) {
    if (!existing) {
      error(item, what, "cannot " + mode + " to a list that is not defined earlier");
      return;
    }
    if (mode == "append") {
      existing->items.insert(existing->items.end(), def.items.begin(), def.items.end());
      existing->item_quoted.insert(existing->item_quoted.end(), def.item_quoted.begin(),
                                   def.item_quoted.end());
    } else {
      existing->items = std::move(def.items);
      existing->item_quoted = std::move(def.item_quoted);
    }
    return;
  }
  if (existing) {
    *existing = std::move(def);  // a redefinition replaces, as in Falco
  } else {
    defs_.lists.push_back(std::move(def));
  }
}

void RuleLoader::FileContext::load_macro(const YAML::Node& item) {
  std::string name;
  if (!get_string(item, "macro", "", name) || name.empty()) {
    error(item, "", "macro has no name");
    return;
  }
  const std::string what = "macro '" + name + "'";
  std::string cond;
  if (!get_string(item, "condition", what, cond)) {
    if (!item["condition"]) error(item, what, "missing 'condition'");
    return;
  }
  for (const auto& kv : item) {
    std::string k = kv.first.Scalar();
    if (k != "macro" && k != "condition" && k != "append" && k != "override")
      warning(kv.first, what, "unknown key '" + k + "' ignored");
  }
  MacroDef def{name, map_scalar(item["condition"], cond), pos_of(item), builtin_};
  bool append = false;
  if (item["append"] && !get_bool(item["append"], what, "append", append)) return;
  std::string mode;
  if (item["override"]) {
    std::vector<std::pair<std::string, std::string>> ov;
    if (!parse_override(item, what, {"condition"}, {"condition"}, ov)) return;
    if (!ov.empty()) mode = ov[0].second;
  } else if (append) {
    mode = "append";
  }
  MacroDef* existing = defs_.find_macro(name);
  if (!mode.empty()) {
    if (!existing) {
      error(item, what, "cannot " + mode + " to a macro that is not defined earlier");
      return;
    }
    if (mode == "append") {
      existing->condition.append(def.condition, ' ');
    } else {
      existing->condition = std::move(def.condition);
    }
    return;
  }
  if (existing) {
    *existing = std::move(def);
  } else {
    defs_.macros.push_back(std::move(def));
  }
}

bool RuleLoader::FileContext::parse_exceptions(const YAML::Node& n, const std::string& item,
                                               std::vector<ExceptionDef>& out) {
  if (!n.IsSequence()) {
    error(n, item, "'exceptions' must be a list");
    return false;
  }
  for (const auto& e : n) {
    if (!e.IsMap()) {
      error(e, item, "every exception must be a mapping with 'name', 'fields', 'comps', 'values'");
      return false;
    }
    ExceptionDef ex;
    ex.pos = pos_of(e);
    if (!get_string(e, "name", item, ex.name) || ex.name.empty()) {
      error(e, item, "exception has no name");
      return false;
    }
    const std::string what = item + ", exception '" + ex.name + "'";
    for (const auto& kv : e) {
      std::string k = kv.first.Scalar();
      if (k != "name" && k != "fields" && k != "comps" && k != "values")
        warning(kv.first, what, "unknown key '" + k + "' ignored");
    }
    if (const YAML::Node f = e["fields"]) {
      if (f.IsScalar()) {
        ex.single_field = true;
        ex.fields.push_back(f.Scalar());
      } else if (!get_string_list(f, what, "fields", ex.fields)) {
        return false;
      }
    }
    if (const YAML::Node c = e["comps"]) {
      if (c.IsScalar()) {
        ex.comps.push_back(c.Scalar());
      } else if (!get_string_list(c, what, "comps", ex.comps)) {
        return false;
      }
    }
    if (!ex.fields.empty()) {
      if (ex.comps.empty()) ex.comps.assign(ex.fields.size(), ex.single_field ? "in" : "=");
      if (ex.comps.size() != ex.fields.size()) {
        error(e, what,
              "'fields' and 'comps' have different lengths (" + std::to_string(ex.fields.size()) +
                  " and " + std::to_string(ex.comps.size()) + ")");
        return false;
      }
      for (const auto& c : ex.comps) {
        if (!kValidComps.count(c)) {
          error(e["comps"], what, "unknown comparison operator '" + c + "'");
          return false;
        }
      }
    }
    if (const YAML::Node v = e["values"]) {
      if (!v.IsSequence()) {
        error(v, what, "'values' must be a list");
        return false;
      }
      if (ex.single_field) {
        std::vector<ExceptionValue> row;
        for (const auto& s : v) {
          if (!s.IsScalar()) {
            error(s, what, "values of a single-field exception must be strings");
            return false;
          }
          row.push_back(ExceptionValue{{s.Scalar()}, false});
        }
        ex.values.push_back(std::move(row));
      } else {
        for (const auto& row_node : v) {
          if (ex.fields.empty() && row_node.IsScalar()) {
            // An appended exception without `fields` takes the original's shape; a scalar row
            // adds one value to a single-field exception.
            ex.values.push_back({ExceptionValue{{row_node.Scalar()}, false}});
            continue;
          }
          if (!row_node.IsSequence()) {
            error(row_node, what, "every row of 'values' must be a list with one value per field");
            return false;
          }
          std::vector<ExceptionValue> row;
          for (const auto& cell : row_node) {
            ExceptionValue ev;
            if (cell.IsScalar()) {
              ev.items.push_back(cell.Scalar());
            } else if (cell.IsSequence()) {
              ev.is_list = true;
              for (const auto& s : cell) {
                if (!s.IsScalar()) {
                  error(s, what, "list values must be strings");
                  return false;
                }
                ev.items.push_back(s.Scalar());
              }
            } else {
              error(cell, what, "a value must be a string or a list of strings");
              return false;
            }
            row.push_back(std::move(ev));
          }
          if (!ex.fields.empty() && row.size() != ex.fields.size()) {
            error(row_node, what,
                  "row has " + std::to_string(row.size()) + " values for " +
                      std::to_string(ex.fields.size()) + " fields");
            return false;
          }
          ex.values.push_back(std::move(row));
        }
      }
    }
    out.push_back(std::move(ex));
  }
  return true;
}

void RuleLoader::FileContext::load_rule(const YAML::Node& item) {
  std::string name;
  if (!get_string(item, "rule", "", name) || name.empty()) {
    error(item, "", "rule has no name");
    return;
  }
  const std::string what = "rule '" + name + "'";
  static const std::set<std::string> kKnown = {
      "rule",          "desc",    "condition",       "output", "priority", "source",
      "tags",          "enabled", "exceptions",      "append", "override", "skip-if-unknown-filter",
      "warn_evttypes", "capture", "capture_duration"};
  for (const auto& kv : item) {
    std::string k = kv.first.Scalar();
    if (!kKnown.count(k)) warning(kv.first, what, "unknown key '" + k + "' ignored");
  }

  bool append = false;
  if (item["append"] && !get_bool(item["append"], what, "append", append)) return;
  std::vector<std::pair<std::string, std::string>> ov;
  if (item["override"]) {
    if (!parse_override(item, what, {"condition", "output", "desc", "tags", "exceptions"},
                        {"condition", "output", "desc", "priority", "tags", "exceptions", "enabled",
                         "warn_evttypes", "skip-if-unknown-filter"},
                        ov))
      return;
  } else if (append) {
    for (const char* k : {"condition", "exceptions"})
      if (item[k]) ov.emplace_back(k, "append");
    for (const auto& kv : item) {
      std::string k = kv.first.Scalar();
      if (k != "rule" && k != "append" && k != "condition" && k != "exceptions") {
        error(kv.first, what, "with 'append: true' only 'condition' and 'exceptions' may be set");
        return;
      }
    }
  }

  RuleDef* existing = defs_.find_rule(name);
  const bool enabled_only = !item["condition"] && item["enabled"] && !item["override"] && !append &&
                            !item["output"] && !item["desc"];
  if (!ov.empty() || append || enabled_only) {
    if (!existing) {
      error(item, what, "cannot modify a rule that is not defined earlier");
      return;
    }
    if (enabled_only) {
      get_bool(item["enabled"], what, "enabled", existing->enabled);
      return;
    }
    for (const auto& [key, mode] : ov) {
      const YAML::Node v = item[key];
      const bool app = mode == "append";
      if (key == "condition") {
        std::string s;
        if (!get_string(item, "condition", what, s)) return;
        MappedText t = map_scalar(v, s);
        if (app) {
          existing->condition.append(t, ' ');
        } else {
          existing->condition = std::move(t);
        }
      } else if (key == "output") {
        std::string s;
        if (!get_string(item, "output", what, s)) return;
        trim_right(s);
        existing->output = app ? existing->output + " " + s : s;
        if (!app) existing->output_pos = pos_of(v);
      } else if (key == "desc") {
        std::string s;
        if (!get_string(item, "desc", what, s)) return;
        existing->desc = app ? existing->desc + " " + s : s;
      } else if (key == "priority") {
        std::string s;
        if (!get_string(item, "priority", what, s)) return;
        auto p = parse_priority(s);
        if (!p) {
          error(v, what, "unknown priority '" + s + "'");
          return;
        }
        existing->priority = *p;
      } else if (key == "tags") {
        std::vector<std::string> tags;
        if (!get_string_list(v, what, "tags", tags)) return;
        if (!app) existing->tags.clear();
        existing->tags.insert(existing->tags.end(), tags.begin(), tags.end());
      } else if (key == "enabled") {
        get_bool(v, what, "enabled", existing->enabled);
      } else if (key == "warn_evttypes") {
        get_bool(v, what, "warn_evttypes", existing->warn_evttypes);
      } else if (key == "skip-if-unknown-filter") {
        get_bool(v, what, "skip-if-unknown-filter", existing->skip_if_unknown_filter);
      } else if (key == "exceptions") {
        std::vector<ExceptionDef> exs;
        if (!parse_exceptions(v, what, exs)) return;
        if (!app) {
          existing->exceptions = std::move(exs);
          continue;
        }
        for (auto& ex : exs) {
          auto it = std::find_if(existing->exceptions.begin(), existing->exceptions.end(),
                                 [&](const ExceptionDef& e) { return e.name == ex.name; });
          if (it == existing->exceptions.end()) {
            if (ex.fields.empty()) {
              error_at(ex.pos, what,
                       "appended exception '" + ex.name +
                           "' is not defined in the rule and has no 'fields'");
              return;
            }
            existing->exceptions.push_back(std::move(ex));
          } else {
            // Appended rows take the original's shape.
            for (auto& row : ex.values) {
              if (it->single_field) {
                if (it->values.empty()) it->values.emplace_back();
                it->values[0].insert(it->values[0].end(), row.begin(), row.end());
              } else {
                if (!it->fields.empty() && row.size() != it->fields.size()) {
                  error_at(ex.pos, what,
                           "appended row has " + std::to_string(row.size()) + " values for " +
                               std::to_string(it->fields.size()) + " fields");
                  return;
                }
                it->values.push_back(std::move(row));
              }
            }
          }
        }
      }
    }
    return;
  }

  RuleDef def;
  def.name = name;
  def.pos = pos_of(item);
  for (const char* key : {"condition", "output", "desc", "priority"}) {
    if (!item[key]) {
      error(item, what, std::string("missing '") + key + "'");
      return;
    }
  }
  std::string cond, prio;
  if (!get_string(item, "condition", what, cond)) return;
  def.condition = map_scalar(item["condition"], cond);
  if (!get_string(item, "output", what, def.output)) return;
  trim_right(def.output);
  def.output_pos = pos_of(item["output"]);
  if (!get_string(item, "desc", what, def.desc)) return;
  if (!get_string(item, "priority", what, prio)) return;
  auto p = parse_priority(prio);
  if (!p) {
    error(item["priority"], what,
          "unknown priority '" + prio +
              "' (one of Emergency, Alert, Critical, Error, Warning, "
              "Notice, Informational, Debug)");
    return;
  }
  def.priority = *p;
  if (item["source"] && !get_string(item, "source", what, def.source)) return;
  if (item["tags"] && !get_string_list(item["tags"], what, "tags", def.tags)) return;
  if (item["enabled"] && !get_bool(item["enabled"], what, "enabled", def.enabled)) return;
  if (item["skip-if-unknown-filter"] &&
      !get_bool(item["skip-if-unknown-filter"], what, "skip-if-unknown-filter",
                def.skip_if_unknown_filter))
    return;
  if (item["warn_evttypes"] &&
      !get_bool(item["warn_evttypes"], what, "warn_evttypes", def.warn_evttypes))
    return;
  if (item["exceptions"] && !parse_exceptions(item["exceptions"], what, def.exceptions)) return;
  if (existing) {
    *existing = std::move(def);
  } else {
    defs_.rules.push_back(std::move(def));
  }
}

void RuleLoader::FileContext::load_security_rule(const YAML::Node& doc) {
  const YAML::Node meta = doc["metadata"];
  std::string name, ns;
  if (meta && meta.IsMap()) {
    if (meta["name"] && meta["name"].IsScalar()) name = meta["name"].Scalar();
    if (meta["namespace"] && meta["namespace"].IsScalar()) ns = meta["namespace"].Scalar();
  }
  if (name.empty()) {
    error(doc, "", "SecurityRule has no metadata.name");
    return;
  }
  const std::string what = "SecurityRule '" + (ns.empty() ? name : ns + "/" + name) + "'";
  if (doc["apiVersion"] && doc["apiVersion"].IsScalar() &&
      doc["apiVersion"].Scalar() != "vigil.dev/v1alpha1") {
    error(doc["apiVersion"], what,
          "unsupported apiVersion '" + doc["apiVersion"].Scalar() +
              "' (expected vigil.dev/v1alpha1)");
    return;
  }
  const YAML::Node spec = doc["spec"];
  if (!spec || !spec.IsMap()) {
    error(doc, what, "missing 'spec'");
    return;
  }
  static const std::set<std::string> kKnown = {"source",   "description", "condition", "output",
                                               "priority", "tags",        "enabled",   "exceptions",
                                               "macros",   "lists",       "mode",      "rateLimit"};
  for (const auto& kv : spec) {
    std::string k = kv.first.Scalar();
    if (!kKnown.count(k)) warning(kv.first, what, "unknown key 'spec." + k + "' ignored");
  }
  RuleDef def;
  def.name = name;
  def.object_namespace = ns;
  def.pos = pos_of(doc);
  std::string cond, prio = "Warning";
  if (!spec["condition"]) {
    error(spec, what, "missing 'spec.condition'");
    return;
  }
  if (!get_string(spec, "condition", what, cond)) return;
  def.condition = map_scalar(spec["condition"], cond);
  if (!spec["output"]) {
    error(spec, what, "missing 'spec.output'");
    return;
  }
  if (!get_string(spec, "output", what, def.output)) return;
  trim_right(def.output);
  def.output_pos = options_.positions_in_values ? ast::Pos{1, 1, file_} : pos_of(spec["output"]);
  if (spec["description"]) get_string(spec, "description", what, def.desc);
  if (spec["priority"] && !get_string(spec, "priority", what, prio)) return;
  auto p = parse_priority(prio);
  if (!p) {
    error(spec["priority"], what, "unknown priority '" + prio + "'");
    return;
  }
  def.priority = *p;
  if (spec["source"] && !get_string(spec, "source", what, def.source)) return;
  if (spec["tags"] && !get_string_list(spec["tags"], what, "tags", def.tags)) return;
  if (spec["enabled"] && !get_bool(spec["enabled"], what, "enabled", def.enabled)) return;
  if (spec["exceptions"] && !parse_exceptions(spec["exceptions"], what, def.exceptions)) return;
  if (spec["mode"]) {
    std::string mode;
    get_string(spec, "mode", what, mode);
    if (mode == "Alert") {
      def.mode = RuleMode::kAlert;
    } else if (mode == "DryRun") {
      def.mode = RuleMode::kDryRun;
    } else {
      error(spec["mode"], what, "unknown mode '" + mode + "' (Alert or DryRun)");
      return;
    }
  }
  if (const YAML::Node macros = spec["macros"]) {
    if (!macros.IsMap()) {
      error(macros, what, "'spec.macros' must map macro names to conditions");
      return;
    }
    for (const auto& kv : macros) {
      if (!kv.second.IsScalar()) {
        error(kv.second, what, "macro '" + kv.first.Scalar() + "' must be a condition string");
        return;
      }
      def.local_macros.push_back(MacroDef{
          kv.first.Scalar(), map_scalar(kv.second, kv.second.Scalar()), pos_of(kv.first), false});
    }
  }
  if (const YAML::Node lists = spec["lists"]) {
    if (!lists.IsMap()) {
      error(lists, what, "'spec.lists' must map list names to lists of strings");
      return;
    }
    for (const auto& kv : lists) {
      std::vector<std::string> raw;
      if (!get_string_list(kv.second, what, kv.first.Scalar().c_str(), raw)) return;
      ListDef l{kv.first.Scalar(), {}, {}, pos_of(kv.first), false};
      for (const auto& s : raw) {
        bool quoted = false;
        l.items.push_back(unquote_item(s, quoted));
        l.item_quoted.push_back(quoted);
      }
      def.local_lists.push_back(std::move(l));
    }
  }
  // DESIGN.md §2 scoping: the operator marks rules in its own namespace cluster-wide; a rule
  // loaded from a file is cluster-wide too. The operator sets cluster_scope=false for tenants.
  def.cluster_scope = options_.cluster_namespace.empty() || ns == options_.cluster_namespace;
  RuleDef* existing = defs_.find_rule(name);
  if (existing && existing->object_namespace == ns) {
    error(doc, what, "defined twice");
    return;
  }
  defs_.rules.push_back(std::move(def));
}

bool RuleLoader::load_text(const std::string& name, std::string_view text, bool builtin) {
  FileContext ctx(defs_, diags_, name, text, builtin, options_);
  return ctx.load();
}

bool RuleLoader::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags_.error(path, {}, "", "cannot open file");
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_text(path, ss.str());
}

bool RuleLoader::load_builtin_library() {
  bool ok = true;
  for (const auto& f : embedded_rule_files()) {
    if (!f.name.starts_with("default/")) {
      ok = load_text("<builtin>/" + std::string(f.name), f.text, true) && ok;
    }
  }
  return ok;
}

bool RuleLoader::load_default_rules() {
  bool ok = true;
  for (const auto& f : embedded_rule_files()) {
    if (f.name.starts_with("default/")) {
      ok = load_text("<builtin>/" + std::string(f.name), f.text) && ok;
    }
  }
  return ok;
}

}  // namespace vigil::rules
