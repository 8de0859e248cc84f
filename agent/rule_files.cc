#include "agent/rule_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string_view>

#include "common/rules/compiler.h"
#include "common/rules/rule_loader.h"

namespace vigil::agent {
namespace {

namespace fs = std::filesystem;

bool is_rule_file(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

// Files of one --rules argument; a missing path or an empty directory is an error.
Result<std::vector<std::string>> expand(const std::string& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return make_error(path + ": no such file or directory");
  if (!fs::is_directory(st)) return std::vector<std::string>{path};
  std::vector<std::string> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && is_rule_file(it->path())) files.push_back(it->path().string());
  }
  if (ec) return make_error(path + ": " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) return make_error(path + ": no *.yaml or *.yml files in this directory");
  return files;
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

uint64_t mix(uint64_t h, std::string_view s) {
  for (char c : s) h = mix(h, static_cast<unsigned char>(c));
  return h;
}

}  // namespace

Result<LoadedRules> load_rules(const AgentConfig& config) {
  LoadedRules out;
  rules::RuleDefs defs;
  Diagnostics diags;
  rules::RuleLoader loader(defs, diags);
  if (config.builtin_library) loader.load_builtin_library();
  if (config.default_rules) loader.load_default_rules();
  for (const auto& p : config.rule_paths) {
    auto files = expand(p);
    if (!files.ok()) return make_error(files.error());
    for (const auto& f : *files) {
      loader.load_file(f);
      out.files.push_back(f);
    }
  }
  rules::CompileOptions opts;
  opts.warn_unused = false;
  auto compiled = rules::compile_rules(defs, opts);
  diags.append(compiled.diagnostics);
  if (diags.has_errors()) {
    std::string msg;
    for (const auto& d : diags.items()) {
      if (d.severity == Severity::kError) msg += d.to_string() + "\n";
    }
    msg += std::to_string(diags.error_count()) + " error(s) in the rules";
    return make_error(msg);
  }
  for (const auto& d : diags.items()) out.warnings.push_back(d.to_string());
  for (const auto& s : compiled.statuses) {
    if (!s.accepted || !s.enabled) continue;
    (s.source == "syscall" ? out.syscall_rules : out.other_rules)++;
  }
  out.rule_set = compiled.rule_set;
  return out;
}

uint64_t rule_files_fingerprint(const AgentConfig& config) {
  uint64_t h = 1469598103934665603ull;
  for (const auto& p : config.rule_paths) {
    h = mix(h, p);
    auto files = expand(p);
    if (!files.ok()) {
      h = mix(h, 0xdeadull);
      continue;
    }
    for (const auto& f : *files) {
      struct stat st {};
      h = mix(h, f);
      if (::stat(f.c_str(), &st) == 0) {
        h = mix(h, static_cast<uint64_t>(st.st_size));
        h = mix(h, static_cast<uint64_t>(st.st_ino));
        h = mix(h, static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
                       static_cast<uint64_t>(st.st_mtim.tv_nsec));
      }
    }
  }
  return h;
}

}  // namespace vigil::agent
