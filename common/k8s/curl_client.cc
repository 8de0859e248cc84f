#include "common/k8s/curl_client.h"

#include <mutex>
#include <utility>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/k8s/log.h"
#include "common/k8s/token_file.h"
#include "common/k8s/watch_stream.h"

namespace vigil::k8s {

namespace {

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;

struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
using MultiHandle = std::unique_ptr<CURLM, MultiDeleter>;

struct HeaderListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

// Error bodies are only read for their message.
constexpr size_t kMaxErrorBodyBytes = 64u << 10;

Result<int> global_init() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    return make_error(fmt::format("libcurl initialisation failed: {}", curl_easy_strerror(rc)));
  }
  return 0;
}

// "https://host:port/prefix" split so the host can be swapped for tls-server-name.
struct ServerUrl {
  std::string scheme;  // "https"
  std::string host;    // "127.0.0.1", "[::1]", "api.example.com"
  std::string port;    // "6443"; defaulted from the scheme when absent
  std::string prefix;  // "" or "/k8s/clusters/c1" (a proxy path in front of the API)
};

Result<ServerUrl> parse_server(const std::string& server) {
  ServerUrl u;
  const auto sep = server.find("://");
  if (sep == std::string::npos) return make_error(fmt::format("server {} is not a URL", server));
  u.scheme = server.substr(0, sep);
  std::string rest = server.substr(sep + 3);
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    u.prefix = rest.substr(slash);
    rest.resize(slash);
  }
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  const auto bracket = rest.rfind(']');
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    u.host = rest.substr(0, colon);
    u.port = rest.substr(colon + 1);
  } else {
    u.host = rest;
    u.port = u.scheme == "http" ? "80" : "443";
  }
  if (u.host.empty()) return make_error(fmt::format("server {} has no host", server));
  return u;
}

// "64 MiB", "4096 bytes".
std::string format_size(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} bytes", bytes);
}

struct BodySink {
  std::string* out;
  size_t limit;
  bool overflowed = false;
};

size_t write_body(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* sink = static_cast<BodySink*>(userdata);
  const size_t n = size * nmemb;
  if (sink->out->size() + n > sink->limit) {
    sink->overflowed = true;
    return 0;  // anything but n aborts the transfer with CURLE_WRITE_ERROR
  }
  sink->out->append(data, n);
  return n;
}

std::string reason_phrase(int status) {
  switch (status) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 500:
      return "InternalError";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "Failure";
  }
}

// "409 Conflict: Operation cannot be fulfilled on ..." from a metav1.Status body, or the start of
// whatever else the server sent.
std::string describe_status(int status, std::string_view body) {
  const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    std::string reason = reason_phrase(status);
    std::string message;
    if (auto it = doc.find("reason");
        it != doc.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) {
      reason = it->get<std::string>();
    }
    if (auto it = doc.find("message"); it != doc.end() && it->is_string())
      message = it->get<std::string>();
    if (!message.empty()) return fmt::format("{} {}: {}", status, reason, message);
    return fmt::format("{} {}", status, reason);
  }
  std::string excerpt(body.substr(0, 200));
  for (char& c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (excerpt.empty()) return fmt::format("{} {}", status, reason_phrase(status));
  return fmt::format("{} {}: {}", status, reason_phrase(status), excerpt);
}

void append_write_options(std::string& path, const WriteOptions& o, PatchType type, bool is_patch) {
  append_query(path, "fieldManager", o.field_manager);
  if (o.force && is_patch && type == PatchType::kApply) append_query(path, "force", "true");
  if (o.dry_run) append_query(path, "dryRun", "All");
}

}  // namespace

struct CurlClient::Impl {
  ClientConfig config;
  CurlClientOptions options;
  std::string base_url;    // scheme://host:port/prefix, host being tls-server-name if set
  std::string connect_to;  // "tls-server-name:port:host:port" when tls-server-name is set
  std::unique_ptr<TokenFile> token_file;

  std::mutex pool_mu;
  std::vector<EasyHandle> idle;  // guarded by pool_mu

