// The local sink types: stdout and a file under the sink directory with size-based rotation.
// Their factories are declared in sink_types.h, next to the HTTP sink types.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/alerts/sink_types.h"
#include "common/base/write_all.h"

namespace vigil::alerts {
namespace {

namespace v1 = api::v1alpha1;

// One alert as one line. Text lines escape line breaks, so a field value (a command line, say)
// cannot forge a line that looks like another alert.
void append_line(std::string& out, const Alert& a, v1::AlertFormat format) {
  if (format == v1::AlertFormat::kJson) {
    out += to_falco_json(a);
  } else {
    for (char c : a.output()) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else {
        out += c;
      }
    }
  }
  out += '\n';
}

std::string errno_text() { return std::strerror(errno); }

class StreamOutput : public LocalOutput {
 public:
  StreamOutput(v1::AlertFormat format, int fd) : format_(format), fd_(fd) {}

  Result<bool> write(std::span<const Alert> batch) override {
    std::string out;
    for (const Alert& a : batch) append_line(out, a, format_);
    // One write(2) per batch and no user-space buffer: nothing waits for a flush.
    if (!write_all(fd_, out)) return make_error("Writing alerts to stdout failed: " + errno_text());
    return true;
  }

 private:
  v1::AlertFormat format_;
  int fd_;
};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A file under the sink directory with size-based rotation: when the next alert would take the
// file past max_size_bytes, path.(N-1) -> path.N, ..., path -> path.1 (N = max_files; with 0
// the file is simply removed) and a new file is started. Every directory below the sink
// directory and the file itself are opened relative to their parent with O_NOFOLLOW, so a
// symbolic link cannot redirect the privileged agent's writes elsewhere on the node.
class FileOutput : public LocalOutput {
 public:
  FileOutput(v1::FileSink spec, std::string directory, std::vector<std::string> subdirs,
             std::string filename)
      : spec_(std::move(spec)),
        directory_(std::move(directory)),
        subdirs_(std::move(subdirs)),
        filename_(std::move(filename)) {}

  Result<bool> write(std::span<const Alert> batch) override {
    std::lock_guard lock(mu_);
    if (auto r = open_locked(); !r.ok()) return r;
    const bool fsync_each = spec_.fsync == v1::FsyncPolicy::kEveryAlert;
    std::string pending;
    std::string line;
    for (const Alert& a : batch) {
      line.clear();
      append_line(line, a, spec_.format);
      const int64_t used = size_ + static_cast<int64_t>(pending.size());
      if (used > 0 && used + static_cast<int64_t>(line.size()) > spec_.max_size_bytes) {
        if (auto r = flush_locked(pending, false); !r.ok()) return r;
        if (auto r = rotate_locked(); !r.ok()) return r;
      }
      pending += line;
      if (fsync_each) {
        if (auto r = flush_locked(pending, true); !r.ok()) return r;
      }
    }
    return flush_locked(pending, false);
  }

 private:
  std::string display() const {
    std::string p = directory_;
    for (const auto& d : subdirs_) p += d + "/";
    return p + filename_;
  }

  Result<bool> fail(const std::string& what) {
    std::string message = what + " " + display() + " failed: " + errno_text();
    fd_.reset();  // reopened on the next write
    return make_error(std::move(message));
  }

