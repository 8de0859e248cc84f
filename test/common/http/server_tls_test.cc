// The HTTP server with TLS against libcurl on loopback: server and client certificates from
// generated CAs, client-certificate modes, the request limits over TLS, and certificate rotation.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "common/http/server.h"
#include "common/http/tls_certs.h"

namespace vigil::http {
namespace {

using std::chrono::hours;

// What the client presents: the CA it trusts and optionally its own certificate.
struct ClientTls {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

struct Reply {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string headers;  // every header line received, interim responses included
  std::string error;
};

// One libcurl easy handle; consecutive requests reuse its connection (keep-alive).
class Client {
 public:
  Client() : handle_(curl_easy_init()) {}
  ~Client() { curl_easy_cleanup(handle_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POSTs when body is set; extra_headers like "Expect: 100-continue".
  Reply fetch(const std::string& url, const ClientTls& tls,
              const std::optional<std::string>& body = std::nullopt,
              const std::vector<std::string>& extra_headers = {}) {
    Reply reply;
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(handle_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &append);
    curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(handle_, CURLOPT_HEADERFUNCTION, &append);
    curl_easy_setopt(handle_, CURLOPT_HEADERDATA, &reply.headers);
    // The certificates name "localhost"; make it 127.0.0.1, where the server listens.
    curl_slist* resolve = curl_slist_append(nullptr, resolve_entry(url).c_str());
    curl_easy_setopt(handle_, CURLOPT_RESOLVE, resolve);
    blob(CURLOPT_CAINFO_BLOB, tls.ca_pem);
    blob(CURLOPT_SSLCERT_BLOB, tls.cert_pem);
    blob(CURLOPT_SSLKEY_BLOB, tls.key_pem);
    curl_easy_setopt(handle_, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(handle_, CURLOPT_SSLKEYTYPE, "PEM");
    curl_slist* headers = nullptr;
    for (const auto& h : extra_headers) headers = curl_slist_append(headers, h.c_str());
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers);
    if (body) {
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
      curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, body->data());
      // Wait long for "100 Continue" so that a reply within the test's time proves the server
      // sent it (curl otherwise sends the body after 1 s anyway).
      curl_easy_setopt(handle_, CURLOPT_EXPECT_100_TIMEOUT_MS, 10000L);
    } else {
      curl_easy_setopt(handle_, CURLOPT_HTTPGET, 1L);
    }
    reply.code = curl_easy_perform(handle_);
    curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &reply.status);
    reply.error = error;
    curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(handle_, CURLOPT_RESOLVE, nullptr);
    curl_slist_free_all(headers);
    curl_slist_free_all(resolve);
    return reply;
  }

 private:
  static size_t append(char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  }
  void blob(CURLoption option, const std::string& pem) {
    if (pem.empty()) {
      curl_easy_setopt(handle_, option, nullptr);
      return;
    }
    curl_blob b{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(handle_, option, &b);
  }
  // "https://localhost:1234/x" -> "localhost:1234:127.0.0.1"
  static std::string resolve_entry(const std::string& url) {
    auto host = url.find("://") + 3;
    auto path = url.find('/', host);
    return url.substr(host, path - host) + ":127.0.0.1";
  }

  CURL* handle_;
};

Reply fetch(const std::string& url, const ClientTls& tls,
            const std::optional<std::string>& body = std::nullopt,
            const std::vector<std::string>& extra_headers = {}) {
  Client c;
  return c.fetch(url, tls, body, extra_headers);
}

CertKeyPem must(Result<CertKeyPem> r) {
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(r.value()) : CertKeyPem{};
}

// Certificates for the whole suite: two CAs, each with a serving certificate for
// localhost/127.0.0.1 and a client certificate.
struct Pki {
  CertKeyPem ca, server, client;
  CertKeyPem other_ca, other_server, other_client;
};

Pki make_pki() {
  Pki p;
  CertRequest server{"vigil-webhook", {"localhost"}, {"127.0.0.1"}};
  CertRequest client{"kube-apiserver", {}, {}};
  client.server = false;
  client.client = true;
  p.ca = must(generate_ca("vigil-test-ca", hours(1)));
  p.server = must(issue_certificate(p.ca, server));
  p.client = must(issue_certificate(p.ca, client));
  p.other_ca = must(generate_ca("other-ca", hours(1)));
  p.other_server = must(issue_certificate(p.other_ca, server));
  client.common_name = "intruder";
  p.other_client = must(issue_certificate(p.other_ca, client));
  return p;
}

class TlsServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = make_pki(); }
  static void TearDownTestSuite() { pki_.reset(); }