  EasyHandle acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!idle.empty()) {
        EasyHandle h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    return EasyHandle(curl_easy_init());
  }

  void release(EasyHandle h) {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (idle.size() < options.max_idle_connections) idle.push_back(std::move(h));
  }

  Result<std::string> bearer_token() {
    if (token_file) return token_file->token();
    return config.token;
  }

  // Sets every option of one request on a freshly reset handle. `body` must outlive the transfer.
  Result<HeaderList> prepare(CURL* h, std::string_view method, const std::string& url,
                             std::string_view body, std::string_view content_type, long timeout_ms,
                             bool compressed, char* error_buffer) {
    curl_easy_reset(h);  // keeps the connection, session and DNS caches
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, options.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (compressed)
      curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");  // gzip when the server offers it

    // TLS. The cluster CA replaces the system trust store instead of adding to it.
    if (config.insecure_skip_tls_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    }
    if (!config.ca_pem.empty()) {
      curl_blob ca{const_cast<char*>(config.ca_pem.data()), config.ca_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
      curl_easy_setopt(h, CURLOPT_CAPATH, nullptr);
    }
    if (!config.client_cert_pem.empty()) {
      curl_blob cert{const_cast<char*>(config.client_cert_pem.data()),
                     config.client_cert_pem.size(), CURL_BLOB_COPY};
      curl_blob key{const_cast<char*>(config.client_key_pem.data()), config.client_key_pem.size(),
                    CURL_BLOB_COPY};
      curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (!config.proxy_url.empty()) curl_easy_setopt(h, CURLOPT_PROXY, config.proxy_url.c_str());

    curl_slist* raw = nullptr;
    raw = curl_slist_append(raw, "Accept: application/json");
    raw = curl_slist_append(raw, "Expect:");  // no 100-continue round trip for large bodies
    if (!content_type.empty())
      raw = curl_slist_append(raw, fmt::format("Content-Type: {}", content_type).c_str());
    HeaderList headers(raw);
    auto token = bearer_token();
    if (!token) return make_error(token.error());
    if (!token->empty()) {
      std::string auth = "Authorization: Bearer " + *token;
      headers.reset(curl_slist_append(headers.release(), auth.c_str()));
      std::fill(auth.begin(), auth.end(), '\0');
    }
    if (!headers) return make_error("cannot allocate request headers");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    if (method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      if (method != "POST") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
      }
      if (method == "POST" || !body.empty() || method == "PUT" || method == "PATCH") {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
      }
    }
    return headers;
  }

  // CONNECT_TO needs its own list that lives as long as the transfer.
  HeaderList connect_to_list() const {
    if (connect_to.empty()) return nullptr;
    return HeaderList(curl_slist_append(nullptr, connect_to.c_str()));
  }

  std::string transport_error(std::string_view method, std::string_view path, CURLcode rc,
                              const char* error_buffer, const BodySink* sink,
                              long timeout_ms) const {
    if (sink != nullptr && sink->overflowed) {
      return fmt::format("{} {}: the response is larger than the {} limit", method, path,
                         format_size(sink->limit));
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return fmt::format("{} {}: timed out after {} ms ({})", method, path, timeout_ms,
                         error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc));
    }
    return fmt::format("{} {} to {}: {}", method, path, config.server,
                       error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc));
  }

  Result<Response> perform(std::string_view method, std::string_view path, std::string_view body,
                           std::string_view content_type) {
    EasyHandle h = acquire();
    if (!h) return make_error("cannot allocate a curl handle");
    const std::string url = base_url + std::string(path);
    const long timeout_ms = static_cast<long>(options.request_timeout.count());
    for (int attempt = 0;; ++attempt) {
      char error_buffer[CURL_ERROR_SIZE] = {0};
      auto headers = prepare(h.get(), method, url, body, content_type, timeout_ms,
                             /*compressed=*/true, error_buffer);
      if (!headers) return make_error(headers.error());
      HeaderList connect = connect_to_list();
      if (connect) curl_easy_setopt(h.get(), CURLOPT_CONNECT_TO, connect.get());
      Response response;
      BodySink sink{&response.body, options.max_response_bytes};
      curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, &write_body);
      curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &sink);
      const CURLcode rc = curl_easy_perform(h.get());
      if (rc != CURLE_OK) {
        // The handle may hold a broken connection; drop it rather than pool it.
        return make_error(transport_error(method, path, rc, error_buffer, &sink, timeout_ms));
      }
      long status = 0;
      curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
      response.status = static_cast<int>(status);
      if (status == 401 && token_file && attempt == 0) {
        // The token may have rotated since it was read: re-read it and try once more.
        token_file->invalidate();
        continue;
      }
      release(std::move(h));
      return response;
    }
  }
};

CurlClient::CurlClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CurlClient::~CurlClient() = default;

const ClientConfig& CurlClient::config() const { return impl_->config; }