  // Opens the directory chain and the file if needed; reopens a file or directory that was
  // removed under us (writing on would lose alerts in an unlinked inode). Sets size_.
  Result<bool> open_locked() {
    struct stat st {};
    if (dir_.get() >= 0 && (::fstat(dir_.get(), &st) != 0 || st.st_nlink == 0)) {
      dir_.reset();
      fd_.reset();
    }
    if (fd_.get() >= 0 && (::fstat(fd_.get(), &st) != 0 || st.st_nlink == 0)) fd_.reset();
    if (dir_.get() < 0) {
      UniqueFd dir(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (dir.get() < 0) return fail("Opening the directory of");
      for (const auto& sub : subdirs_) {
        if (::mkdirat(dir.get(), sub.c_str(), 0750) != 0 && errno != EEXIST)
          return fail("Creating a directory for");
        UniqueFd next(
            ::openat(dir.get(), sub.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (next.get() < 0) return fail("Opening a directory (not a symbolic link) for");
        dir = std::move(next);
      }
      dir_ = std::move(dir);
    }
    if (fd_.get() < 0) {
      fd_.reset(::openat(dir_.get(), filename_.c_str(),
                         O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (fd_.get() < 0) return fail("Opening");
      if (::fstat(fd_.get(), &st) != 0) return fail("Reading the size of");
      if (!S_ISREG(st.st_mode)) {
        fd_.reset();
        return make_error("Opening " + display() + " failed: not a regular file");
      }
      if ((st.st_mode & 07777) != 0600 && ::fchmod(fd_.get(), 0600) != 0)
        return fail("Restricting the permissions of");
    } else if (::fstat(fd_.get(), &st) != 0) {
      return fail("Reading the size of");
    }
    size_ = st.st_size;
    return true;
  }

  Result<bool> flush_locked(std::string& pending, bool sync) {
    if (!pending.empty()) {
      if (!write_all(fd_.get(), pending)) return fail("Writing alerts to");
      size_ += static_cast<int64_t>(pending.size());
      pending.clear();
    }
    if (sync && ::fsync(fd_.get()) != 0) return fail("Syncing");
    return true;
  }

  std::string rotated(int i) const { return filename_ + "." + std::to_string(i); }

  Result<bool> rotate_locked() {
    fd_.reset();
    const int dir = dir_.get();
    if (spec_.max_files <= 0) {
      if (::unlinkat(dir, filename_.c_str(), 0) != 0 && errno != ENOENT)
        return fail("Removing the full file");
    } else {
      for (int i = spec_.max_files - 1; i >= 1; --i) {
        if (::renameat(dir, rotated(i).c_str(), dir, rotated(i + 1).c_str()) != 0 &&
            errno != ENOENT)
          return fail("Rotating");
      }
      if (::renameat(dir, filename_.c_str(), dir, rotated(1).c_str()) != 0 && errno != ENOENT)
        return fail("Rotating");
    }
    if (spec_.fsync == v1::FsyncPolicy::kEveryAlert && ::fsync(dir) != 0)
      return fail("Syncing the directory of");
    return open_locked();
  }

  const v1::FileSink spec_;
  const std::string directory_;  // ends with '/'
  const std::vector<std::string> subdirs_;
  const std::string filename_;

  std::mutex mu_;  // guards dir_, fd_, size_
  UniqueFd dir_;
  UniqueFd fd_;
  int64_t size_ = 0;
};

}  // namespace

std::shared_ptr<LocalOutput> make_stdout_output(api::v1alpha1::AlertFormat format, int fd) {
  return std::make_shared<StreamOutput>(format, fd);
}

Result<std::shared_ptr<LocalOutput>> make_file_output(const api::v1alpha1::FileSink& spec,
                                                      std::string_view directory) {
  std::string dir(directory);
  if (dir.empty()) return make_error("spec.file.path: no sink directory");
  if (!dir.ends_with('/')) dir += '/';
  const std::string& path = spec.path;
  if (!path.starts_with(dir) || path.size() == dir.size())
    return make_error("spec.file.path: must name a file under " + dir);
  if (path.ends_with('/')) return make_error("spec.file.path: must name a file, not a directory");
  std::vector<std::string> parts;
  std::string_view rest = std::string_view(path).substr(dir.size());
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty() || part == "." || part == "..")
      return make_error("spec.file.path: must not contain empty, '.' or '..' components");
    if (part.find('\0') != std::string_view::npos)
      return make_error("spec.file.path: must not contain NUL characters");
    parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (spec.max_size_bytes <= 0) return make_error("spec.file.maxSizeBytes: must be positive");
  if (spec.max_files < 0) return make_error("spec.file.maxFiles: must not be negative");
  std::string filename = std::move(parts.back());
  parts.pop_back();
  return std::shared_ptr<LocalOutput>(
      std::make_shared<FileOutput>(spec, std::move(dir), std::move(parts), std::move(filename)));
}

}  // namespace vigil::alerts
