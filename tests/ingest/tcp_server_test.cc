#include "ingest/tcp/tcp_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "filter/filter_test_util.h"

namespace gridgate::ingest::tcp {
namespace {

using std::chrono::nanoseconds;

std::string EventLine(const std::string& type, const std::string& meter, int n = 0) {
  return R"({"source":"hes-east-01","meter_id":")" + meter + R"(","type":")" + type +
         R"(","device_time":"2026-07-08T14:03:40.100Z","value":)" + std::to_string(n) + "}";
}

// An event line of exactly `bytes` bytes (padded with an unknown field).
std::string EventLineOfSize(size_t bytes) {
  std::string line = EventLine("interval_reading", "PAD");
  line.pop_back();
  line += R"(,"pad":")";
  while (line.size() + 2 < bytes) {
    line.push_back('x');
  }
  line += "\"}";
  EXPECT_EQ(line.size(), bytes);
  return line;
}

// One parsed line of the gateway's answer.
struct Reply {
  enum class Kind { kAck, kNack, kAcksStopped, kError, kOther } kind = Kind::kOther;
  uint64_t line = 0;  // the ack's N, the nack's L, acks_stopped's N
  std::string reason;
  uint64_t retry_after_ms = 0;
  std::string text;
};

Reply Parse(const std::string& text) {
  static const std::regex kAck(R"re(^\{"ack":(\d+)\}$)re");
  static const std::regex kNack(
      R"re(^\{"nack":(\d+),"reason":"((?:[^"\\]|\\.)*)","retry_after_ms":(\d+)\}$)re");
  static const std::regex kStopped(R"re(^\{"acks_stopped":(\d+)\}$)re");
  static const std::regex kError(R"re(^\{"error":"([^"]*)"\}$)re");
  Reply r;
  r.text = text;
  std::smatch m;
  if (std::regex_match(text, m, kAck)) {
    r.kind = Reply::Kind::kAck;
    r.line = std::stoull(m[1]);
  } else if (std::regex_match(text, m, kNack)) {
    r.kind = Reply::Kind::kNack;
    r.line = std::stoull(m[1]);
    r.reason = m[2];
    r.retry_after_ms = std::stoull(m[3]);
  } else if (std::regex_match(text, m, kStopped)) {
    r.kind = Reply::Kind::kAcksStopped;
    r.line = std::stoull(m[1]);
  } else if (std::regex_match(text, m, kError)) {
    r.kind = Reply::Kind::kError;
    r.reason = m[1];
  }
  return r;
}

// A plain blocking TCP client.
class Client {
 public:
  // `rcvbuf_bytes` > 0 shrinks the receive buffer (before connect, so the
  // window is small from the start).
  explicit Client(uint16_t port, int rcvbuf_bytes = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd_, 0);
    if (rcvbuf_bytes > 0) {
      EXPECT_EQ(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_bytes, sizeof(rcvbuf_bytes)), 0);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      ASSERT_GT(n, 0) << std::strerror(errno);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  // The next line without its '\n'; nullopt at end of stream.
  std::optional<std::string> ReadLine() {
    for (;;) {
      const size_t nl = in_.find('\n');
      if (nl != std::string::npos) {
        std::string line = in_.substr(0, nl);
        in_.erase(0, nl + 1);
        return line;
      }
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return std::nullopt;
      }
      in_.append(buf, static_cast<size_t>(n));
    }
  }

  // Reads replies until the ack of `line` (or a later one); fails the test at
  // end of stream. Checks that the acks it passes never go backwards.
  std::vector<Reply> ReadUntilAck(uint64_t line) {
    std::vector<Reply> replies;
    for (;;) {
      std::optional<std::string> text = ReadLine();
      if (!text) {
        ADD_FAILURE() << "end of stream before the ack of line " << line;
        return replies;
      }
      replies.push_back(Parse(*text));
      const Reply& r = replies.back();
      EXPECT_NE(r.kind, Reply::Kind::kOther) << r.text;
      if (r.kind == Reply::Kind::kAck) {
        EXPECT_GE(r.line, last_ack_) << "acks are cumulative";
        last_ack_ = r.line;
        if (r.line >= line) {
          return replies;
        }
      }
    }
  }

  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }
  void Close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
  std::string in_;
  uint64_t last_ack_ = 0;
};

std::vector<Reply> Nacks(const std::vector<Reply>& replies) {
  std::vector<Reply> out;
  for (const Reply& r : replies) {
    if (r.kind == Reply::Kind::kNack) {
      out.push_back(r);
    }
  }
  return out;
}

struct Popped {
  Priority priority;
  std::string meter_id;
  std::string payload;
};

// Waits, without a time limit, until `done` holds.
void WaitUntil(const std::function<bool()>& done) {
  while (!done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

class TcpServerTest : public ::testing::Test {
 protected:
  void StartServer(TcpServerOptions options = {}) {
    filter::FilterOptions fo = filter::SmallOptions(&clock_);  // 64 KiB budget, no disk tier
    filter_ = filter::MakeFilter(fo);
    classifier_ = std::move(event::Classifier::Create(event::ClassifierRules::Default())).value();
    auto pipeline = IngestPipeline::Create(filter_.get(), classifier_.get(),
                                           {.max_event_bytes = 1024}, &clock_);
    ASSERT_TRUE(pipeline.ok()) << pipeline.status().ToString();
    options.host = "127.0.0.1";
    options.port = 0;
    auto server = TcpServer::Create(&io_, options, std::move(pipeline).value());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
    server_->Start();
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Stop();
      io_thread_.join();  // run() returns once the server has nothing left
      EXPECT_EQ(server_->Stats().connections_active, 0u);
      server_.reset();
    }
    if (filter_ != nullptr) {
      EXPECT_TRUE(filter_->Stats().LedgerBalanced());
    }
  }

  std::vector<Popped> PopAll() {
    std::vector<Popped> out;
    for (;;) {
      filter::PopBatch batch;
      EXPECT_TRUE(filter_->Pop({}, nanoseconds(0), &batch).ok());
      if (batch.empty()) {
        return out;
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        out.push_back({batch.event(i).priority, std::string(batch.event(i).meter_id),
                       std::string(batch.event(i).payload)});
      }
      EXPECT_TRUE(filter_->Ack(&batch).ok());
    }
  }

  uint16_t port() const { return server_->port(); }

  testing::FakeClock clock_;
  std::unique_ptr<filter::BackpressureFilter> filter_;
  std::unique_ptr<event::Classifier> classifier_;
  boost::asio::io_context io_;
  std::unique_ptr<TcpServer> server_;
  std::thread io_thread_;
};

TEST_F(TcpServerTest, LinesReachTheFilterWithTheirPriorityAndPayload) {
  StartServer();
  Client c(port());
  const std::string reading = EventLine("interval_reading", "M1", 1);
  const std::string alert = EventLine("over_voltage", "M2", 2);
  const std::string restored = EventLine("power_restored", "M3", 3);
  c.Send(reading + "\n" + alert + "\r\n" + restored + "\n");
  c.ShutdownWrite();  // so that a missing ack is an end of stream, not a wait
  const std::vector<Reply> replies = c.ReadUntilAck(3);
  EXPECT_TRUE(Nacks(replies).empty()) << replies.front().text;

  const std::vector<Popped> popped = PopAll();
  ASSERT_EQ(popped.size(), 3u);
  EXPECT_EQ(popped[0].priority, Priority::kCritical);
  EXPECT_EQ(popped[0].meter_id, "M2");
  EXPECT_EQ(popped[0].payload, alert) << "the sender's bytes, without the '\\r'";
  EXPECT_EQ(popped[1].priority, Priority::kHigh);
  EXPECT_EQ(popped[1].payload, restored);
  EXPECT_EQ(popped[2].priority, Priority::kLow);
  EXPECT_EQ(popped[2].payload, reading);
  EXPECT_EQ(server_->Stats().events_accepted, 3u);
}

TEST_F(TcpServerTest, AcksAreCumulativeAndCountBlankLines) {
  StartServer();
  Client c(port());
  c.Send(EventLine("last_gasp", "M1") + "\n");
  std::vector<Reply> replies = c.ReadUntilAck(1);
  EXPECT_EQ(replies.back().text, R"({"ack":1})");

  // A blank line is line 3; the events after it are lines 4 and 5.
  c.Send(EventLine("last_gasp", "M2") + "\n\n" + EventLine("last_gasp", "M4") + "\n");
  c.Send(EventLine("last_gasp", "M5") + "\n");
  c.ShutdownWrite();
  replies = c.ReadUntilAck(5);  // fails at end of stream if the acks stop short
  EXPECT_EQ(replies.back().text, R"({"ack":5})");
  EXPECT_TRUE(Nacks(replies).empty());
  EXPECT_FALSE(c.ReadLine().has_value()) << "nothing after the last ack";
  EXPECT_EQ(PopAll().size(), 4u);
  EXPECT_EQ(server_->Stats().lines, 5u);
}

TEST_F(TcpServerTest, ABadLineIsNackedWithItsNumberAndReasonWhileTheOthersAreTaken) {
  StartServer();
  Client c(port());
  c.Send(EventLine("interval_reading", "M1") + "\n" +          // 1
         R"({"source":"hes","type":"over_voltage"})" + "\n" +  // 2: no meter_id
         EventLine("over_voltage", "M3") + "\n" +              // 3
         "this is not json\n" +                                // 4
         EventLine("over_voltage", "M5") + "\n");              // 5
  c.ShutdownWrite();
  const std::vector<Reply> nacks = Nacks(c.ReadUntilAck(5));
  ASSERT_EQ(nacks.size(), 2u);
  EXPECT_EQ(nacks[0].line, 2u);
  EXPECT_NE(nacks[0].reason.find("meter_id"), std::string::npos) << nacks[0].text;
  EXPECT_EQ(nacks[0].reason.rfind("invalid: ", 0), 0u) << nacks[0].text;
  EXPECT_EQ(nacks[0].retry_after_ms, 0u) << "retrying a malformed event cannot help";
  EXPECT_EQ(nacks[1].line, 4u);
  EXPECT_EQ(nacks[1].reason.rfind("invalid: ", 0), 0u) << nacks[1].text;

  const std::vector<Popped> popped = PopAll();
  ASSERT_EQ(popped.size(), 3u);
  EXPECT_EQ(popped[0].meter_id, "M3");
  EXPECT_EQ(popped[1].meter_id, "M5");
  EXPECT_EQ(popped[2].meter_id, "M1");
}

TEST_F(TcpServerTest, ALineSplitAcrossTwoWritesIsOneEvent) {
  StartServer();
  Client c(port());
  const std::string line = EventLine("over_voltage", "SPLIT", 7);
  const size_t half = line.size() / 2;
  c.Send(line.substr(0, half));
  // The first half has been read by the server before the rest is sent.
  WaitUntil([&] { return server_->Stats().bytes_received == half; });
  EXPECT_EQ(server_->Stats().batches, 0u) << "an incomplete line is no batch";
  c.Send(line.substr(half) + "\n" + EventLine("over_voltage", "NEXT") + "\n");
  c.ShutdownWrite();
  const std::vector<Reply> replies = c.ReadUntilAck(2);
  EXPECT_TRUE(Nacks(replies).empty()) << replies.front().text;
  const std::vector<Popped> popped = PopAll();
  ASSERT_EQ(popped.size(), 2u);
  EXPECT_EQ(popped[0].payload, line);
  EXPECT_EQ(popped[1].meter_id, "NEXT");
}

TEST_F(TcpServerTest, ALineAtTheLimitIsTakenAndOneByteMoreIsNacked) {
  StartServer({.max_line_bytes = 600});
  Client c(port());
  c.Send(EventLineOfSize(600) + "\n" + EventLineOfSize(601) + "\n" +
         EventLine("over_voltage", "AFTER") + "\n");
  c.ShutdownWrite();
  const std::vector<Reply> nacks = Nacks(c.ReadUntilAck(3));
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].line, 2u);
  EXPECT_EQ(nacks[0].reason, "line too long");
  EXPECT_EQ(nacks[0].retry_after_ms, 0u);
  const std::vector<Popped> popped = PopAll();
  ASSERT_EQ(popped.size(), 2u);
  EXPECT_EQ(popped[0].meter_id, "AFTER");
  EXPECT_EQ(popped[1].payload, EventLineOfSize(600));
  EXPECT_EQ(server_->Stats().lines_too_long, 1u);
}