  // A TLS server on 127.0.0.1 whose /whoami reports what the handler saw.
  void start(const std::string& client_ca_pem, bool require_client_cert) {
    ServerOptions o;
    o.body_limit = 1024;
    o.read_timeout = std::chrono::milliseconds(2000);
    o.name = "tls-test";
    o.tls =
        TlsOptions{pki_->server.cert_pem, pki_->server.key_pem, client_ca_pem, require_client_cert};
    auto s = HttpServer::start(
        o, {route("GET", "/whoami",
                  [this](const Request& r) {
                    ++handled_;
                    return Response{200,
                                    "text/plain",
                                    std::string(r.tls ? "tls" : "plain") +
                                        " verified=" + (r.client_cert_verified ? "1" : "0") +
                                        " cn=" + r.client_common_name,
                                    {}};
                  }),
            route("POST", "/echo", [this](const Request& r) {
              ++handled_;
              return Response{200, "text/plain", "got " + r.body, {}};
            })});
    ASSERT_TRUE(s.ok()) << s.error();
    server_ = std::move(s.value());
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  std::string url(const std::string& path) const {
    return "https://localhost:" + std::to_string(server_->port()) + path;
  }
  // Handshake failures are counted once the server has seen the failure, which can be a moment
  // after the client has given up.
  uint64_t handshake_failures_at_least(uint64_t n) const {
    for (int i = 0; i < 200 && server_->stats().tls_handshake_failures < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return server_->stats().tls_handshake_failures;
  }

  static ClientTls trusting(const CertKeyPem& ca) { return ClientTls{ca.cert_pem, "", ""}; }
  static ClientTls presenting(const CertKeyPem& ca, const CertKeyPem& client) {
    return ClientTls{ca.cert_pem, client.cert_pem, client.key_pem};
  }

  static inline std::optional<Pki> pki_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
};

TEST_F(TlsServerTest, VerifiedClientCertificateReachesTheHandler) {
  start(pki_->ca.cert_pem, /*require_client_cert=*/true);
  Reply r = fetch(url("/whoami"), presenting(pki_->ca, pki_->client));
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "tls verified=1 cn=kube-apiserver");
  EXPECT_EQ(server_->stats().tls_handshake_failures, 0u);
}

TEST_F(TlsServerTest, RequiredClientCertificateMissingFailsTheHandshake) {
  start(pki_->ca.cert_pem, /*require_client_cert=*/true);
  Reply r = fetch(url("/whoami"), trusting(pki_->ca));
  EXPECT_NE(r.code, CURLE_OK);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_GE(handshake_failures_at_least(1), 1u);
}

TEST_F(TlsServerTest, OptionalClientCertificate) {
  start(pki_->ca.cert_pem, /*require_client_cert=*/false);
  Reply without = fetch(url("/whoami"), trusting(pki_->ca));
  ASSERT_EQ(without.code, CURLE_OK) << without.error;
  EXPECT_EQ(without.body, "tls verified=0 cn=");
  Reply with = fetch(url("/whoami"), presenting(pki_->ca, pki_->client));
  ASSERT_EQ(with.code, CURLE_OK) << with.error;
  EXPECT_EQ(with.body, "tls verified=1 cn=kube-apiserver");
  // A certificate that is presented must verify, even when it is optional.
  Reply foreign = fetch(url("/whoami"), presenting(pki_->ca, pki_->other_client));
  EXPECT_NE(foreign.code, CURLE_OK);
  EXPECT_EQ(handled_.load(), 2);
  EXPECT_GE(handshake_failures_at_least(1), 1u);
}

TEST_F(TlsServerTest, ClientCertificateFromAnotherCaIsRefused) {
  start(pki_->ca.cert_pem, /*require_client_cert=*/true);
  Reply r = fetch(url("/whoami"), presenting(pki_->ca, pki_->other_client));
  EXPECT_NE(r.code, CURLE_OK);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_GE(handshake_failures_at_least(1), 1u);
}

TEST_F(TlsServerTest, WithoutClientCasNoCertificateIsVerified) {
  start("", false);
  Reply r = fetch(url("/whoami"), presenting(pki_->ca, pki_->client));
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.body, "tls verified=0 cn=");
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortFailsAndTheServerGoesOn) {
  start("", false);
  Reply plain = fetch("http://localhost:" + std::to_string(server_->port()) + "/whoami", {});
  EXPECT_TRUE(plain.code != CURLE_OK || plain.status != 200) << plain.body;
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_GE(handshake_failures_at_least(1), 1u);
  Reply r = fetch(url("/whoami"), trusting(pki_->ca));
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.body, "tls verified=0 cn=");
}

TEST_F(TlsServerTest, ServerCertificateFromAnotherCaIsNotTrusted) {
  start("", false);
  Reply r = fetch(url("/whoami"), trusting(pki_->other_ca));
  EXPECT_EQ(r.code, CURLE_PEER_FAILED_VERIFICATION) << r.error;
}

TEST_F(TlsServerTest, AnswersExpectContinueOverTls) {
  start(pki_->ca.cert_pem, true);
  auto begin = std::chrono::steady_clock::now();
  Reply r = fetch(url("/echo"), presenting(pki_->ca, pki_->client), std::string("hello"),
                  {"Expect: 100-continue"});
  ASSERT_EQ(r.code, CURLE_OK) << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "got hello");
  EXPECT_NE(r.headers.find("HTTP/1.1 100 Continue"), std::string::npos) << r.headers;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
}

