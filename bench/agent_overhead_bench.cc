// Whole-process benchmarks for vigil-agent: the real binary with its real BPF programs on this
// kernel, driven by workloads written in C here. Prints figures (tables, then one
// `RESULT name=value unit=... target=... status=PASS|MISS|INFO` line per figure); it is not a
// timed test and exits 0 whatever the figures are (non-zero only when it could not measure).
//
//   overhead    open+close, getppid and fork+exec(/bin/true)+wait, each a tight loop timed with
//               CLOCK_MONOTONIC, without and with the agent (default rules), alternating over R
//               rounds in one run; medians, ratios with/without, targets.
//   cpu         the agent's own CPU time (schedstat of every thread) per event it consumed,
//               measured during the open+close loop with the agent.
//   throughput  1 and 2 parallel open+close loops pinned to CPU 0 and 1 for D seconds: kernel
//               events/s and drops from /metrics; --rate steps up a paced rate per loop to find
//               the highest one sustained with zero drops.
//   memory      the agent's RSS after the workloads, minus the resident pages of its mmapped BPF
//               maps (the ring buffer).
//
// Needs root. See bench/README.md and --help.

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#ifndef VIGIL_AGENT
#define VIGIL_AGENT "vigil-agent"
#endif

extern char** environ;

namespace {

// ---- Options -----------------------------------------------------------------------------------

struct Options {
  std::string agent = VIGIL_AGENT;
  std::vector<std::string> agent_args;
  int rounds = 7;
  long open_iters = 1000000;
  long getppid_iters = 2000000;
  long fork_iters = 2000;
  double scale = 1.0;
  double duration_s = 5.0;
  std::set<std::string> only;  // empty: everything
  bool bpf_stats = false;
  std::vector<double> rates;  // events/s per loop; 0 means "max" (unpaced). Empty: no rate mode.
  int health_timeout_s = 60;
  int cpu = 0;  // CPU the single-loop overhead workloads run on; -1: not pinned
  bool keep_tmp = false;
};

constexpr double kOpenTarget = 1.35;
constexpr double kGetppidTarget = 1.15;
constexpr double kForkTarget = 1.04;
constexpr double kCpuPerEventTarget = 145.0;  // ns; Falco measured 290 ns here
constexpr double kRssTargetMb = 30.0;         // excluding the ring buffer

const char* const kUsage =
    "Usage: agent_overhead_bench [OPTIONS]   (as root)\n"
    "\n"
    "Whole-process benchmarks of vigil-agent with its default rules: syscall overhead, agent CPU\n"
    "per event, throughput and drops, memory. Prints tables and one RESULT line per figure.\n"
    "\n"
    "  --agent PATH          agent binary (default " VIGIL_AGENT
    ")\n"
    "  --agent-args \"...\"    extra arguments for the agent (shell-like quoting); they come\n"
    "                        right after PATH, before --health-addr 127.0.0.1:PORT which the\n"
    "                        bench always adds. Stdout of the agent goes to /dev/null.\n"
    "  --rounds N            overhead rounds, alternating without/with the agent (default 7)\n"
    "  --iterations SPEC     per measurement: open=N,getppid=N,fork=N (any subset; K/M suffixes;\n"
    "                        a bare N sets all three). Defaults open=1M,getppid=2M,fork=2k\n"
    "  --scale F             multiply every iteration count by F (e.g. 0.1 for a smoke run)\n"
    "  --quick               --rounds 3 --scale 0.1 --duration 2\n"
    "  --duration S          seconds per throughput run (default 5)\n"
    "  --rate LIST|sweep     also run 2 paced loops at these events/s per loop (K/M suffixes,\n"
    "                        'max' = unpaced); 'sweep' = 100k,200k,400k,800k,max\n"
    "  --only WHAT[,WHAT]    overhead, cpu, throughput, memory (default: all)\n"
    "  --bpf-stats           set kernel.bpf_stats_enabled=1 for the run (restored after) and "
    "print\n"
    "                        each BPF program's run time per call (this inflates the overhead)\n"
    "  --cpu N               CPU for the overhead loops (default 0; -1: do not pin)\n"
    "  --health-timeout S    seconds to wait for /healthz 200 after starting the agent (default "
    "60)\n"
    "  --keep-tmp            keep the temporary directory (agent stderr logs)\n"
    "  -h, --help            this help\n"
    "\n"
    "Targets: open+close <= x1.35, getppid <= x1.15, fork+exec <= x1.04, agent CPU <= 145 ns per\n"
    "event, zero drops with two loops on two CPUs, RSS <= 30 MB excluding the ring buffer.\n";

[[noreturn]] void usage_error(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("agent_overhead_bench: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputs("\n(--help for usage)\n", stderr);
  std::exit(2);
}

// "1M", "200k", "2000", "1.5M".
bool parse_count(const std::string& s, double* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  std::string suffix(end);
  if (suffix == "k" || suffix == "K") {
    v *= 1e3;
  } else if (suffix == "m" || suffix == "M") {
    v *= 1e6;
  } else if (suffix == "g" || suffix == "G") {
    v *= 1e9;
  } else if (!suffix.empty()) {
    return false;
  }
  if (!(v >= 0) || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Shell-like word splitting: whitespace separates, '...' and "..." quote, backslash escapes.
std::vector<std::string> shell_split(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        cur += s[++i];
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      have = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      have = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (quote) usage_error("--agent-args: unterminated quote");
  if (have) out.push_back(cur);
  return out;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string val;
    bool has_inline = false;
    if (a.rfind("--", 0) == 0) {
      size_t eq = a.find('=');
      if (eq != std::string::npos) {
        val = a.substr(eq + 1);
        a = a.substr(0, eq);
        has_inline = true;
      }
    }
    auto value = [&]() -> std::string {
      if (has_inline) return val;
      if (i + 1 >= argc) usage_error("%s needs a value", a.c_str());
      return argv[++i];
    };
    auto number = [&](const std::string& v) {
      double d;
      if (!parse_count(v, &d)) usage_error("%s: not a number: '%s'", a.c_str(), v.c_str());
      return d;
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--agent") {
      o.agent = value();
    } else if (a == "--agent-args") {
      auto more = shell_split(value());
      o.agent_args.insert(o.agent_args.end(), more.begin(), more.end());
    } else if (a == "--rounds") {
      o.rounds = static_cast<int>(number(value()));
      if (o.rounds < 1) usage_error("--rounds must be at least 1");
    } else if (a == "--iterations") {
      for (const auto& part : split(value(), ',')) {
        size_t eq = part.find('=');
        if (eq == std::string::npos) {
          long n = static_cast<long>(number(part));
          o.open_iters = o.getppid_iters = o.fork_iters = n;
          continue;
        }
        std::string key = part.substr(0, eq);
        long n = static_cast<long>(number(part.substr(eq + 1)));
        if (key == "open") {
          o.open_iters = n;
        } else if (key == "getppid") {
          o.getppid_iters = n;
        } else if (key == "fork") {
          o.fork_iters = n;
        } else {
          usage_error("--iterations: unknown workload '%s' (open, getppid, fork)", key.c_str());
        }
      }
    } else if (a == "--scale") {
      o.scale = std::strtod(value().c_str(), nullptr);
      if (!(o.scale > 0)) usage_error("--scale must be positive");
    } else if (a == "--quick") {
      o.rounds = 3;
      o.scale = 0.1;
      o.duration_s = 2;
    } else if (a == "--duration") {
      o.duration_s = std::strtod(value().c_str(), nullptr);
      if (!(o.duration_s > 0)) usage_error("--duration must be positive seconds");
    } else if (a == "--rate") {
      std::string v = value();
      if (v == "sweep") v = "100k,200k,400k,800k,max";
      o.rates.clear();
      for (const auto& r : split(v, ',')) o.rates.push_back(r == "max" ? 0.0 : number(r));
    } else if (a == "--only") {
      for (const auto& w : split(value(), ',')) {
        if (w != "overhead" && w != "cpu" && w != "throughput" && w != "memory")
          usage_error("--only: unknown '%s' (overhead, cpu, throughput, memory)", w.c_str());
        o.only.insert(w);
      }
    } else if (a == "--bpf-stats") {
      o.bpf_stats = true;
    } else if (a == "--cpu") {
      o.cpu = std::atoi(value().c_str());
    } else if (a == "--health-timeout") {
      o.health_timeout_s = std::atoi(value().c_str());
      if (o.health_timeout_s < 1) usage_error("--health-timeout must be at least 1 second");
    } else if (a == "--keep-tmp") {
      o.keep_tmp = true;
    } else if (a.rfind("--benchmark_", 0) == 0) {
      // `make bench BENCH_ARGS=...` passes Google Benchmark flags to every bench binary.
      std::fprintf(stderr, "agent_overhead_bench: ignoring %s (a Google Benchmark flag)\n",
                   argv[i]);
    } else {
      usage_error("unknown argument '%s'", argv[i]);
    }
  }
  auto scaled = [&](long n) { return std::max(1L, std::lround(static_cast<double>(n) * o.scale)); };
  o.open_iters = scaled(o.open_iters);
  o.getppid_iters = scaled(o.getppid_iters);
  o.fork_iters = scaled(o.fork_iters);
  return o;
}

bool selected(const Options& o, const char* what) { return o.only.empty() || o.only.count(what); }

// ---- Small utilities ---------------------------------------------------------------------------

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool read_text(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::string fmt_num(double v, int decimals) {
  if (std::isnan(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string cpu_list(const std::vector<int>& cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size(); ++i) s += (i ? "," : "") + std::to_string(cpus[i]);
  return s;
}

// ---- Results -----------------------------------------------------------------------------------

struct ResultLine {
  std::string name;
  double value;
  std::string unit;
  std::string target;  // "1.35", "none"
  std::string status;  // PASS, MISS, INFO
};
std::vector<ResultLine> g_results;

// A figure with a target "value <= target": PASS or MISS (MISS when it could not be measured).
void result_max(const std::string& name, double value, const std::string& unit, double target) {
  g_results.push_back({name, value, unit, fmt_num(target, target == std::floor(target) ? 0 : 2),
                       !std::isnan(value) && value <= target ? "PASS" : "MISS"});
}
void result_info(const std::string& name, double value, const std::string& unit) {
  g_results.push_back({name, value, unit, "none", "INFO"});
}
const char* status_of(double value, double target) {
  return !std::isnan(value) && value <= target ? "PASS" : "MISS";
}

// ---- Cleanup on every exit path ----------------------------------------------------------------

volatile pid_t g_agent_pid = 0;
volatile pid_t g_loop_pids[64];
volatile int g_nloops = 0;
int g_bpf_stats_restore = -1;  // the sysctl's value before --bpf-stats, or -1
std::string g_tmpdir;
bool g_keep_tmp = false;

void restore_bpf_stats() {
  if (g_bpf_stats_restore < 0) return;
  int fd = open("/proc/sys/kernel/bpf_stats_enabled", O_WRONLY);
  if (fd >= 0) {
    char c = static_cast<char>('0' + g_bpf_stats_restore);
    if (write(fd, &c, 1) != 1) {
    }
    close(fd);
  }
  g_bpf_stats_restore = -1;
}

void on_signal(int sig) {
  // Async-signal-safe only: stop and reap our children (the agent gets up to 10 s to detach its
  // probes), restore the sysctl, leave.
  for (int i = 0; i < g_nloops; ++i) {
    if (g_loop_pids[i] > 0) {
      kill(g_loop_pids[i], SIGKILL);
      waitpid(g_loop_pids[i], nullptr, 0);
    }
  }
  const pid_t agent = g_agent_pid;
  if (agent > 0) {
    kill(agent, SIGTERM);
    int i = 0;
    for (; i < 1000 && waitpid(agent, nullptr, WNOHANG) == 0; ++i) {
      timespec ts{0, 10000000};
      nanosleep(&ts, nullptr);
    }
    if (i == 1000) {
      kill(agent, SIGKILL);
      waitpid(agent, nullptr, 0);
    }
  }
  restore_bpf_stats();
  const char msg[] = "\nagent_overhead_bench: interrupted; agent stopped\n";
  if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
  }
  _exit(128 + sig);
}

void remove_tmpdir() {
  if (g_tmpdir.empty() || g_keep_tmp) return;
  if (DIR* d = opendir(g_tmpdir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
        unlink((g_tmpdir + "/" + e->d_name).c_str());
    }
    closedir(d);
  }
  rmdir(g_tmpdir.c_str());
  g_tmpdir.clear();
}

[[noreturn]] void fail(const char* fmt, ...) {
  std::fflush(stdout);
  va_list ap;
  va_start(ap, fmt);
  std::fputs("agent_overhead_bench: ERROR: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  if (g_agent_pid > 0) {
    kill(g_agent_pid, SIGKILL);
    waitpid(g_agent_pid, nullptr, 0);
    g_agent_pid = 0;
  }
  restore_bpf_stats();
  g_keep_tmp = g_keep_tmp || !g_tmpdir.empty();  // keep the logs for a post-mortem
  if (!g_tmpdir.empty()) std::fprintf(stderr, "(temporary files kept in %s)\n", g_tmpdir.c_str());
  std::exit(1);
}

// ---- CPU affinity ------------------------------------------------------------------------------

cpu_set_t g_all_cpus;  // the affinity the bench started with

std::vector<int> allowed_cpus() {
  std::vector<int> out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &g_all_cpus)) out.push_back(c);
  return out;
}

void pin_self(int cpu) {
  if (cpu < 0) {
    sched_setaffinity(0, sizeof g_all_cpus, &g_all_cpus);
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    fail("sched_setaffinity(CPU %d): %s", cpu, std::strerror(errno));
}

void unpin_self() { sched_setaffinity(0, sizeof g_all_cpus, &g_all_cpus); }

// ---- HTTP and Prometheus text
// --------------------------------------------------------------------

// GET http://127.0.0.1:port/path. Returns the status, or -1 (connection failed; *err says why).
int http_get(uint16_t port, const char* path, std::string* body, std::string* err) {
  body->clear();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    *err = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  std::string req = std::string("GET ") + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    "User-Agent: agent_overhead_bench\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    *err = std::string("send: ") + std::strerror(errno);
    close(fd);
    return -1;
  }
  std::string resp;
  char buf[16384];
  size_t header_end = std::string::npos;
  long content_length = -1;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = std::string("recv: ") + std::strerror(errno);
      close(fd);
      return -1;
    }
    if (n == 0) break;
    resp.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = resp.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::string head = resp.substr(0, header_end);
        std::string lower = head;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        size_t cl = lower.find("\r\ncontent-length:");
        if (cl != std::string::npos) content_length = std::atol(head.c_str() + cl + 17);
      }
    }
    if (header_end != std::string::npos && content_length >= 0 &&
        resp.size() >= header_end + 4 + static_cast<size_t>(content_length))
      break;
  }
  close(fd);
  int status = 0;
  if (resp.rfind("HTTP/1.", 0) != 0 || std::sscanf(resp.c_str(), "HTTP/1.%*d %d", &status) != 1) {
    *err = "malformed HTTP response";
    return -1;
  }
  if (header_end != std::string::npos) *body = resp.substr(header_end + 4);
  return status;
}

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Metrics {
  bool ok = false;  // /metrics answered 200
  std::vector<Sample> samples;

  // Sum of every series of `name`; NAN when there is none.
  double sum(const std::string& name) const {
    double s = 0;
    bool found = false;
    for (const auto& x : samples) {
      if (x.name == name) {
        s += x.value;
        found = true;
      }
    }
    return found ? s : NAN;
  }
  std::map<std::string, double> by_label(const std::string& name, const std::string& label) const {
    std::map<std::string, double> out;
    for (const auto& x : samples) {
      if (x.name != name) continue;
      auto it = x.labels.find(label);
      out[it == x.labels.end() ? "" : it->second] += x.value;
    }
    return out;
  }
};