TEST_F(TcpServerTest, AHugeLineIsNackedAndSkippedAndTheNextLineWorks) {
  // The line is far larger than the read buffer, so it is refused before its
  // end arrives and its bytes are dropped as they come.
  StartServer({.max_line_bytes = 1024, .read_buffer_bytes = 4096});
  Client c(port());
  c.Send(EventLine("over_voltage", "BEFORE") + "\n");
  const std::string chunk(64 * 1024, 'z');
  for (int i = 0; i < 64; ++i) {  // 4 MiB without a newline
    c.Send(chunk);
  }
  c.Send("\n" + EventLine("over_voltage", "AFTER") + "\n");
  c.ShutdownWrite();
  const std::vector<Reply> replies = c.ReadUntilAck(3);
  const std::vector<Reply> nacks = Nacks(replies);
  ASSERT_EQ(nacks.size(), 1u);
  EXPECT_EQ(nacks[0].line, 2u);
  EXPECT_EQ(nacks[0].reason, "line too long");
  const std::vector<Popped> popped = PopAll();
  ASSERT_EQ(popped.size(), 2u);
  EXPECT_EQ(popped[0].meter_id, "BEFORE");
  EXPECT_EQ(popped[1].meter_id, "AFTER");
  EXPECT_EQ(server_->Stats().lines, 3u);
}

