// Generated certificates, checked with OpenSSL's own chain verification (the way a TLS peer would).

#include "common/http/tls_certs.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace vigil::http {
namespace {

using std::chrono::hours;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr parse(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// Verifies `leaf` against `ca` as a TLS client verifies a server: chain, validity, purpose and,
// when given, the host name (SAN only, as Go does) or IP address.
bool verifies(const std::string& leaf_pem, const std::string& ca_pem, int purpose,
              const std::string& host = "", const std::string& ip = "") {
  X509Ptr leaf = parse(leaf_pem);
  X509Ptr ca = parse(ca_pem);
  if (!leaf || !ca) return false;
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  X509_STORE_add_cert(store.get(), ca.get());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (!ip.empty()) X509_VERIFY_PARAM_set1_ip_asc(param, ip.c_str());
  return X509_verify_cert(ctx.get()) == 1;
}

class TlsCertsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = generate_ca("vigil-test-ca", hours(24));
    ASSERT_TRUE(ca.ok()) << ca.error();
    ca_ = ca.value();
    CertRequest server{
        "vigil-webhook", {"localhost", "vigil.vigil-system.svc"}, {"127.0.0.1", "::1"}};
    auto s = issue_certificate(*ca_, server);
    ASSERT_TRUE(s.ok()) << s.error();
    server_ = s.value();
  }
  static void TearDownTestSuite() {
    ca_.reset();
    server_.reset();
  }
  // Generated once for the suite.
  static inline std::optional<CertKeyPem> ca_;
  static inline std::optional<CertKeyPem> server_;
};

TEST_F(TlsCertsTest, GeneratesACa) {
  EXPECT_NE(ca_->cert_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(ca_->key_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);  // PKCS#8
  auto info = inspect_certificate(ca_->cert_pem);
  ASSERT_TRUE(info.ok()) << info.error();
  EXPECT_EQ(info->common_name, "vigil-test-ca");
  EXPECT_TRUE(info->is_ca);
  EXPECT_TRUE(info->dns_names.empty());
  auto now = std::chrono::system_clock::now();
  EXPECT_LT(info->not_before, now);
  EXPECT_GT(info->not_after, now + hours(23));
  EXPECT_LT(info->not_after, now + hours(25));
  EXPECT_TRUE(key_matches_certificate(ca_->cert_pem, ca_->key_pem));
  EXPECT_TRUE(certificate_signed_by(ca_->cert_pem, ca_->cert_pem));  // self-signed

  X509Ptr ca = parse(ca_->cert_pem);
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_get_version(ca.get()), X509_VERSION_3);
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_NE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN, 0u);
  EXPECT_NE(X509_get0_subject_key_id(ca.get()), nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(ca.get())), EVP_PKEY_EC);
  EXPECT_EQ(X509_get_signature_nid(ca.get()), NID_ecdsa_with_SHA256);
}

TEST_F(TlsCertsTest, IssuesAServerCertificateThatVerifiesAgainstTheCa) {
  auto info = inspect_certificate(server_->cert_pem);
  ASSERT_TRUE(info.ok()) << info.error();
  EXPECT_EQ(info->common_name, "vigil-webhook");
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"localhost", "vigil.vigil-system.svc"}));
  EXPECT_EQ(info->ip_addresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_FALSE(info->is_ca);
  auto now = std::chrono::system_clock::now();
  EXPECT_LE(info->not_before, now - std::chrono::minutes(4));
  EXPECT_TRUE(key_matches_certificate(server_->cert_pem, server_->key_pem));
  EXPECT_FALSE(key_matches_certificate(server_->cert_pem, ca_->key_pem));
  EXPECT_TRUE(certificate_signed_by(server_->cert_pem, ca_->cert_pem));

  EXPECT_TRUE(verifies(server_->cert_pem, ca_->cert_pem, X509_PURPOSE_SSL_SERVER, "localhost"));
  EXPECT_TRUE(verifies(server_->cert_pem, ca_->cert_pem, X509_PURPOSE_SSL_SERVER,
                       "vigil.vigil-system.svc"));
  EXPECT_TRUE(verifies(server_->cert_pem, ca_->cert_pem, X509_PURPOSE_SSL_SERVER, "", "::1"));
  EXPECT_FALSE(verifies(server_->cert_pem, ca_->cert_pem, X509_PURPOSE_SSL_SERVER, "other.svc"));
  // The CN is not a host name to verifiers that ignore it (Go, and OpenSSL with this flag).
  EXPECT_FALSE(
      verifies(server_->cert_pem, ca_->cert_pem, X509_PURPOSE_SSL_SERVER, "vigil-webhook"));
  // serverAuth only.
  EXPECT_FALSE(verifies(server_->cert_pem, ca_->cert_pem, X509_PURPOSE_SSL_CLIENT));

  X509Ptr leaf = parse(server_->cert_pem);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(
      X509_check_host(leaf.get(), "localhost", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr), 1);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_NE(X509_get0_authority_key_id(leaf.get()), nullptr);
  X509Ptr ca = parse(ca_->cert_pem);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf.get()),
                                  X509_get0_subject_key_id(ca.get())),
            0);
  EXPECT_NE(X509_get_key_usage(leaf.get()) & KU_DIGITAL_SIGNATURE, 0u);
  EXPECT_NE(X509_get_extended_key_usage(leaf.get()) & XKU_SSL_SERVER, 0u);
}