Metrics parse_metrics(const std::string& text) {
  Metrics m;
  m.ok = true;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        std::string key = line.substr(i, eq - i);
        std::string v;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            v += line[j] == 'n' ? '\n' : line[j];
          } else {
            v += line[j];
          }
        }
        s.labels[key] = v;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i < line.size() && line[i] == '}') ++i;
    }
    char* end = nullptr;
    s.value = std::strtod(line.c_str() + i, &end);
    if (end == line.c_str() + i) continue;
    m.samples.push_back(std::move(s));
  }
  return m;
}

// ---- /proc readers -----------------------------------------------------------------------------

// The process's CPU time in ns: the sum of the first field of /proc/<pid>/task/*/schedstat
// (ns resolution) when available, and utime+stime of /proc/<pid>/stat (clock ticks).
struct CpuTime {
  double schedstat_ns = NAN;
  double stat_ns = NAN;
  double best() const { return std::isnan(schedstat_ns) ? stat_ns : schedstat_ns; }
};

CpuTime process_cpu(pid_t pid) {
  CpuTime t;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = opendir(dir.c_str())) {
    double sum = 0;
    bool any = false;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string text;
      if (!read_text(dir + "/" + e->d_name + "/schedstat", &text)) continue;
      sum += std::strtod(text.c_str(), nullptr);
      any = true;
    }
    closedir(d);
    if (any) t.schedstat_ns = sum;
  }
  std::string stat;
  if (read_text("/proc/" + std::to_string(pid) + "/stat", &stat)) {
    size_t rp = stat.rfind(')');
    if (rp != std::string::npos) {
      // After ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
      // utime(14) stime(15).
      std::istringstream in(stat.substr(rp + 2));
      std::string f;
      double utime = 0, stime = 0;
      for (int field = 3; field <= 15 && (in >> f); ++field) {
        if (field == 14) utime = std::strtod(f.c_str(), nullptr);
        if (field == 15) stime = std::strtod(f.c_str(), nullptr);
      }
      t.stat_ns = (utime + stime) * 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return t;
}

struct MemInfo {
  bool ok = false;
  double vm_rss_kb = NAN, vm_hwm_kb = NAN, rss_anon_kb = NAN, rss_file_kb = NAN, rss_shmem_kb = NAN;
  int threads = 0;
  int bpf_map_mappings = 0;
  double bpf_map_size_kb = 0;  // virtual size of those mappings
  double bpf_map_rss_kb = 0;   // their resident pages
};

MemInfo process_memory(pid_t pid) {
  MemInfo m;
  std::string status;
  if (!read_text("/proc/" + std::to_string(pid) + "/status", &status)) return m;
  m.ok = true;
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    auto field = [&](const char* key, double* out) {
      size_t n = std::strlen(key);
      if (line.compare(0, n, key) == 0) *out = std::strtod(line.c_str() + n, nullptr);
    };
    field("VmRSS:", &m.vm_rss_kb);
    field("VmHWM:", &m.vm_hwm_kb);
    field("RssAnon:", &m.rss_anon_kb);
    field("RssFile:", &m.rss_file_kb);
    field("RssShmem:", &m.rss_shmem_kb);
    if (line.compare(0, 8, "Threads:") == 0) m.threads = std::atoi(line.c_str() + 8);
  }
  // smaps: a mapping header "start-end perms offset dev inode [path]" then "Key: N kB" lines.
  std::string smaps;
  if (!read_text("/proc/" + std::to_string(pid) + "/smaps", &smaps)) return m;
  std::istringstream sin(smaps);
  bool in_bpf = false;
  while (std::getline(sin, line)) {
    unsigned long lo, hi;
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %*s %*s %*s %*s%n", &lo, &hi, &consumed) == 2 &&
        consumed > 0) {
      in_bpf = line.find("anon_inode:bpf-map") != std::string::npos;
      if (in_bpf) {
        ++m.bpf_map_mappings;
        m.bpf_map_size_kb += static_cast<double>(hi - lo) / 1024.0;
      }
      continue;
    }
    if (in_bpf && line.compare(0, 4, "Rss:") == 0)
      m.bpf_map_rss_kb += std::strtod(line.c_str() + 4, nullptr);
  }
  return m;
}