TEST_F(TcpServerTest, UnderPressureReadingsAreNackedAndACriticalLineBehindThemIsTaken) {
  StartServer();
  Client c(port());
  // 600 readings of ~130 bytes cannot fit a 64 KiB budget; the critical event
  // comes last, behind all of them, in the same stream.
  std::string body;
  constexpr int kReadings = 600;
  for (int i = 0; i < kReadings; ++i) {
    body += EventLine("interval_reading", "R" + std::to_string(i), i) + "\n";
  }
  body += EventLine("over_voltage", "CRIT") + "\n";
  c.Send(body);
  c.ShutdownWrite();
  const std::vector<Reply> replies = c.ReadUntilAck(kReadings + 1);
  const std::vector<Reply> nacks = Nacks(replies);
  ASSERT_GT(nacks.size(), 0u) << "a 64 KiB filter cannot take " << kReadings << " readings";
  for (const Reply& n : nacks) {
    EXPECT_LE(n.line, static_cast<uint64_t>(kReadings)) << "the critical line is not nacked";
    EXPECT_EQ(n.reason, "memory_full") << n.text;
    EXPECT_GT(n.retry_after_ms, 0u) << n.text;
  }
  for (size_t i = 1; i < nacks.size(); ++i) {
    EXPECT_LT(nacks[i - 1].line, nacks[i].line) << "nacks in line order";
  }
  // The filter holds the critical event first.
  filter::PopBatch batch;
  ASSERT_TRUE(filter_->Pop({}, nanoseconds(0), &batch).ok());
  ASSERT_FALSE(batch.empty());
  EXPECT_EQ(batch.event(0).priority, Priority::kCritical);
  EXPECT_EQ(batch.event(0).meter_id, "CRIT");
  EXPECT_TRUE(filter_->Ack(&batch).ok());
  const TcpServerStats stats = server_->Stats();
  EXPECT_EQ(stats.events_accepted + stats.events_refused, kReadings + 1u);
  EXPECT_EQ(stats.events_refused, nacks.size());
  PopAll();
}

