#pragma once

// What the tests of Vigil's default rule files share (default_rules_test.cc for the syscall
// rules, default_audit_rules_test.cc for the k8s_audit ones): the files, their SecurityRule
// documents, running them with the real vigilctl, and reading its alerts.

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "test/cli/cli_runner.h"

namespace vigil::test {

inline std::string source_path(const std::string& rel) {
  return std::string(VIGIL_SOURCE_DIR) + "/" + rel;
}

// rules/default/*.yaml, sorted.
inline std::vector<std::string> default_rule_files() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(source_path("rules/default"), ec)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string join_files(const std::vector<std::string>& files) {
  std::string s;
  for (const auto& f : files) s += (s.empty() ? "" : " ") + f;
  return s;
}

// The SecurityRule documents of `files` whose spec.source is `source` ("": every one).
inline std::vector<YAML::Node> security_rule_documents(const std::vector<std::string>& files,
                                                       const std::string& source) {
  std::vector<YAML::Node> docs;
  for (const auto& f : files) {
    for (const auto& d : YAML::LoadAllFromFile(f)) {
      if (d.IsMap() && d["kind"] && d["kind"].as<std::string>() == "SecurityRule" &&
          (source.empty() || d["spec"]["source"].as<std::string>() == source)) {
        docs.push_back(d);
      }
    }
  }
  return docs;
}

inline std::vector<std::string> names_of(const std::vector<YAML::Node>& docs) {
  std::vector<std::string> names;
  for (const auto& d : docs) names.push_back(d["metadata"]["name"].as<std::string>());
  return names;
}

// The Falco JSON alerts in vigilctl's --json output (the summary lines are not JSON).
inline std::vector<nlohmann::json> alerts_of(const std::string& out) {
  std::vector<nlohmann::json> alerts;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) alerts.push_back(std::move(j));
  }
  return alerts;
}

// `vigilctl test` with every default rule file loaded, as the operator and users do.
inline CliResult run_default_rules(const std::string& events, const std::string& hostname,
                                   bool json) {
  return run_cli(std::string("test ") + (json ? "--json " : "") + "--hostname " + hostname +
                 " --rules " + join_files(default_rule_files()) + " --events " + events);
}

// A YAML node as the JSON the API server would store (kubectl's conversion: plain scalars that
// read as booleans, null or integers become those; quoted ones stay strings).
inline nlohmann::json to_json_value(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Sequence: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& e : n) a.push_back(to_json_value(e));
      return a;
    }
    case YAML::NodeType::Map: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& kv : n) o[kv.first.Scalar()] = to_json_value(kv.second);
      return o;
    }
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;
  if (s == "true" || s == "True") return true;
  if (s == "false" || s == "False") return false;
  if (s == "null" || s == "~") return nullptr;
  if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-')) {
    char* end = nullptr;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (end && *end == '\0') return v;
  }
  return s;
}

}  // namespace vigil::test
