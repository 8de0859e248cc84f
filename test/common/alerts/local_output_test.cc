// The stdout and file sinks on real file descriptors and real files in a temporary directory:
// line formats, rotation (names, sizes, maxFiles), 0600 permissions, the fsync policy, symbolic
// links refused, files removed under the writer, and paths that escape the sink directory.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/alerts/sink_types.h"

namespace vigil::alerts {
namespace {

namespace fs = std::filesystem;
namespace v1 = api::v1alpha1;
using ::testing::HasSubstr;

Alert numbered(int i, size_t message_size = 100) {
  Alert a;
  a.time_ns = 1764214316746609046 + i * 1000000000LL;
  a.rule = "rule-" + std::to_string(i);
  a.priority = rules::Priority::kWarning;
  a.source = "syscall";
  a.hostname = "node-1";
  a.message = "alert " + std::to_string(i) + " " + std::string(message_size, 'x');
  a.output_fields = {{"k8s.pod.name", std::string("web-7d9c")}};
  a.tags = {"shell"};
  return a;
}

std::string json_line(const Alert& a) { return to_falco_json(a) + "\n"; }

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const fs::path& p) {
  std::vector<std::string> out;
  std::istringstream in(read_all(p));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class LocalOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vigil-sink-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string dir() const { return dir_.string() + "/"; }

  std::shared_ptr<LocalOutput> file(v1::FileSink spec) {
    auto out = make_file_output(spec, dir());
    EXPECT_TRUE(out.ok()) << out.error();
    return out.ok() ? std::move(out).value() : nullptr;
  }

  v1::FileSink spec(const std::string& relative, int64_t max_size = 4096, int32_t max_files = 2) {
    v1::FileSink s;
    s.path = dir() + relative;
    s.max_size_bytes = max_size;
    s.max_files = max_files;
    return s;
  }

  fs::path dir_;
};

// ----- stdout -----

TEST_F(LocalOutputTest, StdoutWritesOneLinePerAlertToTheGivenFd) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto json = make_stdout_output(v1::AlertFormat::kJson, fds[1]);
  auto text = make_stdout_output(v1::AlertFormat::kText, fds[1]);
  std::vector<Alert> batch = {numbered(1, 5), numbered(2, 5)};
  ASSERT_TRUE(json->write(batch).ok());
  Alert multi = numbered(3, 1);
  multi.message = "forged\n03:31:56.000000000: Emergency fake";
  ASSERT_TRUE(text->write(std::vector<Alert>{numbered(1, 5), multi}).ok());
  ::close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) got.append(buf, n);
  ::close(fds[0]);
  EXPECT_EQ(got, json_line(batch[0]) + json_line(batch[1]) + numbered(1, 5).output() + "\n" +
                     "03:31:59.746609046: Warning forged\\n03:31:56.000000000: Emergency fake\n");
}

TEST_F(LocalOutputTest, StdoutWriteErrorIsReturned) {
  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full < 0) GTEST_SKIP() << "no /dev/full";
  auto out = make_stdout_output(v1::AlertFormat::kJson, full);
  auto r = out->write(std::vector<Alert>{numbered(1)});
  ::close(full);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("Writing alerts to stdout failed"));
}

// ----- file -----

TEST_F(LocalOutputTest, FileJsonLinesWith0600) {
  auto out = file(spec("alerts.log"));
  ASSERT_NE(out, nullptr);
  EXPECT_FALSE(fs::exists(dir_ / "alerts.log"));  // opened on the first write
  const mode_t old_umask = ::umask(0);            // 0600 whatever the umask
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(1), numbered(2)}).ok());
  ::umask(old_umask);
  EXPECT_EQ(read_all(dir_ / "alerts.log"), json_line(numbered(1)) + json_line(numbered(2)));
  EXPECT_EQ(mode_of(dir_ / "alerts.log"), 0600);
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(3)}).ok());
  EXPECT_EQ(lines_of(dir_ / "alerts.log").size(), 3u);
}

