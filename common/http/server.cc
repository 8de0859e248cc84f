// The only translation unit that includes Boost.Beast for serving (it compiles slowly).

#include "common/http/server.h"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "common/http/tls_certs.h"

namespace vigil::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t kReadBufferReserve = size_t{64} * 1024;
// How long a closing TLS connection waits for the peer's close_notify.
constexpr std::chrono::milliseconds kTlsShutdownTimeout{250};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

struct Shared {
  ServerOptions options;
  std::map<std::string, std::vector<std::pair<std::string, Handler>>> routes;
  std::atomic<uint64_t> requests{0}, bad_requests{0}, too_large{0}, timeouts{0}, rejected{0},
      tls_handshake_failures{0};
  std::atomic<size_t> connections{0};
  std::shared_ptr<spdlog::logger> log;

  // The TLS context for new connections (null for plain HTTP); reload_tls swaps it, sessions keep
  // the one they started with.
  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls_context;  // guarded by tls_mu

  std::shared_ptr<ssl::context> current_tls_context() {
    std::lock_guard<std::mutex> lock(tls_mu);
    return tls_context;
  }
};

std::string describe(const beast::error_code& ec) {
  // asio's message for an OpenSSL error is its reason string; the empty one says nothing.
  std::string m = ec.message();
  return m.empty() ? "error " + std::to_string(ec.value()) : m;
}

// Builds a server context from PEMs: TLS 1.2 or later, no compression or renegotiation, the key
// checked against the certificate, client certificates verified against client_ca_pem.
Result<std::shared_ptr<ssl::context>> make_tls_context(const TlsOptions& tls) {
  // Leave the thread's OpenSSL error queue empty, whichever way this returns.
  struct ErrorQueueScope {
    ErrorQueueScope() { ERR_clear_error(); }
    ~ErrorQueueScope() { ERR_clear_error(); }
  } error_queue_scope;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    return Error{"tls: cannot set the minimum protocol version: " + openssl_error_text()};

  beast::error_code ec;
  if (tls.cert_pem.empty()) return Error{"tls: serving certificate: no PEM given"};
  ctx->use_certificate_chain(asio::buffer(tls.cert_pem), ec);
  if (ec) return Error{"tls: serving certificate: " + describe(ec)};
  if (tls.key_pem.empty()) return Error{"tls: private key: no PEM given"};
  // asio reads the key with OpenSSL's default password callback, which would prompt on the
  // terminal for an encrypted key; refuse instead.
  SSL_CTX_set_default_passwd_cb(native, [](char*, int, int, void*) { return 0; });
  ctx->use_private_key(asio::buffer(tls.key_pem), ssl::context::pem, ec);
  // OpenSSL checks the key against the certificate as it loads it.
  if (ec && ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_LIB(static_cast<unsigned long>(ec.value())) == ERR_LIB_X509 &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH)
    return Error{"tls: key does not match the certificate"};
  if (ec) return Error{"tls: private key: " + describe(ec)};
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return Error{"tls: key does not match the certificate"};
  }

  if (tls.client_ca_pem.empty()) {
    if (tls.require_client_cert) return Error{"tls: require_client_cert needs client_ca_pem"};
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->add_certificate_authority(asio::buffer(tls.client_ca_pem), ec);
  if (ec) return Error{"tls: client CA: " + describe(ec)};
  // Name the CAs in the CertificateRequest so that clients with several certificates (Go's
  // crypto/tls) pick one these CAs issued.
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(tls.client_ca_pem.data(), static_cast<int>(tls.client_ca_pem.size())),
      &BIO_free);
  if (!bio) return Error{"tls: client CA: " + openssl_error_text()};
  while (true) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    if (!cert) break;
    if (SSL_CTX_add_client_CA(native, cert.get()) != 1)
      return Error{"tls: client CA: " + openssl_error_text()};
  }
  ERR_clear_error();  // the loop ends with "no start line"
  // Verification with SSL_VERIFY_PEER breaks session resumption unless the sessions carry an id
  // context.
  static constexpr unsigned char kSessionIdContext[] = "vigil-http";
  SSL_CTX_set_session_id_context(native, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  ctx->set_verify_mode(tls.require_client_cert ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert
                                               : ssl::verify_peer);
  return ctx;
}

// The verified client certificate's subject CN, or nullopt when no certificate was presented or
// it did not verify.
std::optional<std::string> verified_client_common_name(SSL* ssl_handle) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl_handle),
                                                   &X509_free);
  if (!cert || SSL_get_verify_result(ssl_handle) != X509_V_OK) return std::nullopt;
  std::string cn;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len >= 0) cn.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  return cn;
}