TEST_F(TlsCertsTest, IssuesClientCertificatesWithDistinctSerials) {
  CertRequest req;
  req.common_name = "system:kube-apiserver";
  req.server = false;
  req.client = true;
  req.validity = hours(1);
  auto a = issue_certificate(*ca_, req);
  auto b = issue_certificate(*ca_, req);
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_TRUE(verifies(a->cert_pem, ca_->cert_pem, X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(verifies(a->cert_pem, ca_->cert_pem, X509_PURPOSE_SSL_SERVER));
  EXPECT_EQ(inspect_certificate(a->cert_pem)->common_name, "system:kube-apiserver");
  X509Ptr x = parse(a->cert_pem), y = parse(b->cert_pem);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(x.get()), X509_get0_serialNumber(y.get())), 0);
  EXPECT_NE(a->key_pem, b->key_pem);
  auto info = inspect_certificate(a->cert_pem);
  EXPECT_LT(info->not_after, std::chrono::system_clock::now() + hours(2));
}

TEST_F(TlsCertsTest, DoesNotOutliveTheCa) {
  CertRequest req{"long", {"long.example"}, {}};
  req.validity = hours(24 * 3650);
  auto cert = issue_certificate(*ca_, req);
  ASSERT_TRUE(cert.ok()) << cert.error();
  EXPECT_EQ(inspect_certificate(cert->cert_pem)->not_after,
            inspect_certificate(ca_->cert_pem)->not_after);
}

TEST_F(TlsCertsTest, SignedByIsFalseForAnotherCa) {
  auto other = generate_ca("vigil-test-ca", hours(24));  // same name, other key
  ASSERT_TRUE(other.ok()) << other.error();
  EXPECT_FALSE(certificate_signed_by(server_->cert_pem, other->cert_pem));
  EXPECT_FALSE(verifies(server_->cert_pem, other->cert_pem, X509_PURPOSE_SSL_SERVER, "localhost"));
  auto other2 = generate_ca("another-ca", hours(24));
  ASSERT_TRUE(other2.ok());
  EXPECT_FALSE(certificate_signed_by(server_->cert_pem, other2->cert_pem));
  EXPECT_FALSE(key_matches_certificate(ca_->cert_pem, other->key_pem));
}

TEST_F(TlsCertsTest, InspectsTheFirstCertificateOfABundle) {
  auto info = inspect_certificate(server_->cert_pem + ca_->cert_pem);
  ASSERT_TRUE(info.ok()) << info.error();
  EXPECT_EQ(info->common_name, "vigil-webhook");
}

TEST_F(TlsCertsTest, RejectsInvalidInput) {
  EXPECT_FALSE(inspect_certificate("").ok());
  EXPECT_FALSE(inspect_certificate("garbage").ok());
  EXPECT_FALSE(
      inspect_certificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
  EXPECT_FALSE(key_matches_certificate("garbage", server_->key_pem));
  EXPECT_FALSE(key_matches_certificate(server_->cert_pem, "garbage"));
  EXPECT_FALSE(certificate_signed_by("garbage", ca_->cert_pem));
  EXPECT_FALSE(certificate_signed_by(server_->cert_pem, ""));

  EXPECT_FALSE(generate_ca("", hours(1)).ok());
  EXPECT_FALSE(generate_ca("ca", hours(0)).ok());

  CertRequest req{"x", {"localhost"}, {}};
  auto bad_ca = issue_certificate(CertKeyPem{"garbage", ca_->key_pem}, req);
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.error().find("CA certificate"), std::string::npos) << bad_ca.error();
  auto bad_key = issue_certificate(CertKeyPem{ca_->cert_pem, server_->key_pem}, req);
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.error().find("does not match"), std::string::npos) << bad_key.error();
  // A leaf cannot issue.
  EXPECT_FALSE(issue_certificate(*server_, req).ok());

  CertRequest bad_ip{"x", {}, {"300.1.1.1"}};
  auto r = issue_certificate(*ca_, bad_ip);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("invalid IP address '300.1.1.1'"), std::string::npos) << r.error();
  EXPECT_FALSE(issue_certificate(*ca_, CertRequest{"x", {"a b"}, {}}).ok());
  // Go matches serving certificates by SAN only.
  auto no_san = issue_certificate(*ca_, CertRequest{"x", {}, {}});
  ASSERT_FALSE(no_san.ok());
  EXPECT_NE(no_san.error().find("DNS name or IP address"), std::string::npos) << no_san.error();
}

}  // namespace
}  // namespace vigil::http