// pids whose comm is one of `names` (as `pgrep -x NAME` finds them), excluding this process.
std::vector<std::pair<pid_t, std::string>> find_processes(const std::set<std::string>& names) {
  std::vector<std::pair<pid_t, std::string>> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0 || pid == getpid()) continue;
    std::string comm;
    if (!read_text(std::string("/proc/") + e->d_name + "/comm", &comm)) continue;
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (!names.count(comm)) continue;
    std::string cmdline;
    read_text(std::string("/proc/") + e->d_name + "/cmdline", &cmdline);
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    out.emplace_back(pid, cmdline.empty() ? comm : cmdline);
  }
  closedir(d);
  return out;
}

// ---- The agent process
// ---------------------------------------------------------------------------

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    fail("picking a free port: %s", std::strerror(errno));
  close(fd);
  return ntohs(a.sin_port);
}

void print_file_tail(const std::string& path, size_t max_lines) {
  std::string text;
  if (!read_text(path, &text) || text.empty()) {
    std::fprintf(stderr, "  (agent stderr %s is empty)\n", path.c_str());
    return;
  }
  std::vector<std::string> lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  size_t from = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::fprintf(stderr, "---- agent stderr (%s%s) ----\n", path.c_str(), from ? ", last lines" : "");
  for (size_t i = from; i < lines.size(); ++i) std::fprintf(stderr, "  %s\n", lines[i].c_str());
  std::fprintf(stderr, "---- end of agent stderr ----\n");
}