TEST_F(TlsServerTest, RefusesBodiesOverTheLimitOverTls) {
  start(pki_->ca.cert_pem, true);
  // Declared too large: refused before the body is sent.
  Reply expect = fetch(url("/echo"), presenting(pki_->ca, pki_->client), std::string(100000, 'x'),
                       {"Expect: 100-continue"});
  ASSERT_EQ(expect.code, CURLE_OK) << expect.error;
  EXPECT_EQ(expect.status, 413);
  EXPECT_EQ(expect.body, "request body too large\n");
  // Sent at once (no Expect): the refused body is drained, the 413 still arrives.
  Reply sent =
      fetch(url("/echo"), presenting(pki_->ca, pki_->client), std::string(5000, 'x'), {"Expect:"});
  ASSERT_EQ(sent.code, CURLE_OK) << sent.error;
  EXPECT_EQ(sent.status, 413);
  EXPECT_EQ(handled_.load(), 0);
  EXPECT_EQ(server_->stats().too_large, 2u);
  // The server still serves.
  Reply ok = fetch(url("/echo"), presenting(pki_->ca, pki_->client), std::string("small"));
  EXPECT_EQ(ok.body, "got small");
}

TEST_F(TlsServerTest, ReloadServesTheNewCertificateToNewConnections) {
  start("", false);
  Client kept;  // a keep-alive connection from before the reload
  Reply before = kept.fetch(url("/whoami"), trusting(pki_->ca));
  ASSERT_EQ(before.code, CURLE_OK) << before.error;

  auto reloaded = server_->reload_tls(
      TlsOptions{pki_->other_server.cert_pem, pki_->other_server.key_pem, "", false});
  ASSERT_TRUE(reloaded.ok()) << reloaded.error();
  Reply old_ca = fetch(url("/whoami"), trusting(pki_->ca));
  EXPECT_EQ(old_ca.code, CURLE_PEER_FAILED_VERIFICATION) << old_ca.error;
  Reply new_ca = fetch(url("/whoami"), trusting(pki_->other_ca));
  ASSERT_EQ(new_ca.code, CURLE_OK) << new_ca.error;
  // The open connection keeps what it negotiated.
  Reply again = kept.fetch(url("/whoami"), trusting(pki_->ca));
  EXPECT_EQ(again.code, CURLE_OK) << again.error;

  // A key that does not match: refused, the current certificate stays.
  auto mismatched =
      server_->reload_tls(TlsOptions{pki_->server.cert_pem, pki_->other_server.key_pem, "", false});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_EQ(mismatched.error(), "tls: key does not match the certificate");
  EXPECT_FALSE(server_->reload_tls(TlsOptions{"garbage", pki_->server.key_pem, "", false}).ok());
  Reply still = fetch(url("/whoami"), trusting(pki_->other_ca));
  EXPECT_EQ(still.code, CURLE_OK) << still.error;

  // Client CAs change with the reload too.
  ASSERT_TRUE(server_
                  ->reload_tls(TlsOptions{pki_->server.cert_pem, pki_->server.key_pem,
                                          pki_->ca.cert_pem, true})
                  .ok());
  EXPECT_NE(fetch(url("/whoami"), trusting(pki_->ca)).code, CURLE_OK);
  Reply client = fetch(url("/whoami"), presenting(pki_->ca, pki_->client));
  EXPECT_EQ(client.body, "tls verified=1 cn=kube-apiserver");
}

