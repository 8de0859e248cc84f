#pragma once

// vigil-agent standalone: rules from files (or the embedded defaults) → capture → alerts on
// stdout/file, /healthz and /metrics, reload on SIGHUP or file change. main.cc only parses flags
// and calls run_agent().

#include "agent/agent_config.h"

namespace vigil::agent {

// Runs until SIGINT/SIGTERM. Returns the process exit code: 0 clean stop, 1 rules or startup
// failed (message on stderr), 3 BPF or privileges refused.
int run_agent(const AgentConfig& config);

}  // namespace vigil::agent