std::string describe_status(int status) {
  char buf[64];
  if (WIFEXITED(status)) {
    std::snprintf(buf, sizeof buf, "exited with code %d", WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    std::snprintf(buf, sizeof buf, "killed by signal %d (%s)", WTERMSIG(status),
                  strsignal(WTERMSIG(status)));
  } else {
    std::snprintf(buf, sizeof buf, "status 0x%x", status);
  }
  return buf;
}

struct ProgAccum {
  double runs = 0, run_time_ns = 0;
};
std::map<std::string, ProgAccum> g_prog_stats;  // --bpf-stats: summed over agent sessions
int g_sessions = 0;
std::vector<double> g_startup_s;

class Agent {
 public:
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

  void start(const Options& o, const std::string& why) {
    ++g_sessions;
    port_ = free_port();
    stderr_path_ = g_tmpdir + "/agent-" + std::to_string(g_sessions) + ".stderr";
    std::vector<std::string> args{o.agent};
    args.insert(args.end(), o.agent_args.begin(), o.agent_args.end());
    args.push_back("--health-addr");
    args.push_back("127.0.0.1:" + std::to_string(port_));
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);

    int errfd = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (errfd < 0 || nullfd < 0) fail("opening %s: %s", stderr_path_.c_str(), std::strerror(errno));
    const int64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) fail("fork: %s", std::strerror(errno));
    if (pid == 0) {
      // The agent runs on every CPU the bench was given, whatever this process is pinned to.
      sched_setaffinity(0, sizeof g_all_cpus, &g_all_cpus);
      signal(SIGINT, SIG_DFL);
      signal(SIGTERM, SIG_DFL);
      dup2(nullfd, STDIN_FILENO);
      dup2(nullfd, STDOUT_FILENO);
      dup2(errfd, STDERR_FILENO);
      execv(argv[0], argv.data());
      std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
      _exit(127);
    }
    close(errfd);
    close(nullfd);
    pid_ = pid;
    g_agent_pid = pid;

    std::string cmd;
    for (const auto& s : args) cmd += (cmd.empty() ? "" : " ") + s;
    std::printf("  [agent] starting (%s): %s\n", why.c_str(), cmd.c_str());
    std::fflush(stdout);

    const int64_t deadline = t0 + static_cast<int64_t>(o.health_timeout_s) * 1000000000LL;
    std::string last = "no answer yet";
    for (;;) {
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = 0;
        g_agent_pid = 0;
        print_file_tail(stderr_path_, 60);
        fail("the agent %s before /healthz answered 200 (command: %s)",
             describe_status(status).c_str(), cmd.c_str());
      }
      std::string body, err;
      int code = http_get(port_, "/healthz", &body, &err);
      if (code == 200) break;
      last = code < 0 ? err : "HTTP " + std::to_string(code) + " " + body;
      while (!last.empty() && last.back() == '\n') last.pop_back();
      if (now_ns() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = 0;
        g_agent_pid = 0;
        print_file_tail(stderr_path_, 60);
        fail(
            "the agent never answered 200 on http://127.0.0.1:%u/healthz within %d s (last: %s)."
            " It was killed; its stderr is above. (--health-timeout S waits longer.)",
            port_, o.health_timeout_s, last.c_str());
      }
      sleep_ms(50);
    }
    const double startup = static_cast<double>(now_ns() - t0) / 1e9;
    g_startup_s.push_back(startup);
    std::printf("  [agent] pid %d healthy after %.2f s, metrics on http://127.0.0.1:%u/metrics\n",
                pid_, startup, port_);
    std::fflush(stdout);
    settle();
  }

  Metrics metrics() const {
    Metrics m;
    std::string body, err;
    int code = http_get(port_, "/metrics", &body, &err);
    if (code != 200) return m;
    return parse_metrics(body);
  }

  // Waits until user space has consumed what the kernel had written when it was called:
  // vigil_agent_events_total >= that scrape's vigil_agent_kernel_events_total (background
  // activity keeps both moving, so "unchanged" would never come on a busy host). Without the
  // kernel counter: until events_total is unchanged over 100 ms. At most 3 s. Returns the last
  // scrape.
  Metrics settle() {
    Metrics m = metrics();
    const double written = m.sum("vigil_agent_kernel_events_total");
    const int64_t deadline = now_ns() + 3000000000LL;
    double prev = m.sum("vigil_agent_events_total");
    while (m.ok && !std::isnan(prev) && now_ns() < deadline) {
      if (!std::isnan(written) && prev >= written) break;
      sleep_ms(std::isnan(written) ? 100 : 20);
      m = metrics();
      const double cur = m.sum("vigil_agent_events_total");
      if (std::isnan(written) && cur == prev) break;
      prev = cur;
    }
    if (m.ok && !std::isnan(written) && prev < written && !lag_warned_) {
      lag_warned_ = true;
      std::fprintf(stderr,
                   "agent_overhead_bench: WARNING: after 3 s the agent had consumed %.0f records "
                   "of the %.0f the kernel had written (vigil_agent_events_total < "
                   "vigil_agent_kernel_events_total): user space lags or does not drain the ring; "
                   "figures based on consumed events are unreliable (warned once per agent)\n",
                   prev, written);
    }
    return m;
  }

  void stop(const Options& o) {
    if (pid_ <= 0) return;
    if (o.bpf_stats) {
      Metrics m = metrics();
      auto t = m.by_label("vigil_bpf_program_run_time_ns_total", "program");
      auto r = m.by_label("vigil_bpf_program_runs_total", "program");
      for (const auto& [prog, ns] : t) g_prog_stats[prog].run_time_ns += ns;
      for (const auto& [prog, n] : r) g_prog_stats[prog].runs += n;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      print_file_tail(stderr_path_, 60);
      std::fprintf(stderr, "agent_overhead_bench: WARNING: the agent had already %s\n",
                   describe_status(status).c_str());
    } else {
      kill(pid_, SIGTERM);
      const int64_t deadline = now_ns() + 20000000000LL;
      bool exited = false;
      while (now_ns() < deadline) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          exited = true;
          break;
        }
        sleep_ms(10);
      }
      if (!exited) {
        std::fprintf(stderr,
                     "agent_overhead_bench: WARNING: the agent did not exit within 20 s of "
                     "SIGTERM; killing it\n");
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        print_file_tail(stderr_path_, 30);
      } else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
                 !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)) {
        std::fprintf(stderr, "agent_overhead_bench: WARNING: the agent %s after SIGTERM\n",
                     describe_status(status).c_str());
        print_file_tail(stderr_path_, 30);
      }
    }
    pid_ = 0;
    g_agent_pid = 0;
  }

 private:
  pid_t pid_ = 0;
  uint16_t port_ = 0;
  std::string stderr_path_;
  bool lag_warned_ = false;
};

// ---- Workloads
// -----------------------------------------------------------------------------------

std::string g_test_file;  // a regular file the open+close loops open

// ns per open(O_RDONLY)+close pair.
double time_open_close(long n) {
  const char* path = g_test_file.c_str();
  int fd = open(path, O_RDONLY);
  if (fd < 0) fail("open %s: %s", path, std::strerror(errno));
  close(fd);
  for (long i = 0; i < n / 20; ++i) close(open(path, O_RDONLY));  // warm-up
  const int64_t t0 = now_ns();
  for (long i = 0; i < n; ++i) close(open(path, O_RDONLY));
  return static_cast<double>(now_ns() - t0) / static_cast<double>(n);
}

