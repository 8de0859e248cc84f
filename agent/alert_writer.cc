#include "agent/alert_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "common/base/write_all.h"
#include "spdlog/spdlog.h"

namespace vigil::agent {

struct AlertWriter::Impl {
  AlertWriterOptions options;
  int file_fd = -1;

  mutable std::mutex mu;  // guards queue, stats, stopping
  std::condition_variable cv;
  std::deque<alerts::Alert> queue;
  AlertWriterStats stats;
  bool stopping = false;

  std::thread thread;

  void run() {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty() && stopping) return;
      std::deque<alerts::Alert> batch;
      batch.swap(queue);
      lock.unlock();
      uint64_t ok = 0, errors = 0;
      std::string out, file_out;
      for (const auto& a : batch) {
        if (options.to_stdout) {
          if (options.stdout_format == OutputFormat::kJson) {
            out += alerts::to_falco_json(a);
          } else {
            out += a.output();
            if (a.mode == rules::RuleMode::kDryRun) out += " [dry run]";
          }
          out += '\n';
        }
        if (file_fd >= 0) {
          file_out += alerts::to_falco_json(a);
          file_out += '\n';
        }
      }
      bool good = true;
      if (!out.empty()) good = write_all(STDOUT_FILENO, out) && good;
      if (!file_out.empty()) good = write_all(file_fd, file_out) && good;
      (good ? ok : errors) = batch.size();
      lock.lock();
      stats.written += ok;
      stats.write_errors += errors;
    }
  }
};

AlertWriter::AlertWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<AlertWriter>> AlertWriter::start(const AlertWriterOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.file.empty()) {
    impl->file_fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (impl->file_fd < 0) {
      return make_error("Opening alert file " + options.file + " failed: " + std::strerror(errno));
    }
  }
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<AlertWriter>(new AlertWriter(std::move(impl)));
}

AlertWriter::~AlertWriter() { stop(); }

bool AlertWriter::push(alerts::Alert alert) {
  if (impl_->options.forward) impl_->options.forward(alert);
  {
    std::lock_guard lock(impl_->mu);
    ++impl_->stats.by_rule[alert.rule];
    auto& per = impl_->stats.by_object[{alert.rule_namespace, alert.rule}];
    ++per.alerts;
    per.last_time_ns = std::max(per.last_time_ns, alert.time_ns);
    if (impl_->stopping || impl_->queue.size() >= impl_->options.queue_limit) {
      ++impl_->stats.dropped;
      return false;
    }
    ++impl_->stats.queued;
    impl_->queue.push_back(std::move(alert));
  }
  impl_->cv.notify_one();
  return true;
}

void AlertWriter::stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping && !impl_->thread.joinable()) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_one();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->file_fd >= 0) {
    ::fsync(impl_->file_fd);
    ::close(impl_->file_fd);
    impl_->file_fd = -1;
  }
}

AlertWriterStats AlertWriter::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace vigil::agent
