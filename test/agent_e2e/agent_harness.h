#pragma once

// Starts the real vigil-agent binary for end-to-end tests and reads the alerts it writes.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace vigil::test {

// A directory under /tmp removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);
// A TCP port free on 127.0.0.1 right now.
int free_port();
// GET http://127.0.0.1:port/path; returns the status (0 on connection failure) and the body.
int http_get(int port, const std::string& path, std::string* body = nullptr);
// Runs `sh -c cmd`, returns the exit status (or -1).
int run(const std::string& cmd);

class AgentProcess {
 public:
  // Starts vigil-agent with `args` plus --output-file, --no-stdout and --health-addr, and waits
  // for /healthz. Fails the current test (ADD_FAILURE) with the agent's stderr when it does not
  // come up.
  bool start(const std::vector<std::string>& args, bool stdout_alerts = false);
  ~AgentProcess();
  // SIGTERM and wait; returns the exit status.
  int stop();
  void signal(int sig) const;

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  std::string stderr_text() const { return read_file(stderr_path_); }
  std::string stdout_text() const { return read_file(stdout_path_); }
  // Every alert written so far, parsed.
  std::vector<nlohmann::json> alerts() const;
  // Alerts of `rule` whose JSON text contains `needle`, waiting up to `timeout` for at least
  // `count` of them.
  std::vector<nlohmann::json> wait_alerts(
      const std::string& rule, const std::string& needle, size_t count = 1,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(8000)) const;
  // A metric's value from /metrics (sum over all label sets matching `labels`, e.g.
  // `rule="X"`); -1 when absent.
  double metric(const std::string& name, const std::string& labels = "") const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  TempDir dir_;
  std::string stderr_path_, stdout_path_, alerts_path_;
};

// Waits until `pred` is true or the timeout passes.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(8000));

}  // namespace vigil::test
