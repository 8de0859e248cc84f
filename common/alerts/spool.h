#pragma once

// A small on-disk spool per sink, so an agent restart does not lose queued alerts.
//
// Layout under <root>/<sink dir>/ (see spool_dir_name):
//   seg-<16 digits>.log   append-only segments of records:
//                          u32 payload length (LE) | u32 CRC-32 of the payload (LE) | payload
//                          where the payload is the alert as compact JSON (encode_alert_json)
//   committed             "<segment> <offset>\n" (fixed width): records before it were
//                          acknowledged (delivered or dropped with a reason)
// Appends are fsync'd once per append() call (a batch). Acknowledgements are overwritten in
// place without fsync: after a crash at most the last acknowledged batches are delivered again
// (at least once); after a clean stop, exactly once.
// On open, segments are scanned from the committed offset; a corrupt or torn tail is truncated
// at the last good record (counted, logged), never fatal. Past max_bytes the oldest segment is
// deleted (its records counted as dropped); the dispatcher's bounded queue keeps this rare.
//
// Not thread-safe: one sink delivery thread owns its spool.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/alerts/alert.h"
#include "common/base/result.h"

namespace vigil::alerts {

struct SpoolOptions {
  size_t segment_bytes = 1u << 20;  // a new segment past this size
  size_t max_bytes = 64u << 20;     // total cap of a sink's spool
};

struct SpoolStats {
  uint64_t appended = 0;         // records written
  uint64_t acknowledged = 0;     // records trimmed
  uint64_t recovered = 0;        // unacknowledged records found on open
  uint64_t corrupt_records = 0;  // records (or torn tails) cut on open
  uint64_t corrupt_bytes = 0;    // bytes cut on open
  uint64_t dropped_oldest = 0;   // unacknowledged records lost to the size cap
  uint64_t write_errors = 0;     // failed appends (the alerts stay queued in memory)
  uint64_t bytes = 0;            // current size of the segments
};

// One alert recovered from, or written to, the spool; `seq` identifies it for acknowledge().
struct SpooledAlert {
  uint64_t seq = 0;
  Alert alert;
};

class Spool {
 public:
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Opens (creating) the spool of sink ns/name under `root` and scans it. Errors only for I/O
  // failures on the directory itself; corrupt content is repaired.
  static Result<std::unique_ptr<Spool>> open(const std::string& root, std::string_view ns,
                                             std::string_view name, const SpoolOptions& options);

  // The records not yet acknowledged when the spool was opened, oldest first (once).
  std::vector<SpooledAlert> take_recovered();

  // Appends the alerts and fsyncs; returns the sequence number of the first (the others
  // follow). On an I/O error nothing is acknowledged later for them; the caller keeps them in
  // memory.
  Result<uint64_t> append(std::span<const Alert> alerts);

  // Everything up to and including `seq` was delivered or dropped: trims it.
  void acknowledge(uint64_t seq);

  // Deletes every segment and the directory (the sink was removed and its queue settled).
  void remove();

  const std::string& dir() const;
  const SpoolStats& stats() const;

 private:
  struct Impl;
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "<ns>_<name>" with anything outside [a-z0-9.-] as %XX: a safe, unambiguous directory name
// ('_' is not valid in Kubernetes names).
std::string spool_dir_name(std::string_view ns, std::string_view name);

// Every Alert field as compact JSON, and back (bounded: size, nesting, types checked).
std::string encode_alert_json(const Alert& alert);
Result<Alert> decode_alert_json(std::string_view json);

uint32_t crc32(std::string_view data);

}  // namespace vigil::alerts