Result<std::unique_ptr<CurlClient>> CurlClient::from_config(const ClientConfig& config,
                                                            const CurlClientOptions& options) {
  if (auto init = global_init(); !init) return make_error(init.error());
  auto url = parse_server(config.server);
  if (!url) return make_error(url.error());
  if (url->scheme != "https" && !(url->scheme == "http" && config.insecure_skip_tls_verify)) {
    return make_error(fmt::format("server {} is not an https:// URL", config.server));
  }
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return make_error("a client certificate needs its key, and a key its certificate");
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = options;
  if (!config.tls_server_name.empty()) {
    impl->base_url =
        fmt::format("{}://{}:{}{}", url->scheme, config.tls_server_name, url->port, url->prefix);
    impl->connect_to =
        fmt::format("{}:{}:{}:{}", config.tls_server_name, url->port, url->host, url->port);
  } else {
    impl->base_url = fmt::format("{}://{}:{}{}", url->scheme, url->host, url->port, url->prefix);
  }
  if (!config.token_file.empty()) {
    impl->token_file = std::make_unique<TokenFile>(config.token_file);
    if (auto token = impl->token_file->token(); !token) return make_error(token.error());
  }
  if (config.insecure_skip_tls_verify) {
    logger().warn(
        "TLS verification is off for {} ({}): the kubeconfig allowed insecure-skip-tls-verify",
        config.server, config.source);
  }
  return std::unique_ptr<CurlClient>(new CurlClient(std::move(impl)));
}

Result<Response> CurlClient::request(std::string_view method, std::string_view path_and_query,
                                     std::string_view body, std::string_view content_type) {
  return impl_->perform(method, path_and_query, body, content_type);
}

Result<std::string> CurlClient::expect_success(std::string_view method, const std::string& path,
                                               std::string_view body,
                                               std::string_view content_type) {
  auto response = impl_->perform(method, path, body, content_type);
  if (!response) return make_error(response.error());
  if (response->status >= 200 && response->status < 300) return std::move(response->body);
  const std::string detail = describe_status(response->status, response->body);
  return Error{fmt::format("{} {}: {}", method, path, detail), response->status};
}

Result<std::string> CurlClient::get(const ResourceRef& ref, std::string_view ns,
                                    std::string_view name) {
  return expect_success("GET", resource_path(ref, ns, name), {}, {});
}

Result<std::string> CurlClient::list(const ResourceRef& ref, std::string_view ns,
                                     const ListOptions& options) {
  std::string path = resource_path(ref, ns);
  append_query(path, "labelSelector", options.label_selector);
  append_query(path, "fieldSelector", options.field_selector);
  if (options.limit > 0) append_query(path, "limit", std::to_string(options.limit));
  append_query(path, "continue", options.continue_token);
  append_query(path, "resourceVersion", options.resource_version);
  return expect_success("GET", path, {}, {});
}

Result<std::string> CurlClient::create(const ResourceRef& ref, std::string_view ns,
                                       std::string_view object_json, const WriteOptions& options) {
  std::string path = resource_path(ref, ns);
  append_write_options(path, options, PatchType::kMerge, false);
  return expect_success("POST", path, object_json, "application/json");
}

Result<std::string> CurlClient::update(const ResourceRef& ref, std::string_view ns,
                                       std::string_view name, std::string_view object_json,
                                       const WriteOptions& options) {
  std::string path = resource_path(ref, ns, name);
  append_write_options(path, options, PatchType::kMerge, false);
  return expect_success("PUT", path, object_json, "application/json");
}

Result<std::string> CurlClient::update_status(const ResourceRef& ref, std::string_view ns,
                                              std::string_view name, std::string_view object_json,
                                              const WriteOptions& options) {
  std::string path = resource_path(ref, ns, name, "status");
  append_write_options(path, options, PatchType::kMerge, false);
  return expect_success("PUT", path, object_json, "application/json");
}

Result<std::string> CurlClient::patch(const ResourceRef& ref, std::string_view ns,
                                      std::string_view name, std::string_view patch, PatchType type,
                                      const WriteOptions& options) {
  if (type == PatchType::kApply && options.field_manager.empty()) {
    return make_error("server-side apply needs WriteOptions::field_manager");
  }
  std::string path = resource_path(ref, ns, name);
  append_write_options(path, options, type, true);
  return expect_success("PATCH", path, patch, patch_content_type(type));
}

Result<std::string> CurlClient::patch_status(const ResourceRef& ref, std::string_view ns,
                                             std::string_view name, std::string_view patch,
                                             PatchType type, const WriteOptions& options) {
  if (type == PatchType::kApply && options.field_manager.empty()) {
    return make_error("server-side apply needs WriteOptions::field_manager");
  }
  std::string path = resource_path(ref, ns, name, "status");
  append_write_options(path, options, type, true);
  return expect_success("PATCH", path, patch, patch_content_type(type));
}

Result<std::string> CurlClient::remove(const ResourceRef& ref, std::string_view ns,
                                       std::string_view name,
                                       std::string_view delete_options_json) {
  return expect_success("DELETE", resource_path(ref, ns, name), delete_options_json,
                        delete_options_json.empty() ? std::string_view() : "application/json");
}

