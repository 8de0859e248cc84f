#include "cli/manifests.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace vigil::cli {
namespace {

// Nesting bound: a manifest is small; deeper input is refused rather than recursed into.
constexpr int kMaxDepth = 64;

Result<nlohmann::json> scalar_to_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  // "!" marks a quoted or block scalar (and an explicit !!str): always a string.
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return nlohmann::json(s);
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nlohmann::json();
  if (s == "true" || s == "True" || s == "TRUE") return nlohmann::json(true);
  if (s == "false" || s == "False" || s == "FALSE") return nlohmann::json(false);
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (std::regex_match(s, kInt)) {
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end && *end == '\0') return nlohmann::json(static_cast<int64_t>(v));
    return nlohmann::json(s);  // out of range: kept as written
  }
  if (std::regex_match(s, kFloat)) {
    const double v = std::strtod(s.c_str(), nullptr);
    if (std::isfinite(v)) return nlohmann::json(v);
  }
  return nlohmann::json(s);
}

Result<nlohmann::json> to_json(const YAML::Node& n, int depth) {
  if (depth > kMaxDepth) return make_error("nested deeper than " + std::to_string(kMaxDepth));
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nlohmann::json();
    case YAML::NodeType::Scalar:
      return scalar_to_json(n);
    case YAML::NodeType::Sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& item : n) {
        auto v = to_json(item, depth + 1);
        if (!v.ok()) return v;
        arr.push_back(std::move(v).value());
      }
      return arr;
    }
    case YAML::NodeType::Map: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) return make_error("a mapping key is not a scalar");
        auto v = to_json(kv.second, depth + 1);
        if (!v.ok()) return v;
        obj[kv.first.Scalar()] = std::move(v).value();
      }
      return obj;
    }
  }
  return nlohmann::json();
}

// Splits a YAML stream at "---" lines. yaml-cpp 0.7's LoadAll can loop forever on malformed
// input (jbeder/yaml-cpp#1040), so each document is loaded on its own with Load.
std::vector<std::string> split_documents(const std::string& text) {
  std::vector<std::string> docs(1);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const bool marker = line.starts_with("---") &&
                        (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (marker) {
      docs.emplace_back();
      line.erase(0, 3);  // "--- {...}" may carry the document on the marker line
    }
    docs.back() += line;
    docs.back() += '\n';
  }
  return docs;
}

std::string string_at(const nlohmann::json& obj, const char* a, const char* b = nullptr) {
  const nlohmann::json* p = &obj;
  for (const char* k : {a, b}) {
    if (!k) break;
    if (!p->is_object() || !p->contains(k)) return "";
    p = &(*p)[k];
  }
  return p->is_string() ? p->get<std::string>() : "";
}

void add_object(nlohmann::json obj, const std::string& origin, std::vector<Manifest>& out) {
  const std::string kind = string_at(obj, "kind");
  if ((kind == "List" || (kind.size() > 4 && kind.ends_with("List"))) && obj.contains("items") &&
      obj["items"].is_array()) {
    size_t i = 0;
    for (auto& item : obj["items"])
      add_object(item, origin + ", items[" + std::to_string(i++) + "]", out);
    return;
  }
  Manifest m;
  m.kind = kind;
  m.name = string_at(obj, "metadata", "name");
  m.ns = string_at(obj, "metadata", "namespace");
  m.json = obj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  m.origin = origin;
  out.push_back(std::move(m));
}

}  // namespace

Result<std::vector<Manifest>> read_manifests(const std::string& path) {
  std::string text;
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return make_error(path + ": cannot read the file");
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::vector<Manifest> out;
  size_t n = 0;
  for (const auto& doc : split_documents(text)) {
    if (doc.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    const std::string origin = path + ", document " + std::to_string(++n);
    YAML::Node node;
    try {
      node = YAML::Load(doc);
    } catch (const YAML::Exception& e) {
      return make_error(origin + ": invalid YAML at line " + std::to_string(e.mark.line + 1) +
                        " of the document: " + e.msg);
    }
    if (!node || node.IsNull()) continue;
    if (!node.IsMap()) return make_error(origin + ": not a Kubernetes object (a mapping)");
    auto obj = to_json(node, 0);
    if (!obj.ok()) return make_error(origin + ": " + obj.error());
    add_object(std::move(obj).value(), origin, out);
  }
  return out;
}

}  // namespace vigil::cli
