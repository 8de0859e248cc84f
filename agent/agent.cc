#include "agent/agent.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "agent/alert_writer.h"
#include "agent/capture.h"
#include "agent/metrics.h"
#include "agent/probe.h"
#include "agent/rule_files.h"
#include "common/http/server.h"
#include "fmt/format.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace vigil::agent {
namespace {

void log_loaded(const LoadedRules& r, const AgentConfig& config) {
  for (const auto& w : r.warnings) spdlog::warn("{}", w);
  spdlog::info("Loaded {} syscall rules from {} file(s){}{}", r.syscall_rules, r.files.size(),
               config.default_rules ? " and the default rules" : "",
               r.other_rules > 0 ? fmt::format(" ({} rules of other sources are not evaluated "
                                               "by the agent)",
                                               r.other_rules)
                                 : "");
}

}  // namespace

int run_agent(const AgentConfig& config) {
  auto level = spdlog::level::from_str(config.log_level);
  // Logs go to stderr; stdout carries alerts only. Every logger (probe, ...) shares the format.
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "vigil-agent", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  spdlog::set_level(level);

  auto loaded = load_rules(config);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\nvigil-agent: the rules failed to compile; nothing was started\n",
                 loaded.error().c_str());
    return 1;
  }
  log_loaded(*loaded, config);
  if (config.validate_only) {
    std::printf("%zu syscall rules OK (%zu files%s)\n", loaded->syscall_rules, loaded->files.size(),
                config.default_rules ? " and the default rules" : "");
    return 0;
  }
  if (loaded->syscall_rules == 0) {
    spdlog::warn("No syscall rule is enabled: the agent captures process state only");
  }

  // Signals are handled synchronously by this thread; every thread started below inherits the
  // mask, so none of them is interrupted.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  AlertWriterOptions wopts;
  wopts.to_stdout = config.stdout_alerts;
  wopts.stdout_format = config.stdout_format;
  wopts.file = config.output_file;
  wopts.queue_limit = config.alert_queue;
  auto writer = AlertWriter::start(wopts);
  if (!writer.ok()) {
    std::fprintf(stderr, "vigil-agent: %s\n", writer.error().c_str());
    return 1;
  }

  auto capture = Capture::start(config, loaded->rule_set, **writer);
  if (!capture.ok()) {
    std::fprintf(stderr, "vigil-agent: %s\n", capture.error().c_str());
    return 3;
  }
  for (const auto& t : (*capture)->uncaptured_types()) {
    spdlog::warn(
        "Rules use evt.type={} which the agent does not capture; those conditions "
        "never match",
        t);
  }
  const auto& probe = (*capture)->probe();
  spdlog::info("Attached {} BPF programs{}", probe.attached().size(),
               probe.skipped().empty()
                   ? std::string()
                   : fmt::format(" ({} skipped: no such tracepoint on this kernel)",
                                 probe.skipped().size()));

  std::unique_ptr<http::HttpServer> server;
  if (config.health_enabled) {
    Capture* cap = capture->get();
    AlertWriter* w = writer->get();
    http::ServerOptions sopts;
    sopts.address = config.health_address;
    sopts.port = config.health_port;
    sopts.body_limit = 4096;
    sopts.name = "agent-health";
    auto healthz = [cap](const http::Request&) {
      http::Response r;
      const bool ok = cap->healthy(5000);
      r.status = ok ? 200 : 503;
      r.body = ok ? "ok\n" : "capture thread stalled\n";
      return r;
    };
    auto started = http::HttpServer::start(
        sopts, {http::route("GET", "/healthz", healthz), http::route("GET", "/readyz", healthz),
                http::route("GET", "/metrics", [cap, w](const http::Request&) {
                  http::Response r;
                  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                  r.body = render_metrics(*cap, *w);
                  return r;
                })});
    if (!started.ok()) {
      std::fprintf(stderr, "vigil-agent: starting the health server on %s:%u failed: %s\n",
                   config.health_address.c_str(), config.health_port, started.error().c_str());
      return 1;
    }
    server = std::move(started).value();
  }
  spdlog::info("Capturing: {} syscall rules, health and metrics on {}", loaded->syscall_rules,
               server ? fmt::format("http://{}:{}/", config.health_address, server->port())
                      : std::string("(off)"));

  uint64_t fingerprint = rule_files_fingerprint(config);
  auto last_check = std::chrono::steady_clock::now();
  int exit_code = 0;
  for (;;) {
    timespec timeout{1, 0};
    const int sig = sigtimedwait(&sigs, nullptr, &timeout);
    bool reload = false;
    if (sig == SIGINT || sig == SIGTERM) {
      spdlog::info("Received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
    }
    if (sig == SIGHUP) {
      spdlog::info("Received SIGHUP, reloading rules");
      reload = true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!reload && config.rules_poll_seconds > 0 &&
        now - last_check >= std::chrono::seconds(config.rules_poll_seconds)) {
      last_check = now;
      const uint64_t fp = rule_files_fingerprint(config);
      if (fp != fingerprint) {
        spdlog::info("Rule files changed, reloading rules");
        reload = true;
      }
    }
    if (!reload) continue;
    fingerprint = rule_files_fingerprint(config);
    auto next = load_rules(config);
    if (!next.ok()) {
      spdlog::error("Reloading rules failed; the previous rules stay in effect:\n{}", next.error());
      continue;
    }
    for (const auto& w : next->warnings) spdlog::warn("{}", w);
    const uint64_t gen = (*capture)->swap_rules(next->rule_set);
    spdlog::info("Reloaded rules: {} syscall rules, generation {}", next->syscall_rules, gen);
    for (const auto& t : (*capture)->uncaptured_types()) {
      spdlog::warn("Rules use evt.type={} which the agent does not capture", t);
    }
  }

  (*capture)->stop();
  (*writer)->stop();
  if (server) server->stop();
  return exit_code;
}

}  // namespace vigil::agent