Response dispatch(Shared& shared, const Request& req) {
  auto it = shared.routes.find(req.path);
  if (it == shared.routes.end())
    return Response{404, "text/plain; charset=utf-8", "not found\n", {}};
  for (const auto& [method, handler] : it->second) {
    if (method == req.method) {
      try {
        return handler(req);
      } catch (const std::exception& e) {
        // Handlers should not throw; one that does answers 500 and the server goes on.
        shared.log->error("Handler for {} {} failed: {}", req.method, req.path, e.what());
        return Response{500, "text/plain; charset=utf-8", "internal error\n", {}};
      }
    }
  }
  Response r{405, "text/plain; charset=utf-8", "method not allowed\n", {}};
  std::string allow;
  for (const auto& [method, handler] : it->second) allow += (allow.empty() ? "" : ", ") + method;
  r.headers.emplace_back("Allow", allow);
  return r;
}

// One connection. Stream is beast::tcp_stream (plain HTTP) or beast::ssl_stream<tcp_stream> (TLS:
// a handshake first, a close_notify last); everything between is the same code.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  // tls_context: null for plain HTTP; the session keeps it alive (reload_tls may replace it).
  Session(tcp::socket socket, std::shared_ptr<Shared> shared,
          std::shared_ptr<ssl::context> tls_context)
      : tls_context_(std::move(tls_context)),
        stream_(make_stream(std::move(socket), tls_context_.get())),
        shared_(std::move(shared)) {
    buffer_.reserve(kReadBufferReserve);
    ++shared_->connections;
  }
  ~Session() { --shared_->connections; }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->handshake();
      } else {
        self->read_header();
      }
    });
  }

 private:
  static Stream make_stream(tcp::socket socket, ssl::context* tls_context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls_context);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  void handshake() {
    tcp_layer().expires_after(shared_->options.read_timeout);
    stream_.async_handshake(
        ssl::stream_base::server,
        [self = this->shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      // Not a TLS client, a timeout, or a client certificate that is missing or does not verify.
      ++shared_->tls_handshake_failures;
      if (ec == beast::error::timeout) ++shared_->timeouts;
      shared_->log->debug("TLS handshake with {} failed: {}", peer(), ec.message());
      beast::error_code ignored;
      tcp_layer().socket().close(ignored);  // no close_notify after a failed handshake
      return;
    }
    if (auto cn = verified_client_common_name(stream_.native_handle())) {
      client_cert_verified_ = true;
      client_common_name_ = std::move(*cn);
    }
    read_header();
  }

  std::string peer() {
    beast::error_code ec;
    auto ep = tcp_layer().socket().remote_endpoint(ec);
    if (ec) return {};
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->options.header_limit));
    parser_->body_limit(shared_->options.body_limit);
    tcp_layer().expires_after(first_ ? shared_->options.read_timeout
                                     : shared_->options.idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return fail(ec, /*in_header=*/true);
    first_ = false;
    tcp_layer().expires_after(shared_->options.read_timeout);
    const auto& h = parser_->get();
    if (shared_->options.before_body) {
      Request head = request_head(h);
      std::optional<Response> early;
      try {
        early = shared_->options.before_body(head);
      } catch (const std::exception& e) {
        shared_->log->error("Request check for {} {} failed: {}", head.method, head.path, e.what());
        early = Response{500, "text/plain; charset=utf-8", "internal error\n", {}};
      }
      if (early) return write(std::move(*early), false, h.version());
    }
    // A declared body over the limit is refused before it is sent.
    if (auto len = parser_->content_length(); len && *len > shared_->options.body_limit) {
      ++shared_->too_large;
      return reply_error(413, "request body too large\n");
    }
    auto expect = h.find(bhttp::field::expect);
    if (expect != h.end() && iequals(expect->value(), "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                       h.version());
      bhttp::async_write(stream_, *cont,
                         [self = this->shared_from_this(), cont](beast::error_code ec, size_t) {
                           if (ec) return self->fail(ec, false);
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      ++shared_->too_large;
      return reply_error(413, "request body too large\n");
    }
    if (ec) return fail(ec, false);
    ++shared_->requests;
    auto msg = parser_->release();
    Request req = request_head(msg);
    req.body = std::move(msg.body());
    Response r = dispatch(*shared_, req);
    write(std::move(r), msg.keep_alive(), msg.version());
  }

  // Everything of a request but its body.
  template <class Header>
  Request request_head(const Header& h) {
    Request req;
    req.method = std::string(h.method_string());
    req.target = std::string(h.target());
    req.path = req.target.substr(0, req.target.find('?'));
    for (const auto& f : h)
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.peer = peer();
    req.tls = kTls;
    req.client_cert_verified = client_cert_verified_;
    req.client_common_name = client_common_name_;
    return req;
  }

  void write(Response r, bool keep_alive, unsigned version) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version);
    res->set(bhttp::field::server, "vigil-" + shared_->options.name);
    res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    tcp_layer().expires_after(shared_->options.write_timeout);
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                         if (ec) return self->fail(ec, false);
                         if (!res->keep_alive()) return self->drain_and_close();
                         self->read_header();
                       });
  }

  void reply_error(int status, const char* body) {
    // Answer, then close; the rest of the request is not processed.
    Response r{status, "text/plain; charset=utf-8", body, {}};
    write(std::move(r), false, 11);
  }

  // A lingering close: stop sending, then read and discard what the client still sends for a
  // moment, so the kernel does not answer unread data with a reset that destroys our response
  // (the client is typically still sending the body we refused).
  //
  // Over TLS, stopping to send means a close_notify, after which OpenSSL treats further
  // application data as a fatal error; so TLS drains first, until the client closes (it has the
  // whole response, with Content-Length and "Connection: close") or the second passes, and then
  // shuts TLS down.
  void drain_and_close() {
    if constexpr (!kTls) {
      beast::error_code ignored;
      tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    tcp_layer().expires_after(std::chrono::seconds(1));
    drain_buf_.resize(size_t{16} * 1024);
    drain_left_ = 4u << 20;
    drain();
  }
  void drain() {
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec || n >= self->drain_left_) return self->close();
                              self->drain_left_ -= n;
                              self->drain();
                            });
  }

  void fail(beast::error_code ec, bool in_header) {
    if (ec == beast::error::timeout) {
      ++shared_->timeouts;
      return close();
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close();
    }
    if (ec ==
        bhttp::error::body_limit) {  // a chunked body can pass the limit while headers are read
      ++shared_->too_large;
      return reply_error(413, "request body too large\n");
    }
    if (in_header && ec == bhttp::error::header_limit) {
      ++shared_->too_large;
      return reply_error(431, "request header fields too large\n");
    }
    if (ec.category() == beast::error_code(bhttp::error::bad_method).category()) {
      ++shared_->bad_requests;
      return reply_error(400, "bad request\n");
    }
    close();
  }

  void close() {
    if constexpr (kTls) {
      if (closing_) return;
      closing_ = true;
      // Send close_notify and wait briefly for the peer's; errors (a peer that is gone, a socket
      // a timeout closed) do not matter any more.
      tcp_layer().expires_after(kTlsShutdownTimeout);
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        self->tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
        self->tcp_layer().close();
      });
    } else {
      beast::error_code ignored;
      tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
      tcp_layer().close();
    }
  }

  std::shared_ptr<ssl::context> tls_context_;  // before stream_, which refers to it
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  bool first_ = true;
  std::vector<char> drain_buf_;
  size_t drain_left_ = 0;
  bool client_cert_verified_ = false;
  std::string client_common_name_;
  bool closing_ = false;
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(std::shared_ptr<Shared> shared)
      : shared_(std::move(shared)), ioc_(shared_->options.threads) {}
  ~BeastServer() override { stop(); }

  Result<bool> listen() {
    beast::error_code ec;
    auto addr = asio::ip::make_address(shared_->options.address, ec);
    if (ec)
      return Error{"invalid listen address '" + shared_->options.address + "': " + ec.message()};
    tcp::endpoint ep(addr, shared_->options.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Error{"cannot listen on " + shared_->options.address + ":" +
                   std::to_string(shared_->options.port) + ": " + ec.message()};
    }
    port_ = acceptor_.local_endpoint().port();
    accept();
    for (int i = 0; i < std::max(1, shared_->options.threads); ++i)
      threads_.emplace_back([this] { ioc_.run(); });
    return true;
  }

  uint16_t port() const override { return port_; }

  ServerStats stats() const override {
    return ServerStats{shared_->requests.load(),  shared_->bad_requests.load(),
                       shared_->too_large.load(), shared_->timeouts.load(),
                       shared_->rejected.load(),  shared_->tls_handshake_failures.load()};
  }

  Result<bool> reload_tls(const TlsOptions& tls) override {
    if (!shared_->options.tls) return Error{"server was started without TLS"};
    auto ctx = make_tls_context(tls);
    if (!ctx.ok()) return Error{ctx.error()};
    std::lock_guard<std::mutex> lock(shared_->tls_mu);
    shared_->tls_context = std::move(ctx.value());
    return true;
  }

  void stop() override {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // No thread runs handlers now: close the listening socket so the port is free at once.
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec,
                                                           tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (shared_->connections.load() >= shared_->options.max_connections) {
          ++shared_->rejected;
          beast::error_code ignored;
          socket.close(ignored);
        } else if (shared_->options.tls) {
          std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              std::move(socket), shared_, shared_->current_tls_context())
              ->run();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(std::move(socket), shared_, nullptr)->run();
        }
      }
      accept();
    });
  }

  std::shared_ptr<Shared> shared_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
};

}  // namespace

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(
    const ServerOptions& options,
    const std::vector<std::pair<std::string, std::pair<std::string, Handler>>>& routes) {
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->log = spdlog::get(options.name);
  if (!shared->log) shared->log = spdlog::default_logger();
  for (const auto& [path, mh] : routes) shared->routes[path].push_back(mh);
  if (options.tls) {
    auto ctx = make_tls_context(*options.tls);
    if (!ctx.ok()) return Error{ctx.error()};
    shared->tls_context = std::move(ctx.value());
  }
  auto server = std::make_unique<BeastServer>(shared);
  auto ok = server->listen();
  if (!ok.ok()) return Error{ok.error()};
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace vigil::http
