#pragma once

#include <string>
#include <vector>

namespace vigil::cli {

int run_lint(const std::vector<std::string>& args);
int run_test(const std::vector<std::string>& args);
// vigilctl sink test|list (sink_command.cc).
int run_sink(const std::vector<std::string>& args);
// vigilctl audit-config (audit_config_command.cc).
int run_audit_config(const std::vector<std::string>& args);

}  // namespace vigil::cli
