// vigil-agent: flags → config → run_agent (agent/agent.cc). Nothing else lives here.

#include <cstdio>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/agent_config.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto config = vigil::agent::parse_agent_args(args);
  if (!config.ok()) {
    if (config.error().empty()) {
      std::fputs(vigil::agent::kAgentUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "vigil-agent: %s\n\n%s", config.error().c_str(),
                 vigil::agent::kAgentUsage);
    return 2;
  }
  return vigil::agent::run_agent(*config);
}
