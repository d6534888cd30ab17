#include "tools/load/sink/sink_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"

namespace gridgate::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using gridgate::testing::FakeClock;

struct PostReply {
  int status = -1;  // -1: no reply (the connection failed or closed)
  std::string body;
};

// A tiny blocking HTTP/1.1 client on one kept-alive connection, like the
// gateway's http sink. Errors are a reply with status -1, not an exception.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    beast::error_code ec;
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  PostReply Post(const std::string& body, const std::string& target = "/ingest") {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::content_type, "application/x-ndjson");
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    beast::error_code ec;
    bhttp::write(socket_, req, ec);
    if (ec) {
      return {};
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    bhttp::read(socket_, buffer_, parser, ec);
    if (ec) {
      return {};
    }
    return PostReply{static_cast<int>(parser.get().result_int()), parser.get().body()};
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// A delivered line as the gateway writes it, with the load sender's fields;
// `layout` moves load_sent_us around the object (its position is not fixed).
std::string Line(std::string_view priority, uint64_t seq, int64_t sent_us, int layout = 0) {
  const std::string head =
      R"({"gateway_seq":)" + std::to_string(seq + 1000) +
      R"(,"gateway_ingest_time":"2026-07-08T14:03:41.020Z","gateway_priority":")" +
      std::string(priority) + "\"";
  const std::string seq_field = R"("source_seq":)" + std::to_string(seq);
  const std::string sent_field = R"("load_sent_us":)" + std::to_string(sent_us);
  const std::string rest = R"("meter_id":"1ND785727916NMD06","type":"over_voltage","value":138.6)";
  switch (layout % 3) {
    case 0:
      return head + R"(,"source":"load-00",)" + seq_field + "," + rest + "," + sent_field + "}\n";
    case 1:
      return head + "," + sent_field + R"(,"source":"load-01",)" + rest + "," + seq_field + "}\n";
    default:
      return head + "," + rest + "," + seq_field + "," + sent_field + R"(,"unit":"V"})" + "\n";
  }
}

int64_t UnixUs(const Clock& clock) { return clock.UnixNs() / 1000; }

class SinkServerTest : public ::testing::Test {
 protected:
  std::unique_ptr<SinkServer> StartSink(const SinkOptions& options, Clock* clock) {
    auto sink = SinkServer::Create(options, clock);
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    if (!sink.ok()) {
      return nullptr;
    }
    const Status started = sink.value()->Start();
    EXPECT_TRUE(started.ok()) << started.ToString();
    return std::move(sink).value();
  }

  std::unique_ptr<SinkServer> StartSink(const SinkOptions& options = {}) {
    return StartSink(options, &clock_);
  }

  FakeClock clock_;
};

