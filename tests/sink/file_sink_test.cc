#include "sink/file/file_sink.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fakes/temp_dir.h"
#include "sink/common/delivered_format.h"
#include "sink/sink_test_util.h"

namespace gridgate::sink {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// The bytes FileSink writes for `batch`.
std::string BatchBytes(const filter::PopBatch& batch) {
  std::string out;
  for (size_t i = 0; i < batch.size(); ++i) {
    AppendDeliveredLine(batch.event(i), &out);
  }
  return out;
}

std::vector<uint64_t> SeqsOf(const filter::PopBatch& batch) {
  std::vector<uint64_t> seqs;
  for (size_t i = 0; i < batch.size(); ++i) {
    seqs.push_back(batch.event(i).seq.value);
  }
  return seqs;
}

// The gateway_seq of every line of the file at `path`, which must hold only
// whole lines of valid JSON.
std::vector<uint64_t> SeqsInFile(const std::string& path) {
  std::vector<uint64_t> seqs;
  for (const std::string& line : Lines(ReadFile(path))) {
    seqs.push_back(SeqOfLine(line));
  }
  return seqs;
}

class FileSinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<FileSink> MakeSink(FileSinkOptions options) {
    auto sink = FileSink::Create(std::move(options));
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    return sink.ok() ? std::move(sink).value() : nullptr;
  }

  FileSinkOptions Options() {
    FileSinkOptions o;
    o.path = path_;
    return o;
  }

  testing::TempDir dir_;
  std::string path_ = dir_.Sub("var/events.ndjson");
  BatchSource source_;
};

