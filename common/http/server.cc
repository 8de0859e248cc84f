// The only translation unit that includes Boost.Beast for serving (it compiles slowly).

#include "common/http/server.h"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <spdlog/spdlog.h>

namespace vigil::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kReadBufferReserve = size_t{64} * 1024;

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
  std::atomic<uint64_t> requests{0}, bad_requests{0}, too_large{0}, timeouts{0}, rejected{0};
  std::atomic<size_t> connections{0};
  std::shared_ptr<spdlog::logger> log;
};

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

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    buffer_.reserve(kReadBufferReserve);
    ++shared_->connections;
  }
  ~Session() { --shared_->connections; }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
  }

 private:
  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_->options.header_limit));
    parser_->body_limit(shared_->options.body_limit);
    stream_.expires_after(first_ ? shared_->options.read_timeout : shared_->options.idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return fail(ec, /*in_header=*/true);
    first_ = false;
    stream_.expires_after(shared_->options.read_timeout);
    const auto& h = parser_->get();
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
                         [self = shared_from_this(), cont](beast::error_code ec, size_t) {
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
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      ++shared_->too_large;
      return reply_error(413, "request body too large\n");
    }
    if (ec) return fail(ec, false);
    ++shared_->requests;
    auto msg = parser_->release();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.path = req.target.substr(0, req.target.find('?'));
    for (const auto& f : msg)
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    beast::error_code ignored;
    auto ep = stream_.socket().remote_endpoint(ignored);
    if (!ignored) req.peer = ep.address().to_string() + ":" + std::to_string(ep.port());
    Response r = dispatch(*shared_, req);
    write(std::move(r), msg.keep_alive(), msg.version());
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
    stream_.expires_after(shared_->options.write_timeout);
    bhttp::async_write(stream_, *res,
                       [self = shared_from_this(), res](beast::error_code ec, size_t) {
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
  void drain_and_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(1));
    drain_buf_.resize(size_t{16} * 1024);
    drain_left_ = 4u << 20;
    drain();
  }
  void drain() {
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec || n >= self->drain_left_) return self->stream_.close();
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
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  bool first_ = true;
  std::vector<char> drain_buf_;
  size_t drain_left_ = 0;
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
    return ServerStats{shared_->requests.load(), shared_->bad_requests.load(),
                       shared_->too_large.load(), shared_->timeouts.load(),
                       shared_->rejected.load()};
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
    acceptor_.async_accept(
        asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
          if (ec == asio::error::operation_aborted) return;
          if (!ec) {
            if (shared_->connections.load() >= shared_->options.max_connections) {
              ++shared_->rejected;
              beast::error_code ignored;
              socket.close(ignored);
            } else {
              std::make_shared<Session>(std::move(socket), shared_)->run();
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
  auto server = std::make_unique<BeastServer>(shared);
  auto ok = server->listen();
  if (!ok.ok()) return Error{ok.error()};
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace vigil::http
