#pragma once

// A small HTTP/1.1 server for the operator and agent: health and readiness probes, metrics, and
// (with TLS) the audit webhook. Built on Boost.Beast, which is confined to server.cc because it
// compiles slowly; this header is plain C++.
//
// Every request is untrusted: headers and bodies have size limits (413 past the body limit),
// reads and writes have timeouts, malformed requests get 400, `Expect: 100-continue` is answered
// before the body is read (kube-apiserver's webhook client sends it for large batches).
//
// With ServerOptions::tls every connection starts with a TLS handshake (TLS 1.2 or later), and
// client certificates can be requested or required; the limits and timeouts above apply the same.
// reload_tls() rotates the certificate for new connections without a restart.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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
  bool tls = false;  // arrived over TLS
  // A client certificate was presented and verified against TlsOptions::client_ca_pem.
  bool client_cert_verified = false;
  std::string client_common_name;  // its subject CN when verified, otherwise ""

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

struct TlsOptions {
  std::string cert_pem;  // serving certificate, then its intermediates, PEM
  std::string key_pem;   // its private key, PEM (PKCS#8 or traditional), not encrypted
  // When not empty: client certificates are requested and verified against these CAs (one or more
  // PEM certificates). A presented certificate that does not verify fails the handshake.
  std::string client_ca_pem;
  // With client_ca_pem (an error without it): refuse the handshake without a valid client
  // certificate.
  bool require_client_cert = false;
};

// Looks at a request before its body is read (the Request has no body); a response it returns
// is sent at once and the connection closed, the body never read. For authentication, so an
// unauthenticated caller cannot make the server buffer a body up to the limit.
using BeforeBody = std::function<std::optional<Response>(const Request&)>;

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
  std::optional<TlsOptions> tls;
  BeforeBody before_body;  // optional  // unset: plain HTTP
};

struct ServerStats {
  uint64_t requests = 0;
  uint64_t bad_requests = 0;  // 400: malformed
  uint64_t too_large = 0;     // 413
  uint64_t timeouts = 0;
  uint64_t rejected_connections = 0;
  uint64_t tls_handshake_failures = 0;  // includes handshakes that timed out
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;

  // Binds and starts serving; routes are exact paths ("/healthz"); unknown paths get 404 and
  // known paths with another method 405. With options.tls, invalid PEMs or a key that does not
  // match the certificate are errors ("tls: serving certificate: ...").
  static Result<std::unique_ptr<HttpServer>> start(
      const ServerOptions& options,
      const std::vector<std::pair<std::string, std::pair<std::string, Handler>>>& routes);

  virtual uint16_t port() const = 0;
  virtual ServerStats stats() const = 0;
  // Replaces the certificate, key and client CAs for new connections (certificate rotation);
  // open connections keep what they negotiated. On error (invalid PEMs, a key that does not match,
  // a server started without TLS) the current ones stay.
  virtual Result<bool> reload_tls(const TlsOptions& tls) = 0;
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
