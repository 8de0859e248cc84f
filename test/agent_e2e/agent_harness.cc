#include "test/agent_e2e/agent_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

namespace vigil::test {

TempDir::TempDir() {
  char tmpl[] = "/tmp/vigil-e2e-XXXXXX";
  path_ = ::mkdtemp(tmpl);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  // Write to a temporary name and rename: a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int http_get(int port, const std::string& path, std::string* body) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return 0;
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string resp;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (resp.size() < 12) return 0;
  const int status = std::atoi(resp.c_str() + 9);
  if (body != nullptr) {
    const size_t p = resp.find("\r\n\r\n");
    *body = p == std::string::npos ? "" : resp.substr(p + 4);
  }
  return status;
}

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool AgentProcess::start(const std::vector<std::string>& args, bool stdout_alerts) {
  port_ = free_port();
  stderr_path_ = dir_.file("agent.stderr");
  stdout_path_ = dir_.file("agent.stdout");
  alerts_path_ = dir_.file("alerts.jsonl");
  std::vector<std::string> argv = {VIGIL_AGENT};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--output-file", alerts_path_, "--health-addr",
                           "127.0.0.1:" + std::to_string(port_), "--rules-poll-seconds", "1"});
  if (!stdout_alerts) argv.emplace_back("--no-stdout");
  pid_ = ::fork();
  if (pid_ == 0) {
    const int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int out = ::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(err, 2);
    ::dup2(out, 1);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    _exit(127);
  }
  const bool up = eventually(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;  // exited: reported below
        }
        return http_get(port_, "/healthz") == 200;
      },
      std::chrono::milliseconds(20000));
  if (!up || pid_ < 0) {
    ADD_FAILURE() << "vigil-agent did not come up; stderr:\n" << stderr_text();
    return false;
  }
  return true;
}

AgentProcess::~AgentProcess() {
  if (pid_ > 0) stop();
}

void AgentProcess::signal(int sig) const {
  if (pid_ > 0) ::kill(pid_, sig);
}

int AgentProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<nlohmann::json> AgentProcess::alerts() const {
  std::vector<nlohmann::json> out;
  std::istringstream in(read_file(alerts_path_));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

std::vector<nlohmann::json> AgentProcess::wait_alerts(const std::string& rule,
                                                      const std::string& needle, size_t count,
                                                      std::chrono::milliseconds timeout) const {
  std::vector<nlohmann::json> found;
  eventually(
      [&] {
        found.clear();
        for (auto& a : alerts()) {
          if (a.value("rule", "") == rule &&
              (needle.empty() || a.dump().find(needle) != std::string::npos)) {
            found.push_back(a);
          }
        }
        return found.size() >= count;
      },
      timeout);
  return found;
}

double AgentProcess::metric(const std::string& name, const std::string& labels) const {
  std::string body;
  if (http_get(port_, "/metrics", &body) != 200) return -1;
  std::istringstream in(body);
  std::string line;
  double sum = -1;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    if (!labels.empty() && line.find(labels) == std::string::npos) continue;
    const size_t sp = line.rfind(' ');
    sum = (sum < 0 ? 0 : sum) + std::atof(line.c_str() + sp + 1);
  }
  return sum;
}

}  // namespace vigil::test
