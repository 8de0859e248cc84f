#include "common/alerts/http_transport.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include <curl/curl.h>
#include <fmt/format.h>

namespace vigil::alerts {
namespace {

constexpr size_t kMaxResponseBytes = 64u << 10;  // kept; the rest of the body is read and ignored
constexpr size_t kErrorExcerptBytes = 160;

struct HeaderListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

bool iequals_prefix(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Transfer {
  std::string body;
  std::string retry_after;  // the raw header value of the last response
  const std::atomic<bool>* cancel = nullptr;
};

size_t on_body(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t n = size * nmemb;
  if (t->body.size() < kMaxResponseBytes) {
    t->body.append(data, std::min(n, kMaxResponseBytes - t->body.size()));
  }
  return n;  // read the rest so the connection can be reused
}

size_t on_header(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  if (line.starts_with("HTTP/")) t->retry_after.clear();  // a new response (after 100, ...)
  if (iequals_prefix(line, "retry-after:")) {
    t->retry_after = std::string(trim(line.substr(12)).substr(0, 64));
  }
  return n;
}

int on_progress(void* userdata, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(userdata);
  return (t->cancel != nullptr && t->cancel->load(std::memory_order_relaxed)) ? 1 : 0;
}

// Removes every occurrence of `secret` (the URL's path and query) from `text`.
void scrub(std::string& text, std::string_view secret) {
  if (secret.size() < 2) return;
  for (size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
    text.replace(pos, secret.size(), "/…");
  }
}

std::string url_path(std::string_view url) {
  const auto sep = url.find("://");
  const auto start = sep == std::string_view::npos ? 0 : sep + 3;
  const auto slash = url.find_first_of("/?#", start);
  return slash == std::string_view::npos ? std::string() : std::string(url.substr(slash));
}

std::string excerpt(std::string_view body) {
  std::string out(body.substr(0, kErrorExcerptBytes));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (body.size() > kErrorExcerptBytes) out += "…";
  return std::string(trim(out));
}

void global_init() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  (void)rc;  // a failed init surfaces as curl_easy_init() returning null
}

}  // namespace

std::string redact_url(std::string_view url) {
  const auto sep = url.find("://");
  std::string_view scheme = sep == std::string_view::npos ? "" : url.substr(0, sep + 3);
  std::string_view rest = sep == std::string_view::npos ? url : url.substr(sep + 3);
  const auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string out = std::string(scheme) + std::string(authority);
  if (end != std::string_view::npos && rest.substr(end) != "/") out += "/…";
  return out;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t secs = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), secs);
    if (ec == std::errc::result_out_of_range) return std::chrono::seconds(INT32_MAX);
    if (ec != std::errc() || ptr != value.data() + value.size()) return std::nullopt;
    return std::chrono::seconds(secs);
  }
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when == -1) return std::nullopt;
  const auto delta = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::from_time_t(when) - now);
  return std::max(delta, std::chrono::seconds(0));
}

struct HttpTransport::Impl {
  CURL* handle = nullptr;
  ~Impl() {
    if (handle != nullptr) curl_easy_cleanup(handle);
  }
};

HttpTransport::HttpTransport() : impl_(std::make_unique<Impl>()) {
  global_init();
  impl_->handle = curl_easy_init();
}

HttpTransport::~HttpTransport() = default;

HttpResult HttpTransport::send(const HttpRequest& request, const HttpTls& tls,
                               std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) {
  HttpResult result;
  const std::string where = fmt::format("{} {}", request.method, redact_url(request.url));
  CURL* h = impl_->handle;
  if (h == nullptr) {
    result.error = where + ": cannot allocate a curl handle";
    return result;
  }
  char error_buffer[CURL_ERROR_SIZE] = {0};
  Transfer transfer;
  transfer.cancel = cancel;

  curl_easy_reset(h);  // keeps the connection cache: keep-alive across requests
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil-alerts");
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<int64_t>(1, timeout.count())));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<int64_t>(1, timeout.count())));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &transfer);

  if (tls.insecure_skip_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  } else {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  }
  if (!tls.ca_pem.empty()) {
    curl_blob ca{const_cast<char*>(tls.ca_pem.data()), tls.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
  }
  if (!tls.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(tls.client_cert_pem.data()), tls.client_cert_pem.size(),
                   CURL_BLOB_COPY};
    curl_blob key{const_cast<char*>(tls.client_key_pem.data()), tls.client_key_pem.size(),
                  CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }

  curl_slist* raw = curl_slist_append(nullptr, "Expect:");
  for (const auto& [name, value] : request.headers) {
    const std::string line = name + ": " + value;
    if (raw != nullptr) raw = curl_slist_append(raw, line.c_str());
  }
  HeaderList headers(raw);
  if (!headers) {
    result.error = where + ": cannot allocate request headers";
    return result;
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
  }

  const CURLcode rc = curl_easy_perform(h);
  const std::string secret_path = url_path(request.url);
  if (rc != CURLE_OK) {
    std::string detail;
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      detail = "cancelled";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      detail = fmt::format("timed out after {} ms", timeout.count());
    } else {
      detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    }
    scrub(detail, secret_path);
    result.error = fmt::format("{}: {}", where, detail);
    return result;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  result.status = static_cast<int>(status);
  if (!transfer.retry_after.empty()) {
    result.retry_after = parse_retry_after(transfer.retry_after, std::chrono::system_clock::now());
  }
  if (!result.ok()) {
    std::string body = excerpt(transfer.body);
    scrub(body, secret_path);
    result.error = body.empty() ? fmt::format("{}: HTTP {}", where, status)
                                : fmt::format("{}: HTTP {}: {}", where, status, body);
  }
  return result;
}

}  // namespace vigil::alerts
