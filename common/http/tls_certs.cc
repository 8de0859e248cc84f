#include "common/http/tls_certs.h"

#include <arpa/inet.h>

#include <climits>
#include <cstring>
#include <ctime>
#include <memory>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace vigil::http {
namespace {

template <auto Free>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpenSslFree<X509_EXTENSION_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpenSslFree<GENERAL_NAME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
using Asn1StringPtr = std::unique_ptr<ASN1_STRING, OpenSslFree<ASN1_STRING_free>>;

// OpenSSL reports details on a thread-local queue; every public function leaves it empty so that
// a stale entry never shows up in someone else's error message.
struct ErrorQueueScope {
  ErrorQueueScope() { ERR_clear_error(); }
  ~ErrorQueueScope() { ERR_clear_error(); }
  ErrorQueueScope(const ErrorQueueScope&) = delete;
  ErrorQueueScope& operator=(const ErrorQueueScope&) = delete;
};

// Never prompts for a passphrase: encrypted keys are simply unreadable.
int no_passphrase(char*, int, int, void*) { return 0; }

BioPtr memory_bio(std::string_view pem) {
  if (pem.empty() || pem.size() > INT_MAX) return nullptr;
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

X509Ptr read_certificate(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
}

PkeyPtr read_private_key(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  if (!bio) return nullptr;
  return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
}

Result<std::string> to_pem(X509* cert, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return Error{"cannot allocate a memory BIO: " + openssl_error_text()};
  int ok = cert != nullptr
               ? PEM_write_bio_X509(bio.get(), cert)
               : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  if (ok != 1) return Error{"cannot write PEM: " + openssl_error_text()};
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio.get(), &mem);
  return std::string(mem->data, mem->length);
}

bool is_ca(X509* cert) { return (X509_get_extension_flags(cert) & EXFLAG_CA) != 0; }

// Printable ASCII without spaces or commas: what a DNS name (possibly a wildcard) can contain.
bool plausible_dns_name(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (unsigned char c : name) {
    if (c <= ' ' || c >= 0x7f || c == ',') return false;
  }
  return true;
}

// The fields every certificate shares: v3, a random 128-bit serial, subject, issuer, validity and
// public key.
Result<X509Ptr> new_certificate(const std::string& common_name, X509_NAME* issuer,
                                std::chrono::hours validity, EVP_PKEY* key) {
  if (common_name.empty()) return Error{"the common name is empty"};
  if (validity.count() <= 0) return Error{"the validity must be positive"};
  X509Ptr cert(X509_new());
  BignumPtr serial(BN_new());
  if (!cert || !serial) return Error{"cannot allocate a certificate: " + openssl_error_text()};
  if (BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
    return Error{"cannot draw a serial number: " + openssl_error_text()};
  if (BN_is_zero(serial.get())) BN_one(serial.get());  // serials must be positive
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const long seconds = static_cast<long>(std::chrono::seconds(validity).count());
  bool ok = X509_set_version(cert.get(), X509_VERSION_3) == 1 &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(common_name.data()),
                                       static_cast<int>(common_name.size()), -1, 0) == 1 &&
            X509_set_issuer_name(cert.get(), issuer != nullptr ? issuer : subject) == 1 &&
            // Five minutes back: a peer whose clock runs a little behind accepts it at once.
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -5L * 60) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), seconds) != nullptr &&
            X509_set_pubkey(cert.get(), key) == 1;
  if (!ok) return Error{"cannot fill in the certificate: " + openssl_error_text()};
  return cert;
}

// An extension from its OpenSSL config text ("critical,CA:TRUE"); issuer is needed for
// authorityKeyIdentifier.
Result<bool> add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return Error{std::string("cannot add ") + OBJ_nid2sn(nid) + ": " + openssl_error_text()};
  return true;
}

Result<bool> add_subject_alt_names(X509* cert, const CertRequest& request) {
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return Error{"cannot allocate subjectAltName: " + openssl_error_text()};
  auto push = [&](int type, ASN1_STRING* value) {
    Asn1StringPtr owned(value);
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!owned || !name) return false;
    GENERAL_NAME_set0_value(name.get(), type, owned.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) == 0) return false;
    (void)name.release();  // owned by names now
    return true;
  };
  for (const auto& dns : request.dns_names) {
    if (!plausible_dns_name(dns)) return Error{"invalid DNS name '" + dns + "'"};
    ASN1_IA5STRING* value = ASN1_IA5STRING_new();
    if (value != nullptr && ASN1_STRING_set(value, dns.data(), static_cast<int>(dns.size())) != 1) {
      ASN1_IA5STRING_free(value);
      value = nullptr;
    }
    if (!push(GEN_DNS, value)) return Error{"cannot add DNS name: " + openssl_error_text()};
  }
  for (const auto& ip : request.ip_addresses) {
    ASN1_OCTET_STRING* value = a2i_IPADDRESS(ip.c_str());
    if (value == nullptr) {
      ERR_clear_error();
      return Error{"invalid IP address '" + ip + "'"};
    }
    if (!push(GEN_IPADD, value)) return Error{"cannot add IP address: " + openssl_error_text()};
  }
  if (sk_GENERAL_NAME_num(names.get()) == 0) return true;
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return Error{"cannot add subjectAltName: " + openssl_error_text()};
  return true;
}

