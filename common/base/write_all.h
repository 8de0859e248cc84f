#pragma once

// Writing a whole buffer to a file descriptor (alert files, the spool, the agent's output).

#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace vigil {

// Writes all of `s`; false on error (EINTR retried, errno left as write(2) set it).
inline bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace vigil
