// vigilctl: Vigil's command-line tool. Lints rules and tests them against recorded events
// before they are deployed; sends test alerts through AlertSinks.

#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr const char* kUsage = R"(vigilctl - Vigil's command-line tool

Usage:
  vigilctl lint [--no-builtin] [--no-warnings] FILE...
      Check Falco rule files or SecurityRule YAML. Prints problems as
      file:line:col: error|warning: ... and exits 1 when there is an error.

  vigilctl test --rules FILE... --events FILE [--json] [--no-builtin] [--hostname NAME]
      Evaluate recorded events against the rules and print the alerts they raise.
      Events: audit.k8s.io/v1 Event or EventList JSON, JSON lines of either, or JSON
      lines of syscall events (docs/syscall-events.md). Use - to read standard input.

  vigilctl sink test NAME [-n NAMESPACE] [--kubeconfig FILE] [--priority P] [--timeout S] [--dry-run]
  vigilctl sink test [NAME] --file SINK.yaml [--secrets SECRETS.yaml]... [--dry-run]
      Send one test alert (rule "Vigil test alert", priority Debug) through an AlertSink,
      as Falcosidekick's /test does, and print the destination's answer. The AlertSink and
      the Secrets it references come from the cluster (default namespace vigil-system) or,
      with --file, from manifests, to try a sink before applying it. --dry-run prints the
      request instead. See vigilctl sink --help.

  vigilctl sink list [-n NAMESPACE | -A] [--kubeconfig FILE]
      The AlertSinks with their type, Accepted, Ready, delivered, failed and dropped.

  vigilctl audit-config --ca-file FILE [--service NAME] [-n NS] [--port N] [--url URL]
                        [--client-cert FILE --client-key FILE | --token-file FILE]
                        [--policy-only | --kubeconfig-only] [--out-dir DIR]
      Render the API server's audit policy and the webhook kubeconfig that sends its audit
      events to Vigil's operator, with the kube-apiserver flags and the kubeadm snippet.
      See vigilctl audit-config --help (managed clusters too).

  vigilctl help | --help | -h
  vigilctl version

Vigil's built-in macro and list library (spawned_process, container, open_write,
shell_procs, kcreate, ...) is loaded before the given files unless --no-builtin is set.

Exit status: 0 success, 1 rule errors, failed events or a test alert not sent, 2 usage errors.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "lint") return vigil::cli::run_lint(args);
  if (cmd == "test") return vigil::cli::run_test(args);
  if (cmd == "sink") return vigil::cli::run_sink(args);
  if (cmd == "audit-config") return vigil::cli::run_audit_config(args);
  if (cmd == "version" || cmd == "--version") {
    std::puts("vigilctl 0.1.0 (rule engine compatible with Falco engine 0.57.0)");
    return 0;
  }
  std::fprintf(stderr, "vigilctl: unknown command '%s'\n\n%s", cmd.c_str(), kUsage);
  return 2;
}