TEST_F(LocalOutputTest, FileTextFormatAndSubdirectories) {
  auto s = spec("team-a/audit/alerts.txt");
  s.format = v1::AlertFormat::kText;
  auto out = file(s);
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(1, 3)}).ok());
  EXPECT_EQ(read_all(dir_ / "team-a/audit/alerts.txt"), numbered(1, 3).output() + "\n");
}

TEST_F(LocalOutputTest, ExistingFileIsAppendedAndRestrictedTo0600) {
  {
    std::ofstream pre(dir_ / "alerts.log");
    pre << "earlier\n";
  }
  fs::permissions(dir_ / "alerts.log", fs::perms(0644));
  auto out = file(spec("alerts.log"));
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(1)}).ok());
  EXPECT_EQ(read_all(dir_ / "alerts.log"), "earlier\n" + json_line(numbered(1)));
  EXPECT_EQ(mode_of(dir_ / "alerts.log"), 0600);
}

// Writes alerts 0..n-1 one call each (or all in one batch) and checks the rotated set: every
// file within max_size, the newest alerts in the current file, older ones in .1, .2, ...; no
// file beyond max_files.
void expect_rotation(const fs::path& dir, int n, int64_t max_size, int max_files) {
  const fs::path base = dir / "alerts.log";
  std::vector<fs::path> files = {base};
  for (int i = 1; i <= max_files; ++i) files.push_back(base.string() + "." + std::to_string(i));
  EXPECT_FALSE(fs::exists(base.string() + "." + std::to_string(max_files + 1)));
  // Newest first: current, .1, .2, ...; reading them oldest first gives increasing alerts.
  std::vector<std::string> all;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    ASSERT_TRUE(fs::exists(*it)) << *it;
    EXPECT_LE(static_cast<int64_t>(fs::file_size(*it)), max_size) << *it;
    EXPECT_GT(fs::file_size(*it), 0u) << *it;
    EXPECT_EQ(mode_of(*it), 0600) << *it;
    for (auto& l : lines_of(*it)) all.push_back(std::move(l));
  }
  ASSERT_FALSE(all.empty());
  // The kept alerts are the last ones written, in order, without gaps.
  const int first = n - static_cast<int>(all.size());
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i] + "\n", json_line(numbered(first + static_cast<int>(i)))) << i;
  // The current file is full up to the last alert: one more line would have exceeded max_size.
}

TEST_F(LocalOutputTest, FileRotatesBySize) {
  const int64_t max_size = 4096;
  const size_t line = json_line(numbered(10)).size();  // ~300 bytes
  auto out = file(spec("alerts.log", max_size, 2));
  const int n = 60;  // ~4 files' worth: two rotations dropped the oldest
  for (int i = 0; i < n; ++i) ASSERT_TRUE(out->write(std::vector<Alert>{numbered(i)}).ok()) << i;
  expect_rotation(dir_, n, max_size, 2);
  // Rotated files were full: adding one more line would have exceeded the limit.
  EXPECT_GT(fs::file_size(dir_ / "alerts.log.1") + line, static_cast<size_t>(max_size));
  EXPECT_GT(fs::file_size(dir_ / "alerts.log.2") + line, static_cast<size_t>(max_size));
}

TEST_F(LocalOutputTest, FileRotatesInsideOneBatch) {
  auto out = file(spec("alerts.log", 4096, 3));
  std::vector<Alert> batch;
  for (int i = 0; i < 45; ++i) batch.push_back(numbered(i));
  ASSERT_TRUE(out->write(batch).ok());
  expect_rotation(dir_, 45, 4096, 3);
}

TEST_F(LocalOutputTest, FileWithZeroMaxFilesKeepsOnlyTheCurrentFile) {
  auto out = file(spec("alerts.log", 4096, 0));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(out->write(std::vector<Alert>{numbered(i)}).ok());
  EXPECT_FALSE(fs::exists(dir_ / "alerts.log.1"));
  EXPECT_LE(fs::file_size(dir_ / "alerts.log"), 4096u);
  expect_rotation(dir_, 30, 4096, 0);
}

