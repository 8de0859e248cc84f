#include "agent/record.h"

#include <cstring>

namespace vigil::agent {

std::string_view record_error_name(RecordError e) {
  switch (e) {
    case RecordError::kOk:
      return "ok";
    case RecordError::kTruncated:
      return "truncated";
    case RecordError::kBadSize:
      return "bad_size";
    case RecordError::kBadAbi:
      return "bad_abi";
    case RecordError::kBadType:
      return "bad_type";
    case RecordError::kBadBlob:
      return "bad_blob";
  }
  return "unknown";
}

namespace {

constexpr size_t kHeaderSize = sizeof(vg_event);
constexpr size_t kBlobHeaderSize = sizeof(vg_blob);

// Blob kinds holding one path: cut at the first NUL (the kernel may count the terminator).
bool is_single_string(unsigned kind) {
  switch (kind) {
    case VG_B_PATH:
    case VG_B_PATH2:
    case VG_B_EXEPATH:
    case VG_B_CWD:
    case VG_B_FDPATH:
    case VG_B_DIRFD_PATH:
      return true;
    default:
      return false;
  }
}

}  // namespace

RecordError Record::parse(const void* data, size_t size) {
  hdr_ = nullptr;
  first_ = 0;
  second_ = 0;
  if (data == nullptr || size < kHeaderSize) {
    return RecordError::kTruncated;
  }
  const auto* bytes = static_cast<const char*>(data);
  const vg_event* hdr = nullptr;
  if (reinterpret_cast<uintptr_t>(data) % alignof(vg_event) == 0) {
    hdr = static_cast<const vg_event*>(data);
  } else {
    std::memcpy(&copy_, data, kHeaderSize);
    hdr = &copy_;
  }
  const size_t total = hdr->size;
  if (total < kHeaderSize || total > VG_MAX_RECORD) {
    return RecordError::kBadSize;
  }
  if (total > size) {
    return RecordError::kTruncated;
  }
  if (hdr->abi != VG_ABI_VERSION) {
    return RecordError::kBadAbi;
  }
  if (hdr->type >= VG_T_COUNT) {
    return RecordError::kBadType;
  }

  size_t off = kHeaderSize;
  for (unsigned i = 0; i < hdr->nblobs; ++i) {
    if (total - off < kBlobHeaderSize) {
      return RecordError::kBadBlob;
    }
    vg_blob b;
    std::memcpy(&b, bytes + off, kBlobHeaderSize);
    off += kBlobHeaderSize;
    if (b.len > total - off) {
      return RecordError::kBadBlob;
    }
    std::string_view payload(bytes + off, b.len);
    // Padding to 8 bytes; the last blob's padding may be cut by `size`.
    const size_t padded = (static_cast<size_t>(b.len) + 7) & ~size_t{7};
    off = padded <= total - off ? off + padded : total;

    const unsigned kind = b.kind;
    if (kind == 0 || kind >= kKinds) {
      continue;  // a kind this agent does not know: skip it, the rest is still usable
    }
    if (kind == VG_B_SOCKTUPLE && payload.size() < sizeof(vg_socktuple)) {
      return RecordError::kBadBlob;
    }
    if (kind == VG_B_FDINFO && payload.size() < sizeof(vg_fdinfo)) {
      return RecordError::kBadBlob;
    }
    if (is_single_string(kind)) {
      if (const void* nul = std::memchr(payload.data(), '\0', payload.size())) {
        payload =
            payload.substr(0, static_cast<size_t>(static_cast<const char*>(nul) - payload.data()));
      }
    } else if (kind == VG_B_ARGV || kind == VG_B_ENV) {
      while (!payload.empty() && payload.back() == '\0') {
        payload.remove_suffix(1);
      }
    }
    const uint32_t bit = 1u << kind;
    if ((first_ & bit) == 0) {
      first_ |= bit;
      blobs_[kind][0] = payload;
    } else if ((second_ & bit) == 0) {
      second_ |= bit;
      blobs_[kind][1] = payload;
    }
  }
  hdr_ = hdr;
  return RecordError::kOk;
}

bool Record::socktuple(vg_socktuple& out) const {
  const std::string_view b = blob(VG_B_SOCKTUPLE);
  if (b.size() < sizeof(vg_socktuple)) {
    return false;
  }
  std::memcpy(&out, b.data(), sizeof(vg_socktuple));
  return true;
}

bool Record::fdinfo(vg_fdinfo& out) const {
  const std::string_view b = blob(VG_B_FDINFO);
  if (b.size() < sizeof(vg_fdinfo)) {
    return false;
  }
  std::memcpy(&out, b.data(), sizeof(vg_fdinfo));
  return true;
}

std::string_view Record::comm() const {
  const char* c = hdr_->comm;
  size_t n = 0;
  while (n < sizeof(hdr_->comm) && c[n] != '\0') {
    ++n;
  }
  return {c, n};
}

}  // namespace vigil::agent
