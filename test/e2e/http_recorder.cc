// vigil-test-http-recorder: a tiny HTTP server for the e2e scripts. It answers POST and PUT on
// the given paths with a fixed status and appends each request to a file as one JSON line
// ({"method", "path", "content_type", "body"}), so a script can check what a sink delivered.
//
// Usage: vigil-test-http-recorder --out FILE --port-file FILE [--path P]... [--status N]
//        [--port N]   (default: a free port)
// Listens on 127.0.0.1, on a free port written to --port-file once it serves; runs until
// SIGTERM or SIGINT.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/http/server.h"

int main(int argc, char** argv) {
  std::string out_path, port_file;
  std::vector<std::string> paths;
  int status = 200;
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "http-recorder: %s needs a value\n", a.c_str());
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--out") {
      out_path = v;
    } else if (a == "--port-file") {
      port_file = v;
    } else if (a == "--path") {
      paths.push_back(v);
    } else if (a == "--status") {
      status = std::atoi(v.c_str());
    } else if (a == "--port") {
      port = std::atoi(v.c_str());
    } else {
      std::fprintf(stderr, "http-recorder: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (out_path.empty() || port_file.empty()) {
    std::fputs(
        "usage: vigil-test-http-recorder --out FILE --port-file FILE [--path P]... "
        "[--status N] [--port N]\n",
        stderr);
    return 2;
  }
  if (paths.empty()) paths.emplace_back("/");

  // Block the stop signals before the server's threads start, so only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  std::mutex out_mu;  // guards `out`
  std::ofstream out(out_path, std::ios::app);
  if (!out) {
    std::fprintf(stderr, "http-recorder: cannot open %s\n", out_path.c_str());
    return 1;
  }
  auto record = [&](const vigil::http::Request& r) {
    nlohmann::json line = {{"method", r.method},
                           {"path", r.path},
                           {"content_type", r.header("Content-Type")},
                           {"body", r.body}};
    std::lock_guard lock(out_mu);
    out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out.flush();
    vigil::http::Response resp;
    resp.status = status;
    resp.body = status >= 200 && status < 300 ? "ok\n" : "recorder error\n";
    return resp;
  };
  std::vector<std::pair<std::string, std::pair<std::string, vigil::http::Handler>>> routes;
  for (const auto& p : paths) {
    routes.push_back(vigil::http::route("POST", p, record));
    routes.push_back(vigil::http::route("PUT", p, record));
  }
  vigil::http::ServerOptions options;
  options.name = "recorder";
  options.port = static_cast<uint16_t>(port);  // 0: a free one
  auto server = vigil::http::HttpServer::start(options, routes);
  if (!server.ok()) {
    std::fprintf(stderr, "http-recorder: %s\n", server.error().c_str());
    return 1;
  }
  {
    const std::string tmp = port_file + ".tmp";
    std::ofstream(tmp) << (*server)->port() << '\n';
    std::rename(tmp.c_str(), port_file.c_str());  // the script never reads a partial file
  }
  int sig = 0;
  sigwait(&stop, &sig);
  (*server)->stop();
  return 0;
}
