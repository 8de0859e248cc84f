#pragma once

// Delivery of one HttpRequest to a sink's destination (libcurl, confined to the .cc). One
// HttpTransport per sink delivery thread: its handle is reused, so connections stay alive
// between batches.
//
// Error strings are short and safe to log and to put in an AlertSink's status: they never hold a
// header value, a body sent, or the URL's path or query (a Slack webhook URL is a secret).

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/alerts/sink.h"

namespace vigil::alerts {

struct HttpResult {
  int status = 0;  // the HTTP status; 0 when no response arrived (connect error, timeout, ...)
  // Retry-After of the response (delta-seconds or HTTP-date, as seconds from now), if any.
  std::optional<std::chrono::seconds> retry_after;
  std::string error;  // "" for 2xx; otherwise "POST http://host:port/…: HTTP 503 ..."

  bool ok() const { return status >= 200 && status < 300; }
};

class HttpTransport {
 public:
  HttpTransport();
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Sends `request` and waits for the answer, at most `timeout` in all. When `cancel` becomes
  // true the transfer is aborted (within about 100 ms). The response body is read up to 64 KiB
  // (the rest is discarded) and only used for a short excerpt in `error`.
  HttpResult send(const HttpRequest& request, const HttpTls& tls, std::chrono::milliseconds timeout,
                  const std::atomic<bool>* cancel = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "https://hooks.slack.com/…" for "https://hooks.slack.com/services/T0/B0/secret?x=1": scheme,
// host and port only, user info dropped.
std::string redact_url(std::string_view url);

// A Retry-After value: delta-seconds ("120") or an HTTP-date, relative to `now`. Negative or
// past values give 0; unparsable values give nullopt.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

}  // namespace vigil::alerts