double time_getppid(long n) {
  volatile pid_t sink = 0;
  for (long i = 0; i < n / 20; ++i) sink = getppid();
  const int64_t t0 = now_ns();
  for (long i = 0; i < n; ++i) sink = getppid();
  (void)sink;
  return static_cast<double>(now_ns() - t0) / static_cast<double>(n);
}

void fork_exec_true() {
  static char arg0[] = "true";
  static char* const argv[] = {arg0, nullptr};
  pid_t pid = fork();
  if (pid < 0) fail("fork: %s", std::strerror(errno));
  if (pid == 0) {
    execve("/bin/true", argv, environ);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("/bin/true %s", describe_status(status).c_str());
}

// ns per fork + execve(/bin/true) + waitpid.
double time_fork_exec(long n) {
  for (long i = 0; i < std::max(1L, n / 20); ++i) fork_exec_true();
  const int64_t t0 = now_ns();
  for (long i = 0; i < n; ++i) fork_exec_true();
  return static_cast<double>(now_ns() - t0) / static_cast<double>(n);
}

// ---- Parallel loops (throughput) ---------------------------------------------------------------

struct LoopRun {
  std::vector<double> ops;  // per loop
  double elapsed_s = 0;     // slowest loop's wall time
  double total_ops() const {
    double s = 0;
    for (double x : ops) s += x;
    return s;
  }
};

// Runs one open+close loop per CPU in `cpus` (a process each, pinned) for `seconds`; paced to
// `ops_per_s` per loop when > 0. Each loop reports its operation count and wall time.
LoopRun run_loops(const std::vector<int>& cpus, double seconds, double ops_per_s) {
  int go[2], res[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(res, O_CLOEXEC) != 0)
    fail("pipe: %s", std::strerror(errno));
  std::vector<pid_t> pids;
  for (int cpu : cpus) {
    pid_t pid = fork();
    if (pid < 0) fail("fork: %s", std::strerror(errno));
    if (pid == 0) {
      close(go[1]);
      close(res[0]);
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0) _exit(3);
      char c;
      if (read(go[0], &c, 1) != 1) _exit(4);
      const char* path = g_test_file.c_str();
      const int64_t t0 = now_ns();
      const int64_t end = t0 + static_cast<int64_t>(seconds * 1e9);
      const double ns_per_op = ops_per_s > 0 ? 1e9 / ops_per_s : 0;
      uint64_t ops = 0;
      int64_t t = t0;
      while (t < end) {
        for (int i = 0; i < 64; ++i) close(open(path, O_RDONLY));
        ops += 64;
        t = now_ns();
        if (ns_per_op > 0) {
          const int64_t due = t0 + static_cast<int64_t>(static_cast<double>(ops) * ns_per_op);
          if (due > t && due < end) {
            timespec ts{due / 1000000000LL, due % 1000000000LL};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
            }
            t = now_ns();
          }
        }
      }
      double out[2] = {static_cast<double>(ops), static_cast<double>(t - t0) / 1e9};
      if (write(res[1], out, sizeof out) != sizeof out) _exit(5);
      _exit(0);
    }
    pids.push_back(pid);
    if (g_nloops < 64) {
      g_loop_pids[g_nloops] = pid;
      g_nloops = g_nloops + 1;
    }
  }
  close(go[0]);
  close(res[1]);
  std::string start(cpus.size(), 'g');
  if (write(go[1], start.data(), start.size()) != static_cast<ssize_t>(start.size()))
    fail("starting the loops: %s", std::strerror(errno));
  close(go[1]);
  LoopRun run;
  for (size_t i = 0; i < cpus.size(); ++i) {
    double out[2];
    ssize_t n;
    while ((n = read(res[0], out, sizeof out)) < 0 && errno == EINTR) {
    }
    if (n != sizeof out) fail("a loop process failed (pinning to its CPU?)");
    run.ops.push_back(out[0]);
    run.elapsed_s = std::max(run.elapsed_s, out[1]);
  }
  close(res[0]);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  g_nloops = 0;
  return run;
}

std::vector<int> loop_cpus(int n) {
  std::vector<int> all = allowed_cpus();
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(all[static_cast<size_t>(i) % all.size()]);
  return out;
}

// ---- Phases
// --------------------------------------------------------------------------------------

struct Workload {
  const char* name;
  const char* key;
  double target;
  long iters;
  double (*fn)(long);
  std::vector<double> without, with, ratio;
};

void print_bpf_stats_table() {
  std::printf("\nBPF programs (kernel.bpf_stats_enabled=1; summed over %d agent session%s)\n",
              g_sessions, g_sessions == 1 ? "" : "s");
  if (g_prog_stats.empty()) {
    std::printf("  no vigil_bpf_program_* series in /metrics\n");
    return;
  }
  std::printf("  %-28s %14s %14s %10s\n", "program", "runs", "run time ms", "ns/run");
  std::vector<std::string> idle;
  for (const auto& [prog, s] : g_prog_stats) {
    if (!(s.runs > 0)) {
      idle.push_back(prog);
      continue;
    }
    const double per = s.run_time_ns / s.runs;
    std::printf("  %-28s %14.0f %14.1f %10.1f\n", prog.c_str(), s.runs, s.run_time_ns / 1e6, per);
    result_info("bpf_ns_per_run_" + prog, per, "ns");
  }
  if (!idle.empty()) std::printf("  (%zu more programs never ran)\n", idle.size());
}