namespace {

// State shared with the write callback of one watch stream.
struct WatchStream {
  CURL* handle = nullptr;
  LineDecoder decoder;
  const LineHandler* on_line = nullptr;
  long status = 0;
  std::string error_body;  // the body of a non-200 answer, for its message
  bool handler_stopped = false;

  explicit WatchStream(size_t max_line) : decoder(max_line) {}
};

size_t write_watch(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* s = static_cast<WatchStream*>(userdata);
  const size_t n = size * nmemb;
  if (s->status == 0) curl_easy_getinfo(s->handle, CURLINFO_RESPONSE_CODE, &s->status);
  if (s->status != 200) {
    const size_t room = kMaxErrorBodyBytes - std::min(kMaxErrorBodyBytes, s->error_body.size());
    s->error_body.append(data, std::min(n, room));
    return n;
  }
  if (!s->decoder.feed(std::string_view(data, n), *s->on_line)) {
    s->handler_stopped = !s->decoder.overflowed();
    return 0;  // ends the transfer
  }
  return n;
}

}  // namespace

Result<StreamEnd> CurlClient::watch(const ResourceRef& ref, std::string_view ns,
                                    const WatchOptions& options, const LineHandler& on_line,
                                    CancelToken& cancel) {
  if (cancel.cancelled()) return StreamEnd::kCancelled;
  std::string path = resource_path(ref, ns);
  path += "?watch=1";
  if (options.allow_bookmarks) path += "&allowWatchBookmarks=true";
  if (options.timeout_seconds > 0)
    append_query(path, "timeoutSeconds", std::to_string(options.timeout_seconds));
  append_query(path, "resourceVersion", options.resource_version);
  append_query(path, "labelSelector", options.label_selector);
  append_query(path, "fieldSelector", options.field_selector);

  // A watch holds its connection for minutes, so it gets a handle outside the pool.
  EasyHandle h(curl_easy_init());
  MultiHandle multi(curl_multi_init());
  if (!h || !multi) return make_error("cannot allocate curl handles for a watch");
  const long timeout_ms =
      options.timeout_seconds > 0
          ? static_cast<long>((options.timeout_seconds + impl_->options.watch_grace.count()) * 1000)
          : 0L;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  auto headers = impl_->prepare(h.get(), "GET", impl_->base_url + path, {}, {}, timeout_ms,
                                /*compressed=*/false, error_buffer);
  if (!headers) return make_error(headers.error());
  HeaderList connect = impl_->connect_to_list();
  if (connect) curl_easy_setopt(h.get(), CURLOPT_CONNECT_TO, connect.get());
  WatchStream stream(impl_->options.max_watch_line_bytes);
  stream.handle = h.get();
  stream.on_line = &on_line;
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, &write_watch);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &stream);

  curl_multi_add_handle(multi.get(), h.get());
  CURLM* raw_multi = multi.get();
  cancel.set_waker([raw_multi] { curl_multi_wakeup(raw_multi); });
  CURLcode result = CURLE_OK;
  bool done = false;
  while (!done && !cancel.cancelled()) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(raw_multi, &running);
    if (mc != CURLM_OK) {
      cancel.set_waker({});
      curl_multi_remove_handle(raw_multi, h.get());
      return make_error(fmt::format("GET {}: {}", path, curl_multi_strerror(mc)));
    }
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(raw_multi, &queued)) {
      if (msg->msg == CURLMSG_DONE) {
        result = msg->data.result;
        done = true;
      }
    }
    if (done || running == 0) break;
    curl_multi_poll(raw_multi, nullptr, 0, 1000, nullptr);
  }
  cancel.set_waker({});  // before the multi handle goes away
  curl_multi_remove_handle(raw_multi, h.get());

  if (cancel.cancelled()) return StreamEnd::kCancelled;
  if (stream.handler_stopped) return StreamEnd::kStopped;
  if (stream.decoder.overflowed()) {
    return make_error(fmt::format("GET {}: a watch event is larger than the {} limit", path,
                                  format_size(impl_->options.max_watch_line_bytes)));
  }
  if (stream.status == 0) curl_easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &stream.status);
  if (stream.status != 0 && stream.status != 200) {
    if (stream.status == 401 && impl_->token_file) impl_->token_file->invalidate();
    return Error{fmt::format("GET {}: {}", path,
                             describe_status(static_cast<int>(stream.status), stream.error_body)),
                 static_cast<int>(stream.status)};
  }
  if (result != CURLE_OK) {
    return make_error(
        impl_->transport_error("GET", path, result, error_buffer, nullptr, timeout_ms));
  }
  if (stream.decoder.pending_bytes() > 0) {
    return make_error(fmt::format("GET {}: the watch stream ended inside an event", path));
  }
  return StreamEnd::kClosed;
}

}  // namespace vigil::k8s