TEST(ScanSinkLineTest, FindsTheThreeFieldsWhereverTheyAre) {
  for (int layout = 0; layout < 3; ++layout) {
    const auto line = ScanSinkLine(Line("high", 42, 1'796'409'438'146'123, layout));
    ASSERT_TRUE(line.has_value()) << layout;
    EXPECT_EQ(line->priority, Priority::kHigh);
    EXPECT_EQ(line->source_seq, 42u);
    EXPECT_EQ(line->load_sent_us, 1'796'409'438'146'123);
  }
  const auto spaced =
      ScanSinkLine(R"({"gateway_priority": "low", "source_seq": 7, "load_sent_us": 99})");
  ASSERT_TRUE(spaced.has_value());
  EXPECT_EQ(spaced->priority, Priority::kLow);
  EXPECT_EQ(spaced->source_seq, 7u);
  EXPECT_EQ(spaced->load_sent_us, 99);
}

TEST(ScanSinkLineTest, ALineWithoutAValidFieldIsNotParsed) {
  const char* const bad[] = {
      "",
      "not json",
      R"({"gateway_priority":"critical","source_seq":5})",
      R"({"gateway_priority":"critical","load_sent_us":5})",
      R"({"source_seq":5,"load_sent_us":5})",
      R"({"gateway_priority":"urgent","source_seq":5,"load_sent_us":5})",
      R"({"gateway_priority":"Critical","source_seq":5,"load_sent_us":5})",
      R"({"gateway_priority":critical,"source_seq":5,"load_sent_us":5})",
      R"({"gateway_priority":"low","source_seq":-1,"load_sent_us":5})",
      R"({"gateway_priority":"low","source_seq":"5","load_sent_us":5})",
      R"({"gateway_priority":"low","source_seq":5,"load_sent_us":-5})",
      R"({"gateway_priority":"low","source_seq":5,"load_sent_us":9223372036854775808})",
      R"({"gateway_priority":"low","source_seq":99999999999999999999,"load_sent_us":5})",
      R"({"gateway_priority":"low","source_seq":5,"load_sent_us":)",
      R"({"gateway_priority":"low)",
  };
  for (const char* line : bad) {
    EXPECT_FALSE(ScanSinkLine(line).has_value()) << line;
  }
  EXPECT_TRUE(ScanSinkLine(
                  R"({"gateway_priority":"low","source_seq":0,"load_sent_us":9223372036854775807})")
                  .has_value());
}

TEST_F(SinkServerTest, CreateRejectsBadOptionsByName) {
  struct Case {
    SinkOptions options;
    std::string name;
  };
  std::vector<Case> cases;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  cases.push_back({SinkOptions{.cap_events_per_second = -1}, "cap_events_per_second"});
  cases.push_back({SinkOptions{.cap_events_per_second = nan}, "cap_events_per_second"});
  cases.push_back({SinkOptions{.fail_after_seconds = -0.5}, "fail_after_seconds"});
  cases.push_back({SinkOptions{.fail_for_seconds = inf}, "fail_for_seconds"});
  cases.push_back({SinkOptions{.interval_ms = 0}, "interval_ms"});
  cases.push_back({SinkOptions{.path = "ingest"}, "path"});
  for (const Case& c : cases) {
    auto sink = SinkServer::Create(c.options, &clock_);
    ASSERT_FALSE(sink.ok()) << c.name;
    EXPECT_EQ(sink.status().code(), Status::Code::kInvalidArgument) << c.name;
    EXPECT_NE(sink.status().message().find(c.name), std::string::npos) << sink.status().ToString();
  }
  EXPECT_FALSE(SinkServer::Create(SinkOptions{.host = "not-an-address"}, &clock_).ok());
}

TEST_F(SinkServerTest, APortInUseIsAnErrorAndStartIsOnce) {
  auto sink = StartSink();
  ASSERT_NE(sink, nullptr);
  EXPECT_NE(sink->port(), 0);
  auto second = SinkServer::Create(SinkOptions{.port = sink->port()}, &clock_);
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(sink->Start().code(), Status::Code::kInvalidArgument);
  sink->Stop();
  sink->Stop();  // idempotent
  EXPECT_EQ(sink->Start().code(), Status::Code::kInvalidArgument);
}

TEST_F(SinkServerTest, LatenciesLandInTheirPriority) {
  auto sink = StartSink();
  ASSERT_NE(sink, nullptr);
  const int64_t now_us = UnixUs(clock_);
  std::string body;
  for (uint64_t i = 0; i < 10; ++i) {
    body += Line("critical", i, now_us - 1'000 - static_cast<int64_t>(i), static_cast<int>(i));
    body += Line("high", 10 + i, now_us - 20'000, static_cast<int>(i));
    body += Line("normal", 20 + i, now_us - 300'000, static_cast<int>(i));
    body += Line("low", 30 + i, now_us - 4'000'000 - static_cast<int64_t>(i) * 1'000,
                 static_cast<int>(i));
  }
  body += Line("normal", 40, now_us + 5'000);  // sent "after" arrival: clocks disagree; 0

  Client client(sink->port());
  EXPECT_EQ(client.Post(body).status, 200);

  const SinkSnapshot s = sink->Snapshot();
  EXPECT_EQ(s.requests, 1u);
  EXPECT_EQ(s.events, 41u);
  EXPECT_EQ(s.unique, 41u);
  EXPECT_EQ(s.seq_end, 41u);
  EXPECT_EQ(s.unparsed_lines, 0u);
  const auto& by_level = s.events_by_priority;
  EXPECT_EQ(by_level[LevelIndex(Priority::kCritical)], 10u);
  EXPECT_EQ(by_level[LevelIndex(Priority::kHigh)], 10u);
  EXPECT_EQ(by_level[LevelIndex(Priority::kNormal)], 11u);
  EXPECT_EQ(by_level[LevelIndex(Priority::kLow)], 10u);

  const HdrHistogram& critical = s.latency_us[LevelIndex(Priority::kCritical)];
  EXPECT_EQ(critical.count(), 10u);
  EXPECT_EQ(critical.min(), 1'000);
  EXPECT_EQ(critical.max(), 1'009);
  EXPECT_EQ(critical.Quantile(0.5), 1'004);
  const HdrHistogram& high = s.latency_us[LevelIndex(Priority::kHigh)];
  EXPECT_EQ(high.min(), 20'000);
  EXPECT_EQ(high.max(), 20'000);
  const HdrHistogram& normal = s.latency_us[LevelIndex(Priority::kNormal)];
  EXPECT_EQ(normal.count(), 11u);
  EXPECT_EQ(normal.min(), 0);
  EXPECT_EQ(normal.max(), 300'000);
  const HdrHistogram& low = s.latency_us[LevelIndex(Priority::kLow)];
  EXPECT_EQ(low.min(), 4'000'000);
  EXPECT_EQ(low.max(), 4'009'000);
  EXPECT_EQ(s.first_arrival_unix_us, now_us);
  EXPECT_EQ(s.last_arrival_unix_us, now_us);
}

TEST_F(SinkServerTest, DuplicatesAndUnparsedLinesAreCounted) {
  auto sink = StartSink();
  ASSERT_NE(sink, nullptr);
  const int64_t now_us = UnixUs(clock_);
  std::string batch;
  for (uint64_t seq = 0; seq < 100; ++seq) {
    batch += Line(seq % 2 == 0 ? "low" : "critical", seq, now_us - 10);
  }
  Client client(sink->port());
  ASSERT_EQ(client.Post(batch).status, 200);
  clock_.AdvanceMs(5);
  ASSERT_EQ(client.Post(batch).status, 200) << "the gateway's retry after a lost ack";

  const std::string junk =
      std::string("not json\n") + "\n" + "   \r\n" +  // blank: not lines
      R"({"gateway_priority":"critical","source_seq":5})" + "\n" +
      R"({"gateway_priority":"urgent","source_seq":6,"load_sent_us":1})" + "\n" +
      R"({"gateway_priority":"low","source_seq":4294967296,"load_sent_us":1})" + "\r\n" +
      Line("high", 100, now_us) + "garbage without newline";
  ASSERT_EQ(client.Post(junk).status, 200);

  const SinkSnapshot s = sink->Snapshot();
  EXPECT_EQ(s.requests, 3u);
  EXPECT_EQ(s.events, 201u);
  EXPECT_EQ(s.unique, 101u);
  EXPECT_EQ(s.duplicates, 100u);
  EXPECT_EQ(s.unparsed_lines, 5u);
  EXPECT_EQ(s.events_by_priority[LevelIndex(Priority::kCritical)], 100u);
  EXPECT_EQ(s.events_by_priority[LevelIndex(Priority::kHigh)], 1u);
  const HdrHistogram& critical = s.latency_us[LevelIndex(Priority::kCritical)];
  EXPECT_EQ(critical.min(), 10);
  EXPECT_EQ(critical.max(), 5'010) << "the repeat arrived 5 ms later";
  EXPECT_EQ(s.last_arrival_unix_us, now_us + 5'000);
}

TEST_F(SinkServerTest, LostIsWhatTheGatewayAcceptedThatNeverArrived) {
  auto sink = StartSink();
  ASSERT_NE(sink, nullptr);
  SeqTracker accepted;
  for (uint64_t seq = 0; seq < 200; ++seq) {
    accepted.Mark(seq);
  }
  std::string first;
  std::string second;
  for (uint64_t seq = 0; seq < 150; ++seq) {
    if (seq != 42) {
      (seq < 75 ? first : second) += Line("normal", seq, UnixUs(clock_));
    }
  }
  second += Line("normal", 500, UnixUs(clock_));  // never accepted: not a loss
  Client client(sink->port());
  EXPECT_EQ(sink->CountLost(accepted), 200u);
  ASSERT_EQ(client.Post(first).status, 200);
  ASSERT_EQ(client.Post(second).status, 200);
  ASSERT_EQ(client.Post(second).status, 200);
  EXPECT_EQ(sink->CountLost(accepted), 51u);  // 42 and 150..199
  EXPECT_EQ(sink->Snapshot().duplicates, 76u) << "the second batch, 500 included";
}

TEST_F(SinkServerTest, TheFailureWindowAnswers503AndRecordsNothing) {
  SinkOptions options;
  options.fail_after_seconds = 1.0;
  options.fail_for_seconds = 2.0;
  auto sink = StartSink(options);
  ASSERT_NE(sink, nullptr);
  Client client(sink->port());
  auto batch = [this](uint64_t first) {
    std::string body;
    for (uint64_t seq = first; seq < first + 10; ++seq) {
      body += Line("critical", seq, UnixUs(clock_));
    }
    return body;
  };

  EXPECT_EQ(client.Post(batch(0)).status, 200) << "before the window";
  clock_.AdvanceMs(1'000);
  EXPECT_EQ(client.Post(batch(10)).status, 503) << "the window opens at 1 s";
  clock_.AdvanceMs(1'999);
  EXPECT_EQ(client.Post(batch(10)).status, 503) << "still failing at 2.999 s";
  EXPECT_EQ(sink->Snapshot().events, 10u);
  clock_.AdvanceMs(1);
  EXPECT_EQ(client.Post(batch(10)).status, 200) << "the window closes at 3 s";

  const SinkSnapshot s = sink->Snapshot();
  EXPECT_EQ(s.requests, 4u);
  EXPECT_EQ(s.failed_requests, 2u);
  EXPECT_EQ(s.events, 20u);
  EXPECT_EQ(s.unique, 20u);
  EXPECT_EQ(s.duplicates, 0u);
}

TEST_F(SinkServerTest, TheSeriesCountsArrivalsAndCriticalLatencyPerInterval) {
  auto sink = StartSink(SinkOptions{.interval_ms = 100});
  ASSERT_NE(sink, nullptr);
  Client client(sink->port());
  const int64_t t0 = UnixUs(clock_);
  std::string body = Line("critical", 0, t0 - 1'000) + Line("critical", 1, t0 - 7'000) +
                     Line("low", 2, t0 - 90'000) + Line("high", 3, t0) + Line("high", 3, t0);
  ASSERT_EQ(client.Post(body).status, 200);
  clock_.AdvanceMs(250);
  const int64_t t1 = UnixUs(clock_);
  body = Line("critical", 4, t1 - 300) + Line("normal", 5, t1) + Line("low", 6, t1);
  ASSERT_EQ(client.Post(body).status, 200);
  clock_.AdvanceMs(120);

  const std::vector<SinkInterval> series = sink->Series();
  ASSERT_EQ(series.size(), 4u) << "0, 100, 200 and the current 300 ms interval";
  for (size_t i = 0; i < series.size(); ++i) {
    EXPECT_EQ(series[i].start_ms, static_cast<int64_t>(i) * 100);
  }
  EXPECT_EQ(series[0].events, 5u) << "duplicates included";
  EXPECT_EQ(series[0].critical_events, 2u);
  EXPECT_EQ(series[0].critical_max_us, 7'000);
  EXPECT_EQ(series[1].events, 0u);
  EXPECT_EQ(series[1].critical_max_us, 0);
  EXPECT_EQ(series[2].events, 3u);
  EXPECT_EQ(series[2].critical_events, 1u);
  EXPECT_EQ(series[2].critical_max_us, 300);
  EXPECT_EQ(series[3].events, 0u);
}

TEST_F(SinkServerTest, ABodyOf16MiBIsTakenWhole) {
  auto sink = StartSink();
  ASSERT_NE(sink, nullptr);
  const std::string padding(160, 'x');
  std::string body;
  uint64_t lines = 0;
  while (body.size() < (size_t{16} << 20) - 400) {
    std::string line = Line("low", lines++, UnixUs(clock_));
    line.insert(line.size() - 2, R"(,"pad":")" + padding + "\"");
    body += line;
  }
  Client client(sink->port());
  EXPECT_EQ(client.Post(body).status, 200);
  const SinkSnapshot s = sink->Snapshot();
  EXPECT_EQ(s.events, lines);
  EXPECT_EQ(s.unique, lines);
  EXPECT_EQ(s.unparsed_lines, 0u);
}

std::string RealBatch(uint64_t first, uint64_t n) {
  std::string body;
  const int64_t now_us = UnixUs(*SystemClock());
  for (uint64_t seq = first; seq < first + n; ++seq) {
    body += Line(seq % 10 == 0 ? "critical" : "low", seq, now_us);
  }
  return body;
}

TEST_F(SinkServerTest, TheRateCapHoldsTheAcks) {
  // 2000 events/s: 3 × 1000 events are 1.5 s worth, less a 10 ms burst.
  auto sink = StartSink(SinkOptions{.cap_events_per_second = 2'000}, SystemClock());
  ASSERT_NE(sink, nullptr);
  Client client(sink->port());
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_EQ(client.Post(RealBatch(i * 1'000, 1'000)).status, 200);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(1'300))
      << "3000 events acked in "
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
  EXPECT_EQ(sink->Snapshot().events, 3'000u);
}

TEST_F(SinkServerTest, StopWakesAHandlerHeldByTheCap) {
  // 1 event/s: 1000 events would hold the reply for 1000 s, longer than the
  // test's timeout, unless Stop() wakes the handler.
  auto sink = StartSink(SinkOptions{.cap_events_per_second = 1}, SystemClock());
  ASSERT_NE(sink, nullptr);
  PostReply reply;
  std::thread poster([&] {
    Client client(sink->port());
    reply = client.Post(RealBatch(0, 1'000));
  });
  while (sink->Snapshot().events < 1'000) {  // recorded before the wait
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  sink->Stop();
  poster.join();
  EXPECT_NE(reply.status, 200) << "the cap never allowed this ack";
  EXPECT_EQ(sink->Snapshot().events, 1'000u) << "what was recorded stays readable";
}

TEST_F(SinkServerTest, ReadersRunWhileTwoConnectionsPost) {
  auto sink = StartSink(SinkOptions{.interval_ms = 5}, SystemClock());
  ASSERT_NE(sink, nullptr);
  constexpr uint64_t kBatches = 100;
  constexpr uint64_t kPerBatch = 100;
  SeqTracker accepted;
  for (uint64_t seq = 0; seq < 2 * kBatches * kPerBatch; ++seq) {
    accepted.Mark(seq);
  }
  std::atomic<bool> done{false};
  std::thread reader([&] {
    uint64_t last_events = 0;
    while (!done.load()) {
      const SinkSnapshot s = sink->Snapshot();
      EXPECT_GE(s.events, last_events);
      last_events = s.events;
      uint64_t in_series = 0;
      for (const SinkInterval& interval : sink->Series()) {
        in_series += interval.events;
      }
      EXPECT_LE(in_series, 2 * kBatches * kPerBatch);
      EXPECT_LE(sink->CountLost(accepted), 2 * kBatches * kPerBatch);
    }
  });
  std::vector<std::thread> posters;
  for (uint64_t p = 0; p < 2; ++p) {
    posters.emplace_back([&, p] {
      Client client(sink->port());
      for (uint64_t b = 0; b < kBatches; ++b) {
        EXPECT_EQ(client.Post(RealBatch((p * kBatches + b) * kPerBatch, kPerBatch)).status, 200);
      }
    });
  }
  for (std::thread& t : posters) {
    t.join();
  }
  done.store(true);
  reader.join();

  const SinkSnapshot s = sink->Snapshot();
  EXPECT_EQ(s.requests, 2 * kBatches);
  EXPECT_EQ(s.events, 2 * kBatches * kPerBatch);
  EXPECT_EQ(s.unique, 2 * kBatches * kPerBatch);
  EXPECT_EQ(sink->CountLost(accepted), 0u);
  uint64_t in_series = 0;
  uint64_t critical_in_series = 0;
  for (const SinkInterval& interval : sink->Series()) {
    in_series += interval.events;
    critical_in_series += interval.critical_events;
  }
  EXPECT_EQ(in_series, s.events);
  EXPECT_EQ(critical_in_series, s.events_by_priority[LevelIndex(Priority::kCritical)]);
}

}  // namespace
}  // namespace gridgate::load