TEST_F(FileSinkTest, CreateNamesTheBadField) {
  struct Case {
    FileSinkOptions options;
    std::string field;
  };
  std::vector<Case> cases(4);
  cases[0].options.path = "";
  cases[0].field = "path";
  cases[1].options.path = "/var/lib/gridgate/";
  cases[1].field = "path";
  cases[2].options.max_file_bytes = 0;
  cases[2].field = "max_file_bytes";
  cases[3].options.max_files = 0;
  cases[3].field = "max_files";
  for (const Case& c : cases) {
    auto sink = FileSink::Create(c.options);
    ASSERT_FALSE(sink.ok()) << c.field;
    EXPECT_EQ(sink.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(sink.status().message().find(c.field), std::string::npos) << sink.status().ToString();
  }
  EXPECT_TRUE(FileSink::Create(FileSinkOptions{}).ok());
}

TEST_F(FileSinkTest, DefaultsAreTheDocumentedOnes) {
  const FileSinkOptions o;
  EXPECT_EQ(o.path, "./var/events.ndjson");
  EXPECT_FALSE(o.fsync_each_batch);
  EXPECT_EQ(o.max_file_bytes, uint64_t{256} << 20);
  EXPECT_EQ(o.max_files, 8);
}

TEST_F(FileSinkTest, CreatesTheDirectoryAndWritesOneLinePerEvent) {
  auto sink = MakeSink(Options());
  EXPECT_EQ(sink->name(), "file");
  ASSERT_FALSE(fs::exists(path_));  // nothing opened before the first batch

  const filter::PopBatch& first = source_.Next(3);
  const std::string first_bytes = BatchBytes(first);
  std::vector<uint64_t> want = SeqsOf(first);
  ASSERT_TRUE(sink->Deliver(first).ok());
  const filter::PopBatch& second = source_.Next(2, 300, Priority::kCritical);
  const std::string second_bytes = BatchBytes(second);
  for (uint64_t seq : SeqsOf(second)) {
    want.push_back(seq);
  }
  ASSERT_TRUE(sink->Deliver(second).ok());

  EXPECT_EQ(ReadFile(path_), first_bytes + second_bytes);
  EXPECT_EQ(SeqsInFile(path_), want);
  EXPECT_EQ(sink->file_bytes(), first_bytes.size() + second_bytes.size());
}

TEST_F(FileSinkTest, AppendsToTheFileOfAnEarlierRun) {
  {
    auto sink = MakeSink(Options());
    ASSERT_TRUE(sink->Deliver(source_.Next(2)).ok());
  }
  const std::string before = ReadFile(path_);
  ASSERT_FALSE(before.empty());
  auto sink = MakeSink(Options());
  const filter::PopBatch& batch = source_.Next(1);
  const std::string more = BatchBytes(batch);
  ASSERT_TRUE(sink->Deliver(batch).ok());
  EXPECT_EQ(ReadFile(path_), before + more);
  EXPECT_EQ(sink->file_bytes(), before.size() + more.size());
}

TEST_F(FileSinkTest, TornLastLineOfAnEarlierRunIsCutOnOpen) {
  fs::create_directories(fs::path(path_).parent_path());
  const std::string whole = "{\"gateway_seq\":1,\"a\":1}\n";
  WriteFile(path_, whole + "{\"gateway_seq\":2,\"a\"");
  auto sink = MakeSink(Options());
  const filter::PopBatch& batch = source_.Next(2);
  const std::string bytes = BatchBytes(batch);
  ASSERT_TRUE(sink->Deliver(batch).ok());
  EXPECT_EQ(ReadFile(path_), whole + bytes);
}

TEST_F(FileSinkTest, FileWithoutAnyWholeLineIsCutToEmpty) {
  fs::create_directories(fs::path(path_).parent_path());
  WriteFile(path_, std::string(200'000, 'x'));  // longer than one read chunk
  auto sink = MakeSink(Options());
  const filter::PopBatch& batch = source_.Next(1);
  const std::string bytes = BatchBytes(batch);
  ASSERT_TRUE(sink->Deliver(batch).ok());
  EXPECT_EQ(ReadFile(path_), bytes);
}

TEST_F(FileSinkTest, RotationKeepsMaxFilesAndNeverSplitsABatch) {
  FileSinkOptions o = Options();
  o.max_file_bytes = 2000;
  o.max_files = 3;
  auto sink = MakeSink(o);

  std::vector<std::vector<uint64_t>> batches;
  std::vector<uint64_t> all;
  int rotations = 0;
  for (int i = 0; i < 40; ++i) {
    const filter::PopBatch& batch = source_.Next(1 + i % 4, 80 + 37 * (i % 5));
    const uint64_t len = BatchBytes(batch).size();
    ASSERT_LT(len, o.max_file_bytes);
    const uint64_t before = sink->file_bytes();
    ASSERT_TRUE(sink->Deliver(batch).ok());
    // Rotated exactly when the batch would not fit, and then the batch starts
    // the new file.
    const bool rotate = before > 0 && before + len > o.max_file_bytes;
    rotations += rotate ? 1 : 0;
    EXPECT_EQ(sink->file_bytes(), rotate ? len : before + len) << "batch " << i;
    batches.push_back(SeqsOf(batch));
    all.insert(all.end(), batches.back().begin(), batches.back().end());
  }
  ASSERT_GT(rotations, o.max_files + 1);  // the oldest files were deleted

  EXPECT_FALSE(fs::exists(path_ + ".4"));
  // Oldest first: .3, .2, .1, then the live file.
  const std::vector<std::string> files = {path_ + ".3", path_ + ".2", path_ + ".1", path_};
  std::vector<uint64_t> kept;
  std::map<uint64_t, size_t> file_of_seq;
  for (size_t f = 0; f < files.size(); ++f) {
    ASSERT_TRUE(fs::exists(files[f])) << files[f];
    EXPECT_LE(fs::file_size(files[f]), o.max_file_bytes) << files[f];
    for (uint64_t seq : SeqsInFile(files[f])) {
      kept.push_back(seq);
      file_of_seq[seq] = f;
    }
  }
  // The kept lines are the newest ones, in order, none lost in between.
  ASSERT_LT(kept.size(), all.size());
  EXPECT_EQ(kept,
            std::vector<uint64_t>(all.end() - static_cast<ptrdiff_t>(kept.size()), all.end()));
  // Every kept batch is whole, in one file.
  for (const std::vector<uint64_t>& batch : batches) {
    std::set<size_t> in_files;
    for (uint64_t seq : batch) {
      if (file_of_seq.count(seq) != 0) {
        in_files.insert(file_of_seq[seq]);
      }
    }
    if (!in_files.empty()) {
      EXPECT_EQ(in_files.size(), 1u);
      EXPECT_EQ(file_of_seq.count(batch.front()) + file_of_seq.count(batch.back()), 2u);
    }
  }
}

TEST_F(FileSinkTest, BatchLargerThanTheLimitGetsAFileOfItsOwn) {
  FileSinkOptions o = Options();
  o.max_file_bytes = 300;
  o.max_files = 2;
  auto sink = MakeSink(o);
  const filter::PopBatch& a = source_.Next(1, 50);
  const std::string a_bytes = BatchBytes(a);
  ASSERT_TRUE(sink->Deliver(a).ok());
  const filter::PopBatch& big = source_.Next(4, 200);
  const std::string big_bytes = BatchBytes(big);
  ASSERT_GT(big_bytes.size(), o.max_file_bytes);
  ASSERT_TRUE(sink->Deliver(big).ok());
  const filter::PopBatch& c = source_.Next(1, 50);
  const std::string c_bytes = BatchBytes(c);
  ASSERT_TRUE(sink->Deliver(c).ok());

  EXPECT_EQ(ReadFile(path_ + ".2"), a_bytes);
  EXPECT_EQ(ReadFile(path_ + ".1"), big_bytes);
  EXPECT_EQ(ReadFile(path_), c_bytes);
}

TEST_F(FileSinkTest, FsyncEachBatchStillWritesEveryLine) {
  FileSinkOptions o = Options();
  o.fsync_each_batch = true;
  o.max_file_bytes = 1000;
  auto sink = MakeSink(o);
  std::string want;
  for (int i = 0; i < 5; ++i) {
    const filter::PopBatch& batch = source_.Next(2);
    want = sink->file_bytes() + BatchBytes(batch).size() > o.max_file_bytes ? "" : want;
    want += BatchBytes(batch);
    ASSERT_TRUE(sink->Deliver(batch).ok());
  }
  EXPECT_EQ(ReadFile(path_), want);
  EXPECT_TRUE(fs::exists(path_ + ".1"));
}

// Sets RLIMIT_FSIZE (soft) for the scope and ignores SIGXFSZ, so that a
// write past the limit is short and the next one fails with EFBIG.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(uint64_t bytes) {
    EXPECT_EQ(getrlimit(RLIMIT_FSIZE, &saved_), 0);
    saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() {
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &saved_), 0);
    std::signal(SIGXFSZ, saved_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*saved_handler_)(int) = SIG_DFL;
};

TEST_F(FileSinkTest, FailedWriteLeavesNoPartialLineAndTheRetryAppendsTheBatchOnce) {
  auto sink = MakeSink(Options());
  const filter::PopBatch& first = source_.Next(2);
  const std::string first_bytes = BatchBytes(first);
  std::vector<uint64_t> want = SeqsOf(first);
  ASSERT_TRUE(sink->Deliver(first).ok());

  const filter::PopBatch& second = source_.Next(5, 300);  // `first` is gone now
  const std::string second_bytes = BatchBytes(second);
  {
    // Room for half the batch: the write is short, then EFBIG.
    FileSizeLimit limit(first_bytes.size() + second_bytes.size() / 2);
    const Status s = sink->Deliver(second);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Status::Code::kIoError);
    EXPECT_NE(s.message().find(path_), std::string::npos) << s.ToString();
    EXPECT_EQ(ReadFile(path_), first_bytes);  // no partial line
    EXPECT_EQ(sink->file_bytes(), first_bytes.size());

    // No room at all: the first write fails outright.
    FileSizeLimit none(first_bytes.size());
    EXPECT_FALSE(sink->Deliver(second).ok());
    EXPECT_EQ(ReadFile(path_), first_bytes);
  }
  // The dispatcher's retry, once the disk has room again.
  ASSERT_TRUE(sink->Deliver(second).ok());
  EXPECT_EQ(ReadFile(path_), first_bytes + second_bytes);
  for (uint64_t seq : SeqsOf(second)) {
    want.push_back(seq);
  }
  EXPECT_EQ(SeqsInFile(path_), want);
}

