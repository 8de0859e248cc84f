#include "common/alerts/spool.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace vigil::alerts {
namespace {

namespace fs = std::filesystem;

Alert full_alert(int i) {
  Alert a;
  a.time_ns = 1'700'000'000'123'456'789 + i;
  a.rule = "Shell in container";
  a.priority = rules::Priority::kCritical;
  a.source = "syscall";
  a.hostname = "node-1";
  a.message = "Shell \"quoted\" \n #" + std::to_string(i);
  a.output_fields = {{"proc.name", std::string("bash")},
                     {"proc.pid", int64_t{42}},
                     {"proc.tty", rules::OutputValue{}},
                     {"container.privileged", true},
                     {"proc.aname", std::vector<std::string>{"sh", "containerd-shim"}}};
  a.tags = {"container", "shell"};
  a.rule_namespace = "team-a";
  a.event_namespace = "shop";
  a.event_pod = "web-0";
  a.mode = rules::RuleMode::kAlert;
  return a;
}

void expect_same(const Alert& a, const Alert& b) {
  EXPECT_EQ(a.time_ns, b.time_ns);
  EXPECT_EQ(a.rule, b.rule);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.hostname, b.hostname);
  EXPECT_EQ(a.message, b.message);
  ASSERT_EQ(a.output_fields.size(), b.output_fields.size());
  for (size_t i = 0; i < a.output_fields.size(); ++i) {
    EXPECT_EQ(a.output_fields[i].name, b.output_fields[i].name);
    EXPECT_EQ(a.output_fields[i].value, b.output_fields[i].value);
  }
  EXPECT_EQ(a.tags, b.tags);
  EXPECT_EQ(a.rule_namespace, b.rule_namespace);
  EXPECT_EQ(a.event_namespace, b.event_namespace);
  EXPECT_EQ(a.event_pod, b.event_pod);
  EXPECT_EQ(a.mode, b.mode);
}

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("vigil-spool-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Spool> open(SpoolOptions o = {}) {
    auto s = Spool::open(root_.string(), "vigil-system", "slack", o);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
    return s.ok() ? std::move(*s) : nullptr;
  }
  fs::path segment() const {
    for (const auto& e : fs::directory_iterator(root_ / "vigil-system_slack")) {
      if (e.path().extension() == ".log" && fs::file_size(e.path()) > 0) return e.path();
    }
    return {};
  }

  fs::path root_;
};

TEST(SpoolCodecTest, AlertJsonRoundTripsEveryField) {
  const Alert a = full_alert(7);
  auto back = decode_alert_json(encode_alert_json(a));
  ASSERT_TRUE(back.ok()) << back.error();
  expect_same(a, *back);
}

TEST(SpoolCodecTest, RejectsMalformedRecords) {
  EXPECT_FALSE(decode_alert_json("").ok());
  EXPECT_FALSE(decode_alert_json("[1,2]").ok());
  EXPECT_FALSE(decode_alert_json(R"({"t":1,"p":99,"d":0})").ok());
  EXPECT_FALSE(decode_alert_json(std::string(100000, '[')).ok());
  std::string j = encode_alert_json(full_alert(1));
  j.replace(j.find("\"p\":2"), 5, "\"p\":\"x\"");
  EXPECT_FALSE(decode_alert_json(j).ok());
}

TEST(SpoolCodecTest, DirectoryNamesAreSafe) {
  EXPECT_EQ(spool_dir_name("team-a", "slack.alerts"), "team-a_slack.alerts");
  EXPECT_EQ(spool_dir_name("../x", "a/b"), "..%2Fx_a%2Fb");
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
}

TEST_F(SpoolTest, UnacknowledgedRecordsComeBackInOrder) {
  {
    auto s = open();
    std::vector<Alert> batch = {full_alert(0), full_alert(1), full_alert(2)};
    auto first = s->append(batch);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(s->append(std::vector<Alert>{full_alert(3), full_alert(4)}).ok());
    s->acknowledge(*first + 1);  // 0 and 1 delivered
  }
  auto s = open();
  auto rec = s->take_recovered();
  ASSERT_EQ(rec.size(), 3u);
  for (int i = 0; i < 3; ++i) expect_same(rec[i].alert, full_alert(i + 2));
  s->acknowledge(rec.back().seq);
  s.reset();
  EXPECT_TRUE(open()->take_recovered().empty());
}

TEST_F(SpoolTest, CorruptTailIsTruncatedNotFatal) {
  {
    auto s = open();
    ASSERT_TRUE(s->append(std::vector<Alert>{full_alert(0), full_alert(1)}).ok());
  }
  const auto seg = segment();
  const auto good_size = fs::file_size(seg);
  {
    std::ofstream out(seg, std::ios::binary | std::ios::app);
    const char torn[] = "\x30\x00\x00\x00garbage-torn-write";  // a length, no full record
    out.write(torn, sizeof(torn) - 1);
  }
  {
    auto s = open();
    EXPECT_EQ(s->take_recovered().size(), 2u);
    EXPECT_EQ(s->stats().corrupt_records, 1u);
    EXPECT_EQ(fs::file_size(seg), good_size);
  }
  // A flipped byte inside the second record: its CRC fails, the tail from there is cut.
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(good_size - 5));
    f.put('#');
  }
  auto s = open();
  auto rec = s->take_recovered();
  ASSERT_EQ(rec.size(), 1u);
  expect_same(rec[0].alert, full_alert(0));
  EXPECT_EQ(s->stats().corrupt_records, 1u);
}

TEST_F(SpoolTest, SizeCapDropsTheOldestSegment) {
  SpoolOptions o;
  o.segment_bytes = 4096;
  o.max_bytes = 16384;
  auto s = open(o);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(s->append(std::vector<Alert>{full_alert(i)}).ok());
  EXPECT_GT(s->stats().dropped_oldest, 0u);
  EXPECT_LE(s->stats().bytes, 16384u + 4096u);
  const uint64_t dropped = s->stats().dropped_oldest;
  s.reset();
  auto again = open(o);
  auto rec = again->take_recovered();
  EXPECT_EQ(rec.size(), 100u - dropped);
  expect_same(rec.back().alert, full_alert(99));
}

TEST_F(SpoolTest, RemoveDeletesTheDirectory) {
  auto s = open();
  ASSERT_TRUE(s->append(std::vector<Alert>{full_alert(0)}).ok());
  const std::string dir = s->dir();
  s->remove();
  EXPECT_FALSE(fs::exists(dir));
}

}  // namespace
}  // namespace vigil::alerts