TEST_F(LocalOutputTest, OversizedAlertStillWritten) {
  auto out = file(spec("alerts.log", 4096, 1));
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(0, 10)}).ok());
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(1, 8000)}).ok());  // rotates, then alone
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(2, 10)}).ok());    // rotates again
  EXPECT_EQ(read_all(dir_ / "alerts.log"), json_line(numbered(2, 10)));
  EXPECT_EQ(read_all(dir_ / "alerts.log.1"), json_line(numbered(1, 8000)));
}

TEST_F(LocalOutputTest, FsyncEveryAlert) {
  auto s = spec("alerts.log", 4096, 1);
  s.fsync = v1::FsyncPolicy::kEveryAlert;
  auto out = file(s);
  std::vector<Alert> batch;
  for (int i = 0; i < 20; ++i) batch.push_back(numbered(i));
  ASSERT_TRUE(out->write(batch).ok());
  expect_rotation(dir_, 20, 4096, 1);
}

TEST_F(LocalOutputTest, FileRemovedUnderTheWriterIsRecreated) {
  auto out = file(spec("alerts.log"));
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(1)}).ok());
  fs::remove(dir_ / "alerts.log");
  ASSERT_TRUE(out->write(std::vector<Alert>{numbered(2)}).ok());
  EXPECT_EQ(read_all(dir_ / "alerts.log"), json_line(numbered(2)));
}

TEST_F(LocalOutputTest, MissingDirectoryIsAWriteErrorUntilItExists) {
  const fs::path sub = dir_ / "later";
  auto out = make_file_output(spec("later/x/alerts.log"), sub.string() + "/");
  ASSERT_TRUE(out.ok()) << out.error();
  auto r = (*out)->write(std::vector<Alert>{numbered(1)});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error(), HasSubstr("later/x/alerts.log failed"));
  fs::create_directory(sub);
  ASSERT_TRUE((*out)->write(std::vector<Alert>{numbered(2)}).ok());
  EXPECT_EQ(read_all(sub / "x/alerts.log"), json_line(numbered(2)));
}

TEST_F(LocalOutputTest, SymbolicLinksAreNotFollowed) {
  const fs::path outside = dir_ / "outside";
  fs::create_directory(outside);
  fs::create_directory(dir_ / "sinks");
  {
    std::ofstream victim(outside / "victim");
    victim << "keep\n";
  }
  fs::create_symlink(outside / "victim", dir_ / "sinks" / "alerts.log");
  fs::create_directory_symlink(outside, dir_ / "sinks" / "linked");
  const std::string base = (dir_ / "sinks").string() + "/";
  for (const char* rel : {"alerts.log", "linked/alerts.log"}) {
    v1::FileSink s;
    s.path = base + rel;
    auto out = make_file_output(s, base);
    ASSERT_TRUE(out.ok()) << out.error();
    EXPECT_FALSE((*out)->write(std::vector<Alert>{numbered(1)}).ok()) << rel;
  }
  EXPECT_EQ(read_all(outside / "victim"), "keep\n");
  EXPECT_FALSE(fs::exists(outside / "alerts.log"));
}

TEST_F(LocalOutputTest, PathsMustStayInsideTheDirectory) {
  for (const std::string rel :
       {"../escape.log", "a/../../escape.log", "./alerts.log", "a//b", "sub/", "", "a/./b"}) {
    v1::FileSink s;
    s.path = dir() + rel;
    auto out = make_file_output(s, dir());
    ASSERT_FALSE(out.ok()) << rel;
    EXPECT_THAT(out.error(), HasSubstr("spec.file.path: ")) << rel;
  }
  v1::FileSink s;
  s.path = "/tmp/elsewhere.log";
  EXPECT_FALSE(make_file_output(s, dir()).ok());
  s.path = "/var/log/vigil/ok.log";
  EXPECT_TRUE(make_file_output(s).ok());  // the real directory by default
  EXPECT_FALSE(make_file_output(s, dir()).ok());
}

}  // namespace
}  // namespace vigil::alerts
