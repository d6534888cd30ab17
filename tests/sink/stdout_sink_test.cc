#include "sink/stdout/stdout_sink.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

#include "sink/common/delivered_format.h"
#include "sink/sink_test_util.h"

namespace gridgate::sink {
namespace {

std::string BatchBytes(const filter::PopBatch& batch) {
  std::string out;
  for (size_t i = 0; i < batch.size(); ++i) {
    AppendDeliveredLine(batch.event(i), &out);
  }
  return out;
}

// Everything readable from `fd` now, without blocking.
std::string Drain(int fd) {
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A pipe whose read end does not block; both ends closed at the end.
class Pipe {
 public:
  Pipe() {
    EXPECT_EQ(::pipe2(fds_, O_CLOEXEC), 0);
    EXPECT_EQ(::fcntl(fds_[0], F_SETFL, O_NONBLOCK), 0);
  }
  ~Pipe() {
    CloseRead();
    ::close(fds_[1]);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void CloseRead() {
    if (fds_[0] >= 0) {
      ::close(fds_[0]);
      fds_[0] = -1;
    }
  }

 private:
  int fds_[2] = {-1, -1};
};

std::unique_ptr<StdoutSink> MakeSink(int fd) {
  StdoutSinkOptions o;
  o.fd = fd;
  auto sink = StdoutSink::Create(o);
  EXPECT_TRUE(sink.ok()) << sink.status().ToString();
  return sink.ok() ? std::move(sink).value() : nullptr;
}

TEST(StdoutSinkTest, DefaultsToStandardOutputAndRejectsANegativeFd) {
  EXPECT_EQ(StdoutSinkOptions{}.fd, 1);
  StdoutSinkOptions o;
  o.fd = -1;
  auto sink = StdoutSink::Create(o);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(sink.status().message().find("fd"), std::string::npos);
}

TEST(StdoutSinkTest, WritesEveryLineToAPipe) {
  Pipe pipe;
  auto sink = MakeSink(pipe.write_fd());
  EXPECT_EQ(sink->name(), "stdout");
  BatchSource source;
  const filter::PopBatch& first = source.Next(3);
  const std::string first_bytes = BatchBytes(first);
  ASSERT_TRUE(sink->Deliver(first).ok());
  const filter::PopBatch& second = source.Next(2, 500, Priority::kCritical);
  const std::string second_bytes = BatchBytes(second);
  ASSERT_TRUE(sink->Deliver(second).ok());

  const std::string got = Drain(pipe.read_fd());
  EXPECT_EQ(got, first_bytes + second_bytes);
  const std::vector<std::string> lines = Lines(got);
  ASSERT_EQ(lines.size(), 5u);
  for (const std::string& line : lines) {
    EXPECT_GT(SeqOfLine(line), 0u);
  }
}

TEST(StdoutSinkTest, DevFullIsAnIoError) {
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto sink = MakeSink(fd);
  BatchSource source;
  const Status s = sink->Deliver(source.Next(2));
  ::close(fd);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("No space left"), std::string::npos) << s.ToString();
}

TEST(StdoutSinkTest, ClosedReaderIsAnIoErrorNotADeadProcess) {
  // As the daemon does: a reader that goes away gives EPIPE, not SIGPIPE.
  const auto saved = std::signal(SIGPIPE, SIG_IGN);
  Pipe pipe;
  auto sink = MakeSink(pipe.write_fd());
  pipe.CloseRead();
  BatchSource source;
  const Status s = sink->Deliver(source.Next(1));
  std::signal(SIGPIPE, saved);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find("Broken pipe"), std::string::npos) << s.ToString();
}

TEST(StdoutSinkTest, AfterATornWriteTheRetriedLinesStartOnANewLine) {
  // A pipe that takes only part of the batch: the write is partial, then
  // EAGAIN (non-blocking write end), which the sink reports as an error.
  Pipe pipe;
  ASSERT_EQ(::fcntl(pipe.write_fd(), F_SETFL, O_NONBLOCK), 0);
  const int capacity = ::fcntl(pipe.write_fd(), F_SETPIPE_SZ, 4096);
  ASSERT_GE(capacity, 4096);
  auto sink = MakeSink(pipe.write_fd());
  BatchSource source;
  const filter::PopBatch& batch = source.Next(7, 1000);
  const std::string bytes = BatchBytes(batch);
  ASSERT_GT(bytes.size(), static_cast<size_t>(capacity));
  const Status s = sink->Deliver(batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  const std::string torn = Drain(pipe.read_fd());
  ASSERT_EQ(torn, bytes.substr(0, torn.size()));
  ASSERT_NE(torn.back(), '\n') << "the test needs the write to stop inside a line";

  // The retry: a '\n' first ends the torn fragment, then the whole batch.
  // Read it as it goes, since the pipe is small.
  ASSERT_EQ(::fcntl(pipe.write_fd(), F_SETPIPE_SZ, 1 << 16), 1 << 16);
  ASSERT_TRUE(sink->Deliver(batch).ok());
  const std::string retried = Drain(pipe.read_fd());
  EXPECT_EQ(retried, "\n" + bytes);
  // The reader sees the whole lines that went out, the fragment on a line of
  // its own (not JSON: skipped), then every line of the batch, whole.
  const std::vector<std::string> lines = Lines(torn + retried);
  const size_t whole = static_cast<size_t>(std::count(torn.begin(), torn.end(), '\n'));
  ASSERT_EQ(lines.size(), whole + 1 + batch.size());
  for (size_t i = 0; i < whole; ++i) {
    EXPECT_EQ(SeqOfLine(lines[i]), batch.event(i).seq.value);
  }
  EXPECT_FALSE(testing::JsonCheck::Parse(lines[whole]).has_value());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(SeqOfLine(lines[whole + 1 + i]), batch.event(i).seq.value);
  }

  // And the batch after that has no extra '\n'.
  const filter::PopBatch& next = source.Next(1);
  const std::string next_bytes = BatchBytes(next);
  ASSERT_TRUE(sink->Deliver(next).ok());
  EXPECT_EQ(Drain(pipe.read_fd()), next_bytes);
}

}  // namespace
}  // namespace gridgate::sink
