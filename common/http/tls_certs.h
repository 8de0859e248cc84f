#pragma once

// Certificates for the operator's own TLS: a CA, serving certificates for the audit webhook and
// client certificates, generated in memory with OpenSSL 3. Keys are ECDSA P-256 and signatures
// SHA-256; everything is PEM (keys as PKCS#8). The certificates follow what Go's crypto/x509 (and
// so kube-apiserver's webhook client) checks: names in subjectAltName, not the CN; a CA with
// critical basicConstraints and keyCertSign; key identifiers that link a certificate to its CA.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace vigil::http {

struct CertKeyPem {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8 "PRIVATE KEY", not encrypted
};

struct CertRequest {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS
  std::vector<std::string> ip_addresses;  // subjectAltName IP ("10.0.0.1", "::1")
  bool server = true;                     // extendedKeyUsage serverAuth
  bool client = false;                    // extendedKeyUsage clientAuth
  std::chrono::hours validity{24 * 365};  // capped at the CA's own expiry
};

// A self-signed CA: basicConstraints CA:TRUE (critical), keyUsage keyCertSign and cRLSign,
// subjectKeyIdentifier.
Result<CertKeyPem> generate_ca(const std::string& common_name, std::chrono::hours validity);

// A leaf certificate signed by `ca`: basicConstraints CA:FALSE, keyUsage digitalSignature,
// extendedKeyUsage from request.server/client, subjectAltName, authorityKeyIdentifier; valid from
// five minutes ago (clock skew). A server certificate needs at least one DNS name or IP address.
Result<CertKeyPem> issue_certificate(const CertKeyPem& ca, const CertRequest& request);

struct CertInfo {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  bool is_ca = false;  // basicConstraints CA:TRUE
  std::chrono::sys_seconds not_before;
  std::chrono::sys_seconds not_after;
};

// The first certificate of a PEM bundle.
Result<CertInfo> inspect_certificate(std::string_view cert_pem);

// The private key belongs to the (first) certificate. False for unreadable PEMs.
bool key_matches_certificate(std::string_view cert_pem, std::string_view key_pem);

// The certificate names the CA as its issuer and the CA's key verifies its signature (no chain,
// time or usage checks). False for unreadable PEMs.
bool certificate_signed_by(std::string_view cert_pem, std::string_view ca_pem);

// Pops the calling thread's OpenSSL error queue into one message ("unknown OpenSSL error" when
// it is empty); the queue is left empty.
std::string openssl_error_text();

}  // namespace vigil::http
