#pragma once

// A small HTTP/1.1 server for the operator and agent: health and readiness probes, metrics, and
// (with TLS) the audit webhook. Built on Boost.Beast, which is confined to server.cc because it
// compiles slowly; this header is plain C++.
//
// Every request is untrusted: headers and bodies have size limits (413 past the body limit),
// reads and writes have timeouts, malformed requests get 400, `Expect: 100-continue` is answered
// before the body is read (kube-apiserver's webhook client sends it for large batches).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/base/result.h"

namespace vigil::http {

struct Request {
  std::string method;  // "GET", "POST"
  std::string target;  // path and query, as sent: "/k8s-audit?x=1"
  std::string path;    // target without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // "127.0.0.1:53122"

  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Runs on a server thread: must not block for long.
using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;                              // 0: pick a free port (see HttpServer::port())
  size_t body_limit = 1u << 20;                   // bytes; larger bodies get 413
  size_t header_limit = 16u << 10;                // bytes of request line and headers
  std::chrono::milliseconds read_timeout{10000};  // for a whole request
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};  // between keep-alive requests
  size_t max_connections = 256;                   // further connections are closed at once
  int threads = 1;
  std::string name = "http";  // logger and Server header suffix
};

struct ServerStats {
  uint64_t requests = 0;
  uint64_t bad_requests = 0;  // 400: malformed
  uint64_t too_large = 0;     // 413
  uint64_t timeouts = 0;
  uint64_t rejected_connections = 0;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;

  // Binds and starts serving; routes are exact paths ("/healthz"); unknown paths get 404 and
  // known paths with another method 405.
  static Result<std::unique_ptr<HttpServer>> start(
      const ServerOptions& options,
      const std::vector<std::pair<std::string, std::pair<std::string, Handler>>>& routes);

  virtual uint16_t port() const = 0;
  virtual ServerStats stats() const = 0;
  // Stops accepting, closes connections, joins the threads. Idempotent.
  virtual void stop() = 0;
};

// Convenience for routes: {path, {method, handler}}.
inline std::pair<std::string, std::pair<std::string, Handler>> route(const std::string& method,
                                                                     const std::string& path,
                                                                     Handler handler) {
  return {path, {method, std::move(handler)}};
}

}  // namespace vigil::http