Result<CertKeyPem> sign_and_encode(X509* cert, EVP_PKEY* signing_key, EVP_PKEY* key) {
  if (X509_sign(cert, signing_key, EVP_sha256()) <= 0)
    return Error{"cannot sign the certificate: " + openssl_error_text()};
  auto cert_pem = to_pem(cert, nullptr);
  if (!cert_pem.ok()) return Error{cert_pem.error()};
  auto key_pem = to_pem(nullptr, key);
  if (!key_pem.ok()) return Error{key_pem.error()};
  return CertKeyPem{std::move(cert_pem.value()), std::move(key_pem.value())};
}

std::chrono::sys_seconds to_sys_seconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::sys_seconds(std::chrono::seconds(timegm(&tm)));
}

std::string ip_to_string(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  int len = ASN1_STRING_length(ip);
  if (len == 4) inet_ntop(AF_INET, data, buf, sizeof(buf));
  if (len == 16) inet_ntop(AF_INET6, data, buf, sizeof(buf));
  return buf;
}

}  // namespace

std::string openssl_error_text() {
  std::string out;
  char buf[256];
  while (unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof(buf));
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Result<CertKeyPem> generate_ca(const std::string& common_name, std::chrono::hours validity) {
  ErrorQueueScope errors;
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Error{"cannot generate a P-256 key: " + openssl_error_text()};
  auto cert = new_certificate(common_name, nullptr, validity, key.get());
  if (!cert.ok()) return Error{"CA certificate: " + cert.error()};
  X509* c = cert.value().get();
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    auto added = add_extension(c, c, nid, value);
    if (!added.ok()) return Error{"CA certificate: " + added.error()};
  }
  return sign_and_encode(c, key.get(), key.get());
}

Result<CertKeyPem> issue_certificate(const CertKeyPem& ca, const CertRequest& request) {
  ErrorQueueScope errors;
  X509Ptr ca_cert = read_certificate(ca.cert_pem);
  if (!ca_cert) return Error{"CA certificate: " + openssl_error_text()};
  PkeyPtr ca_key = read_private_key(ca.key_pem);
  if (!ca_key) return Error{"CA key: " + openssl_error_text()};
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1)
    return Error{"the CA key does not match the CA certificate"};
  if (!is_ca(ca_cert.get())) return Error{"the issuer certificate is not a CA"};
  if (request.server && request.dns_names.empty() && request.ip_addresses.empty()) {
    // Go's crypto/x509 ignores the CN: a serving certificate is matched by its SANs only.
    return Error{"a server certificate needs at least one DNS name or IP address"};
  }

  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Error{"cannot generate a P-256 key: " + openssl_error_text()};
  auto cert = new_certificate(request.common_name, X509_get_subject_name(ca_cert.get()),
                              request.validity, key.get());
  if (!cert.ok()) return Error{"certificate: " + cert.error()};
  X509* c = cert.value().get();
  // Not valid past the CA: clients would reject the chain then anyway.
  if (ASN1_TIME_compare(X509_get0_notAfter(c), X509_get0_notAfter(ca_cert.get())) > 0 &&
      X509_set1_notAfter(c, X509_get0_notAfter(ca_cert.get())) != 1)
    return Error{"certificate: cannot set notAfter: " + openssl_error_text()};

  std::string eku;
  if (request.server) eku += "serverAuth";
  if (request.client) eku += std::string(eku.empty() ? "" : ",") + "clientAuth";
  // keyUsage: digitalSignature only. keyEncipherment is for RSA key transport and means nothing
  // for an ECDSA key (Go's own generator sets it only for RSA keys).
  std::vector<std::pair<int, const char*>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (!eku.empty()) extensions.emplace_back(NID_ext_key_usage, eku.c_str());
  for (const auto& [nid, value] : extensions) {
    auto added = add_extension(c, ca_cert.get(), nid, value);
    if (!added.ok()) return Error{"certificate: " + added.error()};
  }
  auto sans = add_subject_alt_names(c, request);
  if (!sans.ok()) return Error{"certificate: " + sans.error()};
  return sign_and_encode(c, ca_key.get(), key.get());
}

Result<CertInfo> inspect_certificate(std::string_view cert_pem) {
  ErrorQueueScope errors;
  X509Ptr cert = read_certificate(cert_pem);
  if (!cert) return Error{"cannot read the certificate PEM: " + openssl_error_text()};
  CertInfo info;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (idx >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len >= 0) info.common_name.assign(reinterpret_cast<const char*>(utf8), len);
    OPENSSL_free(utf8);
  }
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      info.dns_names.emplace_back(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
          ASN1_STRING_length(name->d.dNSName));
    } else if (name->type == GEN_IPADD) {
      info.ip_addresses.push_back(ip_to_string(name->d.iPAddress));
    }
  }
  info.is_ca = is_ca(cert.get());
  info.not_before = to_sys_seconds(X509_get0_notBefore(cert.get()));
  info.not_after = to_sys_seconds(X509_get0_notAfter(cert.get()));
  return info;
}

bool key_matches_certificate(std::string_view cert_pem, std::string_view key_pem) {
  ErrorQueueScope errors;
  X509Ptr cert = read_certificate(cert_pem);
  PkeyPtr key = read_private_key(key_pem);
  return cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
}

bool certificate_signed_by(std::string_view cert_pem, std::string_view ca_pem) {
  ErrorQueueScope errors;
  X509Ptr cert = read_certificate(cert_pem);
  X509Ptr ca = read_certificate(ca_pem);
  if (!cert || !ca) return false;
  EVP_PKEY* ca_key = X509_get0_pubkey(ca.get());
  return ca_key != nullptr &&
         X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(ca.get())) == 0 &&
         X509_verify(cert.get(), ca_key) == 1;
}

}  // namespace vigil::http
