#pragma once

// A checked view of one ring-buffer record (bpf/event_abi.h): a `struct vg_event` header followed
// by `hdr.nblobs` blobs, each a `struct vg_blob` and its payload padded to 8 bytes.
//
// Records come from the kernel, but a verifier-accepted program can still write garbage after an
// ABI mismatch or a bug, so parse() treats them as untrusted: it never reads outside
// [data, data + size), and a record that does not check out is rejected with the reason (the
// decoder counts it and skips it). Parsing copies nothing but an index of the blobs; views point
// into `data` and are valid as long as it is.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bpf/event_abi.h"

namespace vigil::agent {

enum class RecordError : uint8_t {
  kOk = 0,
  kTruncated,  // shorter than the header, or than the header's own `size`
  kBadSize,    // hdr.size is below the header size or above VG_MAX_RECORD
  kBadAbi,     // hdr.abi is not VG_ABI_VERSION
  kBadType,    // hdr.type is not a vg_type
  kBadBlob,    // a blob runs past the record, or a fixed-size blob is too short
};
inline constexpr size_t kRecordErrorCount = 6;
// "ok", "truncated", "bad_size", "bad_abi", "bad_type", "bad_blob" (metric label values).
std::string_view record_error_name(RecordError e);

class Record {
 public:
  // How many blobs of one kind are indexed (DIRFD_PATH appears twice for renameat/linkat).
  static constexpr unsigned kMaxPerKind = 2;

  Record() = default;
  Record(const Record&) = delete;  // may point at its own copy of the header
  Record& operator=(const Record&) = delete;

  // Validates and indexes one record. On error the view is empty (valid() is false).
  RecordError parse(const void* data, size_t size);

  bool valid() const { return hdr_ != nullptr; }
  const vg_event& header() const { return *hdr_; }
  uint16_t type() const { return hdr_->type; }

  // Payload of the nth blob of a kind (not NUL-terminated; a trailing NUL written by the kernel
  // is stripped for the string kinds); empty when absent. Unknown kinds are ignored.
  std::string_view blob(vg_blob_kind kind, unsigned nth = 0) const {
    return nth < count(kind) ? blobs_[static_cast<unsigned>(kind)][nth] : std::string_view();
  }
  bool has(vg_blob_kind kind) const { return count(kind) != 0; }
  unsigned count(vg_blob_kind kind) const {
    const unsigned k = static_cast<unsigned>(kind);
    return k < kKinds ? ((first_ >> k) & 1u) + ((second_ >> k) & 1u) : 0;
  }
  // Fixed-size blobs, copied out (no alignment assumptions); false when absent.
  bool socktuple(vg_socktuple& out) const;
  bool fdinfo(vg_fdinfo& out) const;
  // The header's comm up to its first NUL (at most 16 bytes).
  std::string_view comm() const;

 private:
  static constexpr unsigned kKinds = VG_B_ENV + 1;

  static_assert(kKinds <= 32 && kMaxPerKind == 2);
  const vg_event* hdr_ = nullptr;
  // Bit k: the first / second blob of kind k was seen (two words instead of an array of counts:
  // cleared per record with two register stores).
  uint32_t first_ = 0;
  uint32_t second_ = 0;
  std::array<std::array<std::string_view, kMaxPerKind>, kKinds> blobs_{};
  vg_event copy_{};  // the header, when `data` is not aligned for vg_event
};

}  // namespace vigil::agent
