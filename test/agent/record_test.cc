// Record validation: every way a record can be malformed is rejected with its reason, and no
// input, however mangled, makes the parser read outside the bytes it was given.

#include "agent/record.h"

#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "test/agent/record_builder.h"

namespace vigil::agent {
namespace {

using vigil::testing::RawRecord;
using vigil::testing::RecordBuilder;

TEST(RecordTest, ParsesHeaderAndBlobs) {
  RawRecord r = RecordBuilder(VG_T_OPENAT, 42)
                    .res(3)
                    .path(std::string("/etc/passwd\0junk", 16))
                    .argv({"bash", "-c", "ls"})
                    .fdinfo(3, VG_FD_FILE, 0x800003, 77)
                    .build();
  Record rec;
  ASSERT_EQ(rec.parse(r.data(), r.size), RecordError::kOk);
  EXPECT_TRUE(rec.valid());
  EXPECT_EQ(rec.type(), VG_T_OPENAT);
  EXPECT_EQ(rec.header().tgid, 42u);
  EXPECT_EQ(rec.header().res, 3);
  EXPECT_EQ(rec.blob(VG_B_PATH), "/etc/passwd");                         // cut at the NUL
  EXPECT_EQ(rec.blob(VG_B_ARGV), std::string_view("bash\0-c\0ls", 10));  // trailing NUL dropped
  vg_fdinfo info{};
  ASSERT_TRUE(rec.fdinfo(info));
  EXPECT_EQ(info.ino, 77u);
  EXPECT_EQ(info.dev, 0x800003u);
  EXPECT_FALSE(rec.has(VG_B_CWD));
  EXPECT_EQ(rec.blob(VG_B_CWD), "");
  EXPECT_EQ(rec.comm(), "test");
}

TEST(RecordTest, KeepsTwoBlobsOfAKind) {
  RawRecord r =
      RecordBuilder(VG_T_RENAMEAT).dirfd_path("/a").dirfd_path("/b").dirfd_path("/c").build();
  Record rec;
  ASSERT_EQ(rec.parse(r.data(), r.size), RecordError::kOk);
  EXPECT_EQ(rec.count(VG_B_DIRFD_PATH), 2u);
  EXPECT_EQ(rec.blob(VG_B_DIRFD_PATH, 0), "/a");
  EXPECT_EQ(rec.blob(VG_B_DIRFD_PATH, 1), "/b");
  EXPECT_EQ(rec.blob(VG_B_DIRFD_PATH, 2), "");
}

TEST(RecordTest, IgnoresUnknownBlobKinds) {
  RawRecord r = RecordBuilder(VG_T_OPEN).blob(200, "future").path("/x").build();
  Record rec;
  ASSERT_EQ(rec.parse(r.data(), r.size), RecordError::kOk);
  EXPECT_EQ(rec.blob(VG_B_PATH), "/x");
}

TEST(RecordTest, RejectsShortInput) {
  RawRecord r = RecordBuilder(VG_T_OPEN).path("/x").build();
  Record rec;
  EXPECT_EQ(rec.parse(nullptr, 0), RecordError::kTruncated);
  EXPECT_EQ(rec.parse(r.data(), sizeof(vg_event) - 1), RecordError::kTruncated);
  EXPECT_FALSE(rec.valid());
  // Shorter than the header's own size.
  EXPECT_EQ(rec.parse(r.data(), r.size - 1), RecordError::kTruncated);
}

TEST(RecordTest, RejectsBadSizeAbiAndType) {
  Record rec;
  {
    RawRecord r = RecordBuilder(VG_T_OPEN).build();
    r.header().size = sizeof(vg_event) - 8;
    EXPECT_EQ(rec.parse(r.data(), r.size), RecordError::kBadSize);
    r.header().size = VG_MAX_RECORD + 8;
    EXPECT_EQ(rec.parse(r.data(), r.size), RecordError::kBadSize);
  }
  {
    RawRecord r = RecordBuilder(VG_T_OPEN).build();
    r.header().abi = VG_ABI_VERSION + 1;
    EXPECT_EQ(rec.parse(r.data(), r.size), RecordError::kBadAbi);
  }
  {
    RawRecord r = RecordBuilder(VG_T_COUNT).build();
    EXPECT_EQ(rec.parse(r.data(), r.size), RecordError::kBadType);
  }
}

TEST(RecordTest, RejectsBlobOverruns) {
  Record rec;
  {
    // A blob length past the end of the record.
    RawRecord r = RecordBuilder(VG_T_OPEN).path("/etc/passwd").build();
    vg_blob b{};
    std::memcpy(&b, r.bytes() + sizeof(vg_event), sizeof(b));
    b.len = 200;
    std::memcpy(r.bytes() + sizeof(vg_event), &b, sizeof(b));
    EXPECT_EQ(rec.parse(r.data(), r.size), RecordError::kBadBlob);
  }
  {
    // More blobs announced than present.
    RawRecord r = RecordBuilder(VG_T_OPEN).path("/etc/passwd").build();
    r.header().nblobs = 2;
    EXPECT_EQ(rec.parse(r.data(), r.size), RecordError::kBadBlob);
    r.header().nblobs = 0xFFFF;
    EXPECT_EQ(rec.parse(r.data(), r.size), RecordError::kBadBlob);
  }
  {
    // A fixed-size blob that is too short.
    RawRecord r = RecordBuilder(VG_T_CONNECT).blob(VG_B_SOCKTUPLE, "short").build();
    EXPECT_EQ(rec.parse(r.data(), r.size), RecordError::kBadBlob);
    RawRecord f = RecordBuilder(VG_T_OPEN).blob(VG_B_FDINFO, "short").build();
    EXPECT_EQ(rec.parse(f.data(), f.size), RecordError::kBadBlob);
  }
}

TEST(RecordTest, ParsesUnalignedData) {
  RawRecord r = RecordBuilder(VG_T_OPENAT, 7).path("/tmp/x").build();
  std::vector<uint8_t> shifted(r.size + 1);
  std::memcpy(shifted.data() + 1, r.data(), r.size);
  Record rec;
  ASSERT_EQ(rec.parse(shifted.data() + 1, r.size), RecordError::kOk);
  EXPECT_EQ(rec.header().tgid, 7u);
  EXPECT_EQ(rec.blob(VG_B_PATH), "/tmp/x");
}

TEST(RecordTest, SurvivesRandomMutations) {
  // Mutations of a valid record, and random bytes, copied into exactly-sized heap buffers so
  // that a read past the end would be caught by ASan builds (VIGIL_SANITIZE=ON).
  RawRecord base = RecordBuilder(VG_T_CONNECT)
                       .path("/etc/hosts")
                       .sockaddr4("10.0.0.1", 80)
                       .tuple4("10.0.0.2", 4000, "10.0.0.1", 80)
                       .fdinfo(3, VG_FD_SOCK)
                       .build();
  std::mt19937 rng(1234);
  Record rec;
  size_t ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> bytes(reinterpret_cast<const uint8_t*>(base.data()),
                               reinterpret_cast<const uint8_t*>(base.data()) + base.size);
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) {
      bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    }
    // Keep the header plausible half of the time so that blob parsing gets exercised.
    if (i % 2 == 0) {
      vg_event h;
      std::memcpy(&h, bytes.data(), sizeof(h));
      h.abi = VG_ABI_VERSION;
      h.type = VG_T_CONNECT;
      h.size = static_cast<uint32_t>(bytes.size());
      std::memcpy(bytes.data(), &h, sizeof(h));
    }
    const size_t len = rng() % (bytes.size() + 1);
    std::unique_ptr<uint8_t[]> exact(new uint8_t[len == 0 ? 1 : len]);
    std::memcpy(exact.get(), bytes.data(), len);
    if (rec.parse(exact.get(), len) == RecordError::kOk) {
      ++ok;
      // Every view lies inside the buffer.
      for (unsigned k = VG_B_PATH; k <= VG_B_ENV; ++k) {
        for (unsigned n = 0; n < Record::kMaxPerKind; ++n) {
          std::string_view b = rec.blob(static_cast<vg_blob_kind>(k), n);
          if (!b.empty()) {
            EXPECT_GE(reinterpret_cast<const uint8_t*>(b.data()), exact.get());
            EXPECT_LE(reinterpret_cast<const uint8_t*>(b.data() + b.size()), exact.get() + len);
          }
        }
      }
    }
  }
  EXPECT_GT(ok, 0u);
}

TEST(RecordTest, ErrorNames) {
  EXPECT_EQ(record_error_name(RecordError::kOk), "ok");
  EXPECT_EQ(record_error_name(RecordError::kBadBlob), "bad_blob");
}

}  // namespace
}  // namespace vigil::agent