TEST_F(TcpServerTest, ASenderThatNeverReadsAcksDoesNotStallTheGateway) {
  StartServer({.max_pending_ack_bytes = 4096});
  // A tiny receive window, never read: the acks back up into the server.
  Client deaf(port(), /*rcvbuf_bytes=*/1024);
  constexpr int kBadLines = 50'000;  // each one is nacked: ~3 MB of nacks
  std::string body;
  for (int i = 0; i < kBadLines; ++i) {
    body += "x\n";
  }
  deaf.Send(body);
  deaf.Send(EventLine("over_voltage", "CRIT-AFTER") + "\n");
  // Every line was still processed, the last one taken.
  WaitUntil([&] { return server_->Stats().events_accepted == 1; });
  EXPECT_EQ(server_->Stats().events_refused, static_cast<uint64_t>(kBadLines));
  EXPECT_GT(server_->Stats().acks_dropped, 0u);
  EXPECT_EQ(server_->Stats().connections_acks_stopped, 1u);

  // Another connection is served meanwhile.
  Client other(port());
  other.Send(EventLine("last_gasp", "OTHER") + "\n");
  other.ReadUntilAck(1);
  const std::vector<Popped> popped = PopAll();
  ASSERT_EQ(popped.size(), 2u);
  EXPECT_EQ(popped[0].meter_id, "CRIT-AFTER");
  EXPECT_EQ(popped[1].meter_id, "OTHER");

  // Reading now: the acks that were queued arrive, then the marker that says
  // where they stopped, and nothing after it.
  deaf.ShutdownWrite();
  std::vector<Reply> replies;
  while (std::optional<std::string> text = deaf.ReadLine()) {
    replies.push_back(Parse(*text));
  }
  ASSERT_FALSE(replies.empty());
  EXPECT_EQ(replies.back().kind, Reply::Kind::kAcksStopped) << replies.back().text;
  uint64_t last_ack = 0;
  for (const Reply& r : replies) {
    if (r.kind == Reply::Kind::kAck) {
      last_ack = r.line;
    }
  }
  EXPECT_EQ(replies.back().line, last_ack);
  EXPECT_LT(last_ack, static_cast<uint64_t>(kBadLines));
}