TEST_F(TlsServerTest, ClientCaBundleWithSeveralCertificates) {
  start(pki_->other_ca.cert_pem + pki_->ca.cert_pem, true);
  Reply a = fetch(url("/whoami"), presenting(pki_->ca, pki_->client));
  EXPECT_EQ(a.body, "tls verified=1 cn=kube-apiserver") << a.error;
  Reply b = fetch(url("/whoami"), presenting(pki_->ca, pki_->other_client));
  EXPECT_EQ(b.body, "tls verified=1 cn=intruder") << b.error;
}

TEST(TlsServerStartTest, ReportsInvalidCertificatesAndKeys) {
  Pki pki = make_pki();
  auto start_with = [](TlsOptions tls) {
    ServerOptions o;
    o.tls = std::move(tls);
    return HttpServer::start(o, {});
  };
  auto garbage_cert = start_with(TlsOptions{"garbage", pki.server.key_pem, "", false});
  ASSERT_FALSE(garbage_cert.ok());
  EXPECT_EQ(garbage_cert.error().rfind("tls: serving certificate: ", 0), 0u)
      << garbage_cert.error();
  auto garbage_key = start_with(TlsOptions{pki.server.cert_pem, "garbage", "", false});
  ASSERT_FALSE(garbage_key.ok());
  EXPECT_EQ(garbage_key.error().rfind("tls: private key: ", 0), 0u) << garbage_key.error();
  auto mismatch = start_with(TlsOptions{pki.server.cert_pem, pki.client.key_pem, "", false});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error(), "tls: key does not match the certificate");
  auto bad_ca = start_with(TlsOptions{pki.server.cert_pem, pki.server.key_pem, "garbage", true});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_EQ(bad_ca.error().rfind("tls: client CA: ", 0), 0u) << bad_ca.error();
  auto no_ca = start_with(TlsOptions{pki.server.cert_pem, pki.server.key_pem, "", true});
  EXPECT_FALSE(no_ca.ok());

  auto plain = HttpServer::start(ServerOptions{}, {});
  ASSERT_TRUE(plain.ok()) << plain.error();
  auto reload = plain.value()->reload_tls(TlsOptions{pki.server.cert_pem, pki.server.key_pem});
  ASSERT_FALSE(reload.ok());
  EXPECT_EQ(reload.error(), "server was started without TLS");
}

}  // namespace
}  // namespace vigil::http
