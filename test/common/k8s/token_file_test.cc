#include "common/k8s/token_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

namespace vigil::k8s {
namespace {

namespace fs = std::filesystem;

class K8sTokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = fs::temp_directory_path() / ("vigil-token-" + std::to_string(::getpid()));
    write("first\n");
  }
  void TearDown() override { fs::remove(path_); }
  void write(const std::string& s, int mtime_offset_s = 0) {
    // Written aside and renamed, as the kubelet's atomic writer does.
    const fs::path tmp = path_.string() + ".tmp";
    std::ofstream(tmp) << s;
    fs::last_write_time(tmp,
                        fs::file_time_type::clock::now() + std::chrono::seconds(mtime_offset_s));
    fs::rename(tmp, path_);
  }
  fs::path path_;
};

TEST_F(K8sTokenFileTest, RereadsWhenTheFileChanges) {
  TokenFile t(path_.string(), std::chrono::seconds(3600));
  EXPECT_EQ(t.token().value(), "first");
  write("second", 5);  // a different mtime
  EXPECT_EQ(t.token().value(), "second");
}

TEST_F(K8sTokenFileTest, RereadsAfterMaxAge) {
  TokenFile t(path_.string(), std::chrono::seconds(0));
  EXPECT_EQ(t.token().value(), "first");
  const auto mtime = fs::last_write_time(path_);
  std::ofstream(path_) << "second";
  fs::last_write_time(path_, mtime);  // same mtime: only the age forces the re-read
  EXPECT_EQ(t.token().value(), "second");
}

TEST_F(K8sTokenFileTest, InvalidateForcesARereadAndKeepsTheOldTokenAsFallback) {
  TokenFile t(path_.string(), std::chrono::seconds(3600));
  EXPECT_EQ(t.token().value(), "first");
  const auto mtime = fs::last_write_time(path_);
  std::ofstream(path_) << "second";
  fs::last_write_time(path_, mtime);
  EXPECT_EQ(t.token().value(), "first");  // cached
  t.invalidate();
  EXPECT_EQ(t.token().value(), "second");
  fs::remove(path_);
  t.invalidate();
  EXPECT_EQ(t.token().value(), "second");  // the file is briefly gone during a rotation
}

TEST_F(K8sTokenFileTest, MissingOrEmptyFileIsAnError) {
  TokenFile missing((path_.string() + ".nope"));
  EXPECT_FALSE(missing.token().ok());
  write("  \n");
  TokenFile empty(path_.string());
  auto r = empty.token();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("empty"), std::string::npos);
}

}  // namespace
}  // namespace vigil::k8s