// Overhead rounds (and the agent's CPU per event, measured in the same rounds).
void run_rounds(const Options& o) {
  const bool overhead = selected(o, "overhead");
  std::vector<Workload> w = {
      {"open+close", "open_close", kOpenTarget, o.open_iters, time_open_close, {}, {}, {}},
      {"getppid", "getppid", kGetppidTarget, o.getppid_iters, time_getppid, {}, {}, {}},
      {"fork+exec", "fork_exec", kForkTarget, o.fork_iters, time_fork_exec, {}, {}, {}},
  };
  if (!overhead) w.resize(1);  // --only cpu: the open+close loop with the agent only
  struct CpuRound {
    double events = NAN, written = NAN, cpu_ns = NAN, stat_ns = NAN, per_event = NAN,
           events_per_op = NAN;
  };
  std::vector<CpuRound> cpu_rounds;

  std::printf("\n== %s: %d rounds, workloads on CPU %s\n",
              overhead ? "Overhead and agent CPU per event"
                       : "Agent CPU per event (overhead not selected: with the agent only)",
              o.rounds, o.cpu < 0 ? "(not pinned)" : std::to_string(o.cpu).c_str());
  for (int r = 0; r < o.rounds; ++r) {
    // Even rounds measure without the agent first, odd rounds with it first, so slow drift
    // (page cache, frequency, other tenants) does not always favour one side.
    std::vector<bool> order =
        r % 2 == 0 ? std::vector<bool>{false, true} : std::vector<bool>{true, false};
    if (!overhead) order = {true};
    std::vector<double> without(w.size(), NAN), with(w.size(), NAN);
    for (bool agent_on : order) {
      Agent agent;
      if (agent_on) agent.start(o, "round " + std::to_string(r + 1));
      pin_self(o.cpu);
      for (size_t i = 0; i < w.size(); ++i) {
        CpuRound cr;
        Metrics m0;
        CpuTime c0;
        if (agent_on && i == 0) {
          m0 = agent.settle();
          c0 = process_cpu(agent.pid());
        }
        const double ns = w[i].fn(w[i].iters);
        if (agent_on && i == 0) {
          unpin_self();
          Metrics m1 = agent.settle();
          CpuTime c1 = process_cpu(agent.pid());
          pin_self(o.cpu);
          cr.events = m1.sum("vigil_agent_events_total") - m0.sum("vigil_agent_events_total");
          cr.written =
              m1.sum("vigil_agent_kernel_events_total") - m0.sum("vigil_agent_kernel_events_total");
          cr.cpu_ns = c1.best() - c0.best();
          cr.stat_ns = c1.stat_ns - c0.stat_ns;
          cr.per_event = cr.events > 0 ? cr.cpu_ns / cr.events : NAN;
          cr.events_per_op = cr.events / static_cast<double>(w[i].iters + w[i].iters / 20);
          cpu_rounds.push_back(cr);
        }
        (agent_on ? with : without)[i] = ns;
      }
      unpin_self();
      if (agent_on) agent.stop(o);
    }
    std::printf("  round %d/%d:", r + 1, o.rounds);
    for (size_t i = 0; i < w.size(); ++i) {
      w[i].without.push_back(without[i]);
      w[i].with.push_back(with[i]);
      w[i].ratio.push_back(with[i] / without[i]);
      if (overhead) {
        std::printf("  %s %s -> %s ns (x%s)", w[i].name, fmt_num(without[i], 0).c_str(),
                    fmt_num(with[i], 0).c_str(), fmt_num(with[i] / without[i], 3).c_str());
      } else {
        std::printf("  %s %s ns with the agent", w[i].name, fmt_num(with[i], 0).c_str());
      }
    }
    if (!cpu_rounds.empty())
      std::printf("  | agent %s ns/event", fmt_num(cpu_rounds.back().per_event, 1).c_str());
    std::printf("\n");
    std::fflush(stdout);
  }

  if (overhead) {
    std::printf("\nSyscall overhead (median of %d rounds, ns per operation)\n", o.rounds);
    std::printf("  %-11s %9s %12s %12s %9s %12s %8s %6s\n", "workload", "iters", "no agent",
                "agent", "ratio", "median(r/r)", "target", "status");
    for (auto& x : w) {
      const double a = median(x.without), b = median(x.with);
      const double ratio = b / a, per_round = median(x.ratio);
      std::printf("  %-11s %9ld %12s %12s %9s %12s %8s %6s\n", x.name, x.iters,
                  fmt_num(a, 1).c_str(), fmt_num(b, 1).c_str(), ("x" + fmt_num(ratio, 3)).c_str(),
                  ("x" + fmt_num(per_round, 3)).c_str(), ("x" + fmt_num(x.target, 2)).c_str(),
                  status_of(ratio, x.target));
      result_max(std::string("overhead_") + x.key + "_ratio", ratio, "x", x.target);
      result_info(std::string("overhead_") + x.key + "_ratio_median_per_round", per_round, "x");
      result_info(std::string("overhead_") + x.key + "_ns_no_agent", a, "ns");
      result_info(std::string("overhead_") + x.key + "_ns_agent", b, "ns");
    }
    std::printf(
        "  ratio = median(agent) / median(no agent); median(r/r) = median of the per-round"
        " ratios.\n");
  }

  if (selected(o, "cpu")) {
    std::printf("\nAgent CPU per event (open+close loop with the agent)\n");
    std::printf("  %-6s %12s %12s %10s %16s %12s %10s\n", "round", "written", "consumed",
                "events/op", "cpu ms schedstat", "cpu ms stat", "ns/event");
    std::vector<double> per;
    for (size_t i = 0; i < cpu_rounds.size(); ++i) {
      const auto& c = cpu_rounds[i];
      std::printf("  %-6zu %12s %12s %10s %16s %12s %10s\n", i + 1, fmt_num(c.written, 0).c_str(),
                  fmt_num(c.events, 0).c_str(), fmt_num(c.events_per_op, 2).c_str(),
                  fmt_num(c.cpu_ns / 1e6, 2).c_str(), fmt_num(c.stat_ns / 1e6, 0).c_str(),
                  fmt_num(c.per_event, 1).c_str());
      per.push_back(c.per_event);
    }
    const double m = median(per);
    std::printf(
        "  median: %s ns of agent CPU per event consumed (target <= %.0f; Falco: 290)  %s\n",
        fmt_num(m, 1).c_str(), kCpuPerEventTarget, status_of(m, kCpuPerEventTarget));
    if (std::isnan(m)) {
      std::printf(
          "  (no events consumed during the loop: either /metrics lacks "
          "vigil_agent_events_total, or the rules do not ask for open/close and the "
          "kernel wrote nothing ('written'), or user space did not drain the ring)\n");
    }
    std::printf(
        "  CPU = sum of /proc/<pid>/task/*/schedstat run time (ns); 'stat' = utime+stime "
        "in clock ticks, a cross-check.\n");
    result_max("agent_cpu_ns_per_event", m, "ns", kCpuPerEventTarget);
  }
}

struct ThroughputRow {
  std::string label;
  int loops = 0;
  std::vector<int> cpus;
  double target_rate = NAN;  // events/s per loop (paced runs)
  double paced_epo = NAN;    // events per open+close used to pace (paced runs)
  LoopRun run;
  double kernel_events = NAN, consumed = NAN, drops = NAN, agent_cpu_ns = NAN;
  // Events/s the rest of the machine produced (written + dropped) in the second before the run:
  // the metrics count every process, not only the loops.
  double background_per_s = NAN;
  double events_per_s() const { return kernel_events / run.elapsed_s; }  // written
  // Events produced during the run (the loops and the background): written or dropped.
  double offered_per_s() const { return (kernel_events + drops) / run.elapsed_s; }
  // The loops' share: offered minus the background rate.
  double loops_per_s() const {
    return offered_per_s() - (std::isnan(background_per_s) ? 0 : background_per_s);
  }
  double events_per_op() const { return loops_per_s() * run.elapsed_s / run.total_ops(); }
  double drop_pct() const {
    return kernel_events + drops > 0 ? 100.0 * drops / (kernel_events + drops) : NAN;
  }
};

ThroughputRow measure_loops(Agent& agent, int loops, double seconds, double ops_per_s) {
  ThroughputRow row;
  row.loops = loops;
  row.cpus = loop_cpus(loops);
  auto produced = [](const Metrics& m) {
    return m.sum("vigil_agent_kernel_events_total") + m.sum("vigil_agent_drops_total");
  };
  Metrics bg = agent.settle();
  const int64_t bg_t0 = now_ns();
  sleep_ms(1000);
  Metrics m0 = agent.metrics();
  row.background_per_s =
      (produced(m0) - produced(bg)) / (static_cast<double>(now_ns() - bg_t0) / 1e9);
  CpuTime c0 = process_cpu(agent.pid());
  row.run = run_loops(row.cpus, seconds, ops_per_s);
  CpuTime c1 = process_cpu(agent.pid());
  Metrics m1 = agent.settle();
  row.kernel_events =
      m1.sum("vigil_agent_kernel_events_total") - m0.sum("vigil_agent_kernel_events_total");
  row.drops = m1.sum("vigil_agent_drops_total") - m0.sum("vigil_agent_drops_total");
  row.consumed = m1.sum("vigil_agent_events_total") - m0.sum("vigil_agent_events_total");
  row.agent_cpu_ns = c1.best() - c0.best();
  return row;
}