TEST_F(FileSinkTest, PathThatIsADirectoryIsAnIoErrorUntilItIsFixed) {
  fs::create_directories(path_);
  auto sink = MakeSink(Options());
  const filter::PopBatch& batch = source_.Next(2);
  const Status s = sink->Deliver(batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find(path_), std::string::npos) << s.ToString();
  EXPECT_FALSE(sink->Deliver(batch).ok());  // still failing, still no crash

  fs::remove(path_);
  ASSERT_TRUE(sink->Deliver(batch).ok());
  EXPECT_EQ(ReadFile(path_), BatchBytes(batch));
}

TEST_F(FileSinkTest, ParentThatIsAFileIsAnIoError) {
  WriteFile(dir_.Sub("var"), "not a directory");
  auto sink = MakeSink(Options());
  const Status s = sink->Deliver(source_.Next(1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("var"), std::string::npos) << s.ToString();
}

TEST_F(FileSinkTest, DeviceIsNotAFileToRotate) {
  FileSinkOptions o = Options();
  o.path = "/dev/full";
  auto sink = MakeSink(o);
  const Status s = sink->Deliver(source_.Next(1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
}

TEST_F(FileSinkTest, FailedRotationLeavesTheFileAndIsRetried) {
  FileSinkOptions o = Options();
  o.max_file_bytes = 500;
  o.max_files = 1;
  auto sink = MakeSink(o);
  const filter::PopBatch& first = source_.Next(2, 200);
  const std::string first_bytes = BatchBytes(first);
  ASSERT_TRUE(sink->Deliver(first).ok());

  // The oldest rotated file cannot be deleted: it is a non-empty directory.
  fs::create_directories(path_ + ".1/blocker");
  const filter::PopBatch& second = source_.Next(2, 200);
  const std::string second_bytes = BatchBytes(second);
  const Status s = sink->Deliver(second);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_EQ(ReadFile(path_), first_bytes);

  fs::remove_all(path_ + ".1");
  ASSERT_TRUE(sink->Deliver(second).ok());
  EXPECT_EQ(ReadFile(path_ + ".1"), first_bytes);
  EXPECT_EQ(ReadFile(path_), second_bytes);
  EXPECT_FALSE(fs::exists(path_ + ".2"));
}

}  // namespace
}  // namespace gridgate::sink
