#include "common/k8s/token_file.h"

#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>

namespace vigil::k8s {

namespace {

constexpr size_t kMaxTokenBytes = 64u << 10;

}  // namespace

TokenFile::TokenFile(std::string path, std::chrono::seconds max_age)
    : path_(std::move(path)), max_age_(max_age) {}

Result<std::string> TokenFile::token() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path_, ec);
  const bool fresh =
      have_token_ && !force_reread_ && now - read_at_ < max_age_ && !ec && mtime == mtime_;
  if (fresh) return token_;

  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    // Keep using the last good token while the file is briefly missing during a rotation.
    if (have_token_) return token_;
    return make_error(fmt::format("cannot read token file {}", path_));
  }
  std::string text(kMaxTokenBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTokenBytes)
    return make_error(fmt::format("token file {} is too large", path_));
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  if (first == std::string::npos) {
    if (have_token_) return token_;
    return make_error(fmt::format("token file {} is empty", path_));
  }
  token_ = text.substr(first, last - first + 1);
  read_at_ = now;
  mtime_ = ec ? std::filesystem::file_time_type{} : mtime;
  have_token_ = true;
  force_reread_ = false;
  return token_;
}

void TokenFile::invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  // The old token stays as the fallback in case the file cannot be read.
  force_reread_ = true;
}

}  // namespace vigil::k8s