void print_throughput_table(const std::vector<ThroughputRow>& rows, bool paced) {
  if (paced) {
    std::printf("  %-11s %5s %5s %10s %11s %9s %11s %11s %11s %9s %8s %9s\n", "target/loop",
                "loops", "cpus", "ops/s/loop", "offered/s", "bg/s", "per loop", "written/s",
                "consumed/s", "drops", "drop %", "agent cpu");
  } else {
    std::printf("  %-5s %5s %10s %11s %9s %11s %11s %9s %8s %9s %9s\n", "loops", "cpus", "ops/s",
                "offered/s", "bg/s", "written/s", "consumed/s", "drops", "drop %", "agent cpu",
                "events/op");
  }
  for (const auto& r : rows) {
    const double s = r.run.elapsed_s;
    const std::string cpu_pct = fmt_num(100.0 * r.agent_cpu_ns / 1e9 / s, 1) + "%";
    if (paced) {
      std::printf("  %-11s %5d %5s %10.0f %11.0f %9.0f %11.0f %11.0f %11.0f %9.0f %8s %9s\n",
                  r.target_rate > 0 ? fmt_num(r.target_rate, 0).c_str() : "max", r.loops,
                  cpu_list(r.cpus).c_str(), r.run.total_ops() / s / r.loops, r.offered_per_s(),
                  r.background_per_s, r.run.total_ops() / s / r.loops * r.paced_epo,
                  r.events_per_s(), r.consumed / s, r.drops, fmt_num(r.drop_pct(), 3).c_str(),
                  cpu_pct.c_str());
    } else {
      std::printf("  %-5d %5s %10.0f %11.0f %9.0f %11.0f %11.0f %9.0f %8s %9s %9s\n", r.loops,
                  cpu_list(r.cpus).c_str(), r.run.total_ops() / s, r.offered_per_s(),
                  r.background_per_s, r.events_per_s(), r.consumed / s, r.drops,
                  fmt_num(r.drop_pct(), 3).c_str(), cpu_pct.c_str(),
                  fmt_num(r.events_per_op(), 2).c_str());
    }
  }
  std::printf(
      "  offered = events produced during the run (written + dropped; every process on the "
      "machine counts);\n  bg = the same rate in the second before the run, without the loops "
      "(events/op excludes it);\n  per loop (paced) = the loop's own open+close/s x the events "
      "per open+close of the unpaced single loop;\n  written = into the ring "
      "(vigil_agent_kernel_events_total); consumed = read by user space "
      "(vigil_agent_events_total);\n  drop %% = drops / offered; agent cpu = the agent's CPU "
      "time / wall time.\n");
}

void report_memory(const Agent& agent) {
  MemInfo m = process_memory(agent.pid());
  std::printf("\n== Memory of the agent (pid %d) after the workloads\n", agent.pid());
  if (!m.ok) {
    std::printf("  could not read /proc/%d/status\n", agent.pid());
    result_max("agent_rss_excl_ring_mb", NAN, "MB", kRssTargetMb);
    return;
  }
  const double excl = (m.vm_rss_kb - m.bpf_map_rss_kb) / 1024.0;
  std::printf("  VmRSS      %9.1f MB   (peak VmHWM %.1f MB, %d threads)\n", m.vm_rss_kb / 1024,
              m.vm_hwm_kb / 1024, m.threads);
  std::printf("  RssAnon    %9.1f MB\n", m.rss_anon_kb / 1024);
  std::printf("  RssFile    %9.1f MB\n", m.rss_file_kb / 1024);
  std::printf("  RssShmem   %9.1f MB\n", m.rss_shmem_kb / 1024);
  std::printf(
      "  BPF maps   %9.1f MB resident in %d anon_inode:bpf-map mapping%s (%.1f MB mapped;"
      " the ring buffer's data pages are mapped twice)\n",
      m.bpf_map_rss_kb / 1024, m.bpf_map_mappings, m.bpf_map_mappings == 1 ? "" : "s",
      m.bpf_map_size_kb / 1024);
  std::printf("  RSS excluding the ring: %.1f MB (target <= %.0f MB)  %s\n", excl, kRssTargetMb,
              status_of(excl, kRssTargetMb));
  result_max("agent_rss_excl_ring_mb", excl, "MB", kRssTargetMb);
  result_info("agent_vmrss_mb", m.vm_rss_kb / 1024, "MB");
  result_info("agent_rss_anon_mb", m.rss_anon_kb / 1024, "MB");
  result_info("agent_rss_file_mb", m.rss_file_kb / 1024, "MB");
  result_info("agent_rss_shmem_mb", m.rss_shmem_kb / 1024, "MB");
  result_info("agent_bpf_map_rss_mb", m.bpf_map_rss_kb / 1024, "MB");
}

