#pragma once

// A bearer token kept in a file that is replaced as it rotates (a projected service account
// token). Like client-go's cached file token source: re-read after max_age, when the file's mtime
// changes, and at once after the server answered 401.

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>

#include "common/base/result.h"

namespace vigil::k8s {

class TokenFile {
 public:
  explicit TokenFile(std::string path, std::chrono::seconds max_age = std::chrono::seconds(60));

  // The current token (surrounding whitespace trimmed). Thread-safe.
  Result<std::string> token();
  // Forces a re-read on the next token() call, e.g. after a 401.
  void invalidate();

  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  const std::chrono::seconds max_age_;
  std::mutex mu_;
  std::string token_;                              // guarded by mu_; a secret, never logged
  std::chrono::steady_clock::time_point read_at_;  // guarded by mu_
  std::filesystem::file_time_type mtime_{};        // guarded by mu_
  bool have_token_ = false;                        // guarded by mu_
  bool force_reread_ = false;                      // guarded by mu_
};

}  // namespace vigil::k8s