TEST_F(TcpServerTest, ConnectionsBeyondTheLimitAreClosedAndCounted) {
  StartServer({.max_connections = 2});
  Client a(port());
  Client b(port());
  a.Send(EventLine("last_gasp", "A") + "\n");
  a.ReadUntilAck(1);
  b.Send(EventLine("last_gasp", "B") + "\n");
  b.ReadUntilAck(1);

  Client extra(port());
  std::optional<std::string> line = extra.ReadLine();
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(Parse(*line).kind, Reply::Kind::kError);
  EXPECT_EQ(Parse(*line).reason, "too many connections");
  EXPECT_FALSE(extra.ReadLine().has_value()) << "then closed";
  EXPECT_EQ(server_->Stats().connections_refused, 1u);

  // A slot freed is a slot to take.
  a.Close();
  WaitUntil([&] { return server_->Stats().connections_active == 1; });
  Client c(port());
  c.Send(EventLine("last_gasp", "C") + "\n");
  c.ReadUntilAck(1);
  EXPECT_EQ(PopAll().size(), 3u);
  EXPECT_EQ(server_->Stats().connections_accepted, 3u);
}

TEST_F(TcpServerTest, ALastLineWithoutNewlineCountsWhenTheSenderCloses) {
  StartServer();
  Client c(port());
  c.Send(EventLine("over_voltage", "M1") + "\n" + EventLine("over_voltage", "TAIL"));
  c.ShutdownWrite();
  c.ReadUntilAck(2);
  EXPECT_FALSE(c.ReadLine().has_value()) << "closed after the acks";
  const std::vector<Popped> popped = PopAll();
  ASSERT_EQ(popped.size(), 2u);
  EXPECT_EQ(popped[1].meter_id, "TAIL");
}

TEST_F(TcpServerTest, GarbageBytesNeverCrashIt) {
  StartServer({.max_line_bytes = 256, .read_buffer_bytes = 1024});
  std::string binary;
  for (int i = 0; i < 5000; ++i) {
    binary.push_back(static_cast<char>((i * 131 + 7) % 256));
  }
  const std::vector<std::string> blobs = {
      std::string("\0\0\0\0", 4),                  // NULs, no newline
      std::string("{\"a\":\0}\n\0\n", 10),         // NULs inside lines
      binary,                                      // binary with stray newlines
      std::string(10'000, '\xff'),                 // over the limit, no newline
      "\xef\xbb\xbf{\"type\":\"x\"}\n\xc3\x28\n",  // BOM, invalid UTF-8
      std::string(300, '{') + "\n" + std::string(100, '['),
      "\r\n\r\n\n\n   \n",  // blank lines only
  };
  for (const std::string& blob : blobs) {
    {
      Client garbage(port());
      garbage.Send(blob);
      garbage.ShutdownWrite();
      // Everything it said is answered, then the server closes.
      while (std::optional<std::string> text = garbage.ReadLine()) {
        const Reply r = Parse(*text);
        EXPECT_TRUE(r.kind == Reply::Kind::kAck || r.kind == Reply::Kind::kNack) << r.text;
      }
    }
    {
      Client rude(port());  // closes without a shutdown, mid-stream
      rude.Send(blob);
    }
  }
  Client good(port());
  good.Send(EventLine("last_gasp", "ALIVE") + "\n");
  EXPECT_TRUE(Nacks(good.ReadUntilAck(1)).empty());
  const std::vector<Popped> popped = PopAll();
  ASSERT_GE(popped.size(), 1u);
  EXPECT_EQ(popped.back().meter_id, "ALIVE");
}

TEST_F(TcpServerTest, AnIdleConnectionIsClosed) {
  StartServer({.idle_timeout_ms = 20});
  Client c(port());
  c.Send(EventLine("last_gasp", "M1") + "\n");
  c.ReadUntilAck(1);
  EXPECT_FALSE(c.ReadLine().has_value()) << "closed once idle";
  EXPECT_EQ(server_->Stats().connections_idle_closed, 1u);
  PopAll();
}

TEST(TcpServerCreateTest, RefusesAHostThatIsNotAnAddress) {
  testing::FakeClock clock;
  auto filter = filter::MakeFilter(filter::SmallOptions(&clock));
  auto classifier = std::move(event::Classifier::Create(event::ClassifierRules::Default())).value();
  boost::asio::io_context io;
  auto server = TcpServer::Create(
      &io, {.host = "not-an-address"},
      std::move(IngestPipeline::Create(filter.get(), classifier.get(), {}, &clock)).value());
  EXPECT_EQ(server.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace gridgate::ingest::tcp