void run_throughput_and_memory(const Options& o) {
  const bool throughput = selected(o, "throughput");
  Agent agent;
  agent.start(o, throughput ? "throughput" : "memory");
  if (throughput) {
    std::printf("\n== Throughput: parallel open+close loops, %.1f s each, unpaced\n", o.duration_s);
    std::vector<ThroughputRow> rows;
    for (int loops : {1, 2}) rows.push_back(measure_loops(agent, loops, o.duration_s, 0));
    print_throughput_table(rows, false);
    if (allowed_cpus().size() < 2)
      std::printf("  WARNING: only one CPU available: both loops ran on it\n");
    for (const auto& r : rows) {
      const std::string p = "throughput_" + std::to_string(r.loops) + "loop";
      result_info(p + "_events_per_s", r.events_per_s(), "events/s");
      result_info(p + "_offered_events_per_s", r.offered_per_s(), "events/s");
      if (r.loops == 2) {
        result_max(p + "_drop_pct", r.drop_pct(), "%", 0);
      } else {
        result_info(p + "_drop_pct", r.drop_pct(), "%");
      }
    }
    for (const auto& r : rows) {
      if (r.background_per_s > 0.1 * r.offered_per_s()) {
        std::printf(
            "  NOTE: other processes produced %.0f events/s (%.0f%% of the %d-loop run's): "
            "the events/s and events/op of the loops are approximate\n",
            r.background_per_s, 100.0 * r.background_per_s / r.offered_per_s(), r.loops);
      }
    }
    std::printf("  two loops on two CPUs: %s drops (target 0; Falco drops 4.9%%)  %s\n",
                fmt_num(rows[1].drops, 0).c_str(), status_of(rows[1].drop_pct(), 0));

    // Events per open+close pair, from the unpaced single loop: converts events/s to pairs/s.
    const double epo = rows[0].events_per_op();
    if (!o.rates.empty() && !(epo >= 0.1)) {
      std::printf(
          "\n== Paced throughput: skipped: the unpaced open+close loop produced %s kernel "
          "events per pair (the rules do not ask for open/close?), so a rate in events/s cannot "
          "be paced\n",
          fmt_num(epo, 4).c_str());
      result_info("throughput_max_zero_drop_events_per_s_per_loop", NAN, "events/s");
    } else if (!o.rates.empty()) {
      std::printf("\n== Paced throughput: 2 loops, %.1f s each, %.2f events per open+close\n",
                  o.duration_s, epo);
      std::vector<ThroughputRow> paced;
      double best = NAN;
      bool best_is_max = false;
      for (double rate : o.rates) {
        ThroughputRow r = measure_loops(agent, 2, o.duration_s, rate > 0 ? rate / epo : 0);
        r.target_rate = rate;
        r.paced_epo = epo;
        paced.push_back(r);
        // The loops count their own operations exactly; the metrics also count every other
        // process, so the loops' rate is their operations times the events per operation.
        const double per_loop = r.run.total_ops() / r.run.elapsed_s / 2 * epo;
        const bool reached = rate <= 0 || per_loop >= 0.95 * rate;
        if (r.drops == 0 && reached && (std::isnan(best) || per_loop > best)) {
          best = per_loop;
          best_is_max = rate <= 0;
        }
        std::printf("  %s events/s per loop: %.0f achieved, %.0f drops%s\n",
                    rate > 0 ? fmt_num(rate, 0).c_str() : "max", per_loop, r.drops,
                    reached ? "" : " (target not reached: the loop is CPU-bound)");
        std::fflush(stdout);
      }
      std::printf("\n");
      print_throughput_table(paced, true);
      std::printf("  highest sustained rate with zero drops: %s events/s per loop%s\n",
                  fmt_num(best, 0).c_str(),
                  best_is_max ? " (unpaced: as fast as the loop runs)" : "");
      result_info("throughput_max_zero_drop_events_per_s_per_loop", best, "events/s");
    }
  } else {
    // --only memory: some work first, so the agent's tables and buffers are populated.
    pin_self(o.cpu);
    time_open_close(o.open_iters);
    time_fork_exec(std::max(1L, o.fork_iters / 4));
    unpin_self();
    agent.settle();
  }
  if (selected(o, "memory")) report_memory(agent);
  agent.stop(o);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  g_keep_tmp = o.keep_tmp;
  if (geteuid() != 0) {
    std::fprintf(stderr,
                 "agent_overhead_bench: refusing to run: needs root (the agent loads BPF programs;"
                 " the bench reads /proc/<agent pid>/ and may set kernel.bpf_stats_enabled).\n"
                 "Run it as root, e.g.: sudo %s\n",
                 argv[0]);
    return 2;
  }
  if (access(o.agent.c_str(), X_OK) != 0) {
    std::fprintf(stderr,
                 "agent_overhead_bench: no executable agent at %s: %s\n"
                 "Build it (ninja -C <build dir> vigil-agent) or pass --agent PATH.\n",
                 o.agent.c_str(), std::strerror(errno));
    return 2;
  }
  sched_getaffinity(0, sizeof g_all_cpus, &g_all_cpus);
  if (o.cpu >= 0 && !CPU_ISSET(o.cpu, &g_all_cpus)) usage_error("--cpu %d is not available", o.cpu);

  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGHUP, on_signal);
  signal(SIGPIPE, SIG_IGN);

  char tmpl[] = "/tmp/vigil-agent-bench.XXXXXX";
  if (!mkdtemp(tmpl)) fail("mkdtemp: %s", std::strerror(errno));
  g_tmpdir = tmpl;
  g_test_file = g_tmpdir + "/open-close-target.txt";
  {
    std::ofstream f(g_test_file);
    f << "a regular file the open+close workload opens\n";
  }

  utsname u{};
  uname(&u);
  std::printf("agent_overhead_bench: %s %s, %zu CPUs allowed (%s), CLK_TCK %ld\n", u.sysname,
              u.release, allowed_cpus().size(), cpu_list(allowed_cpus()).c_str(),
              sysconf(_SC_CLK_TCK));
  std::string extra;
  for (const auto& a : o.agent_args) extra += " " + a;
  std::string loadavg;
  if (read_text("/proc/loadavg", &loadavg)) {
    const double load1 = std::strtod(loadavg.c_str(), nullptr);
    std::printf("  load average (1 min): %.2f\n", load1);
    if (load1 > 0.5 * static_cast<double>(allowed_cpus().size())) {
      std::fprintf(stderr,
                   "agent_overhead_bench: WARNING: the machine is busy (load average %.2f on %zu "
                   "CPUs): other processes compete for the CPUs and their syscalls count in the "
                   "agent's metrics; the figures will be noisy\n",
                   load1, allowed_cpus().size());
    }
  }
  std::printf("  agent: %s%s (default rules unless the extra arguments say otherwise)\n",
              o.agent.c_str(), extra.c_str());
  std::printf(
      "  iterations per measurement: open+close %ld, getppid %ld, fork+exec %ld; "
      "rounds %d; throughput %.1f s\n",
      o.open_iters, o.getppid_iters, o.fork_iters, o.rounds, o.duration_s);

  auto others = find_processes({"vigil-agent", "falco"});
  for (const auto& [pid, cmd] : others) {
    std::fprintf(stderr,
                 "agent_overhead_bench: WARNING: another agent is running (pid %d: %s); its "
                 "probes add their own overhead and skew every figure\n",
                 pid, cmd.c_str());
  }

  std::string v;
  int bpf_stats_now =
      read_text("/proc/sys/kernel/bpf_stats_enabled", &v) ? std::atoi(v.c_str()) : -1;
  if (o.bpf_stats) {
    if (bpf_stats_now < 0) fail("cannot read /proc/sys/kernel/bpf_stats_enabled");
    g_bpf_stats_restore = bpf_stats_now;
    std::ofstream f("/proc/sys/kernel/bpf_stats_enabled");
    f << "1\n";
    f.close();
    if (!f) fail("cannot set kernel.bpf_stats_enabled=1");
    std::printf(
        "  kernel.bpf_stats_enabled=1 for this run (was %d): the overhead figures include"
        " the cost of the statistics\n",
        bpf_stats_now);
  } else if (bpf_stats_now == 1) {
    std::fprintf(stderr,
                 "agent_overhead_bench: WARNING: kernel.bpf_stats_enabled is already 1; every BPF"
                 " program run pays for its statistics, inflating the overhead\n");
  }

  const int64_t t0 = now_ns();
  if (selected(o, "overhead") || selected(o, "cpu")) run_rounds(o);
  if (selected(o, "throughput") || selected(o, "memory")) run_throughput_and_memory(o);
  if (o.bpf_stats) print_bpf_stats_table();
  restore_bpf_stats();

  if (!g_startup_s.empty()) {
    const double s = median(g_startup_s);
    std::printf("\nAgent start to /healthz 200: median %.2f s over %zu starts\n", s,
                g_startup_s.size());
    result_info("agent_startup_s", s, "s");
  }
  std::printf(
      "\nTotal time %.0f s. Figures (status PASS/MISS against the target; INFO: no "
      "target):\n",
      static_cast<double>(now_ns() - t0) / 1e9);
  for (const auto& r : g_results) {
    std::string value = std::isnan(r.value) ? "nan" : fmt_num(r.value, 3);
    std::printf("RESULT %s=%s unit=%s target=%s status=%s\n", r.name.c_str(), value.c_str(),
                r.unit.c_str(), r.target.c_str(), r.status.c_str());
  }
  remove_tmpdir();
  return 0;
}
