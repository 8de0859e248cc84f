#include "agent/agent_config.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>

namespace vigil::agent {
namespace {

// "8M", "512K", "4096" -> bytes; false on junk or overflow.
bool parse_size(std::string_view s, uint64_t& out) {
  uint64_t mult = 1;
  if (!s.empty()) {
    const char last = s.back();
    if (last == 'K' || last == 'k') mult = 1u << 10;
    if (last == 'M' || last == 'm') mult = 1u << 20;
    if (last == 'G' || last == 'g') mult = 1u << 30;
    if (mult != 1) s.remove_suffix(1);
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return false;
  if (v > UINT64_MAX / mult) return false;
  out = v * mult;
  return true;
}

bool parse_uint(std::string_view s, uint64_t max, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty() && out <= max;
}

}  // namespace

Result<AgentConfig> parse_agent_args(const std::vector<std::string>& raw_args) {
  // "--flag=value" is "--flag value" (Kubernetes manifests write args that way).
  std::vector<std::string> args;
  args.reserve(raw_args.size());
  for (const std::string& a : raw_args) {
    const size_t eq = a.find('=');
    if (a.starts_with("--") && eq != std::string::npos && eq > 2) {
      args.push_back(a.substr(0, eq));
      args.push_back(a.substr(eq + 1));
    } else {
      args.push_back(a);
    }
  }
  AgentConfig c;
  bool explicit_default = false, no_default = false, in_rules = false, explicit_output = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) -> bool {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") return Error{"", 0};
    if (a == "--rules") {
      in_rules = true;
      if (i + 1 >= args.size() || args[i + 1].starts_with("--"))
        return make_error("--rules needs at least one file or directory");
      continue;
    }
    if (!a.starts_with("-")) {
      if (!in_rules) return make_error("unexpected argument '" + a + "'");
      c.rule_paths.push_back(a);
      continue;
    }
    in_rules = false;
    if (a == "--default-rules") {
      explicit_default = true;
    } else if (a == "--no-default-rules") {
      no_default = true;
    } else if (a == "--no-builtin") {
      c.builtin_library = false;
    } else if (a == "--validate") {
      c.validate_only = true;
    } else if (a == "--no-stdout") {
      c.stdout_alerts = false;
    } else if (a == "--output") {
      explicit_output = true;
      if (!value(v)) return make_error("--output needs text or json");
      if (v == "text") {
        c.stdout_format = OutputFormat::kText;
      } else if (v == "json") {
        c.stdout_format = OutputFormat::kJson;
      } else {
        return make_error("--output: expected text or json, got '" + v + "'");
      }
    } else if (a == "--output-file") {
      if (!value(c.output_file) || c.output_file.empty())
        return make_error("--output-file needs a file name");
    } else if (a == "--ring-bytes" || a == "--wakeup-bytes") {
      uint64_t n = 0;
      if (!value(v) || !parse_size(v, n)) return make_error(a + ": expected a size like 8M");
      if (a == "--ring-bytes") {
        if (n < 4096 || n > (1ull << 30)) return make_error("--ring-bytes: must be 4K..1G");
        c.ring_bytes = static_cast<uint32_t>(n);
      } else {
        if (n > (1ull << 30)) return make_error("--wakeup-bytes: at most 1G");
        c.wakeup_bytes = static_cast<uint32_t>(n);
      }
    } else if (a == "--drop-alert-seconds" || a == "--rules-poll-seconds") {
      uint64_t n = 0;
      if (!value(v) || !parse_uint(v, 86400, n)) return make_error(a + ": expected 0..86400");
      (a == "--drop-alert-seconds" ? c.drop_alert_seconds : c.rules_poll_seconds) =
          static_cast<uint32_t>(n);
    } else if (a == "--health-addr") {
      if (!value(v)) return make_error("--health-addr needs HOST:PORT or off");
      if (v == "off") {
        c.health_enabled = false;
        continue;
      }
      const size_t colon = v.rfind(':');
      uint64_t port = 0;
      if (colon == std::string::npos || !parse_uint(v.substr(colon + 1), 65535, port))
        return make_error("--health-addr: expected HOST:PORT, got '" + v + "'");
      c.health_address = v.substr(0, colon);
      if (c.health_address.empty()) c.health_address = "0.0.0.0";
      c.health_port = static_cast<uint16_t>(port);
    } else if (a == "--kubeconfig") {
      if (!value(c.kubeconfig) || c.kubeconfig.empty())
        return make_error("--kubeconfig needs a file");
    } else if (a == "--spool-dir") {
      if (!value(c.spool_dir) || c.spool_dir.empty())
        return make_error("--spool-dir needs a directory or 'off'");
      if (c.spool_dir == "off") c.spool_dir.clear();
    } else if (a == "--in-cluster") {
      c.in_cluster = true;
    } else if (a == "--node-name") {
      if (!value(c.node_name) || c.node_name.empty()) return make_error("--node-name needs a name");
    } else if (a == "--namespace") {
      if (!value(c.ns) || c.ns.empty()) return make_error("--namespace needs a namespace");
    } else if (a == "--heartbeat-seconds" || a == "--report-seconds") {
      uint64_t n = 0;
      if (!value(v) || !parse_uint(v, 3600, n) || n == 0)
        return make_error(a + ": expected 1..3600");
      (a == "--heartbeat-seconds" ? c.heartbeat_seconds : c.report_seconds) =
          static_cast<uint32_t>(n);
    } else if (a == "--hostname") {
      if (!value(c.hostname) || c.hostname.empty()) return make_error("--hostname needs a name");
    } else if (a == "--log-level") {
      if (!value(c.log_level)) return make_error("--log-level needs a level");
      static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
      bool ok = false;
      for (const char* l : kLevels) ok = ok || c.log_level == l;
      if (!ok) return make_error("--log-level: unknown level '" + c.log_level + "'");
    } else {
      return make_error("unknown option '" + a + "'");
    }
  }
  if (explicit_default && no_default)
    return make_error("--default-rules and --no-default-rules contradict each other");
  if (!c.kubeconfig.empty() && c.in_cluster)
    return make_error("--kubeconfig and --in-cluster contradict each other");
  if (c.cluster_mode()) {
    // Rules come from the bundle the operator publishes; files would shadow it silently.
    if (!c.rule_paths.empty() || explicit_default)
      return make_error(
          "--rules and --default-rules cannot be used with --kubeconfig/--in-cluster: in a "
          "cluster the rules come from the operator's bundle");
    c.default_rules = false;
    c.rules_poll_seconds = 0;
    // Alerts go to the AlertSinks (a stdout sink prints them); --output adds this agent's own.
    if (!explicit_output) c.stdout_alerts = false;
  } else {
    c.default_rules = no_default ? false : (explicit_default || c.rule_paths.empty());
    if (!c.default_rules && c.rule_paths.empty())
      return make_error("no rules: give --rules PATH or drop --no-default-rules");
  }
  if (c.hostname.empty()) {
    char buf[256] = {};
    if (gethostname(buf, sizeof(buf) - 1) == 0) c.hostname = buf;
  }
  if (c.node_name.empty()) {
    const char* env = std::getenv("NODE_NAME");
    c.node_name = env && *env ? env : c.hostname;
  }
  if (c.report_seconds > c.heartbeat_seconds)
    return make_error("--report-seconds must not exceed --heartbeat-seconds");
  return c;
}

}  // namespace vigil::agent
