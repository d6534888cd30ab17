#include "ingest/http/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admin/admin_routes.h"
#include "event/classifier.h"
#include "fakes/json_check.h"
#include "filter/filter_test_util.h"
#include "ingest/http/ingest_handler.h"
#include "ingest/ingest_pipeline.h"

namespace gridgate::ingest::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using gridgate::testing::JsonCheck;
using gridgate::testing::JsonNode;

std::string Ev(const std::string& type, const std::string& meter) {
  return R"({"source":"hes-east-01","meter_id":")" + meter + R"(","type":")" + type +
         R"(","device_time":"2026-07-08T14:03:40.100Z"})";
}

struct Reply {
  int status = 0;
  std::string content_type;
  std::string body;
  std::string retry_after;
  std::string allow;
  bool keep_alive = false;
};

// A tiny blocking HTTP/1.1 client on one connection. Throws (and so fails the
// test) on a socket error where the test expects none.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  Reply Send(bhttp::verb verb, const std::string& target, const std::string& content_type = "",
             const std::string& body = "") {
    bhttp::request<bhttp::string_body> req{verb, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    if (!content_type.empty()) {
      req.set(bhttp::field::content_type, content_type);
    }
    req.body() = body;
    req.keep_alive(true);
    req.prepare_payload();
    bhttp::write(socket_, req);
    return Read();
  }

  Reply Post(const std::string& content_type, const std::string& body) {
    return Send(bhttp::verb::post, "/api/v1/events", content_type, body);
  }

  Reply Read() {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    bhttp::read(socket_, buffer_, parser);
    const auto& res = parser.get();
    Reply r;
    r.status = static_cast<int>(res.result_int());
    r.content_type = std::string(res[bhttp::field::content_type]);
    r.body = res.body();
    r.retry_after = std::string(res[bhttp::field::retry_after]);
    r.allow = std::string(res[bhttp::field::allow]);
    r.keep_alive = res.keep_alive();
    return r;
  }

  // Writes `bytes` as they are; errors ignored (the server may close first).
  void WriteRaw(std::string_view bytes) {
    beast::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
  }

  void ShutdownSend() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
  }

  // Everything the server sends until it closes the connection (EOF or a
  // reset), buffered bytes first.
  std::string ReadUntilClosed() {
    std::string out = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    std::array<char, 4096> chunk;
    for (;;) {
      beast::error_code ec;
      const size_t n = socket_.read_some(asio::buffer(chunk), ec);
      out.append(chunk.data(), n);
      if (ec) {
        return out;
      }
    }
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

JsonNode ParseJson(const std::string& text) {
  std::string error;
  std::optional<JsonNode> node = JsonCheck::Parse(text, &error);
  EXPECT_TRUE(node.has_value()) << error << " in " << text;
  return node.value_or(JsonNode{});
}

std::string Field(const JsonNode& node, std::string_view path) {
  const JsonNode* n = node.Find(path);
  return n == nullptr ? "<missing>" : n->text;
}

class HttpServerTest : public ::testing::Test {
 protected:
  // Starts the server with the ingest and admin routes on 127.0.0.1:0, on
  // an io_context run by a thread of its own.
  void StartServer(HttpServerOptions options = {}) {
    filter::FilterOptions fo = filter::SmallOptions(&clock_);
    filter_ = filter::MakeFilter(fo);
    classifier_ = std::move(event::Classifier::Create(event::ClassifierRules::Default())).value();
    pipeline_ = std::move(IngestPipeline::Create(filter_.get(), classifier_.get(),
                                                 {.max_event_bytes = 1024}, &clock_))
                    .value();
    handler_ = std::make_unique<IngestHandler>(pipeline_.get());

    options.host = "127.0.0.1";
    options.port = 0;
    auto server = HttpServer::Create(&io_, options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
    handler_->RegisterOn(server_.get());
    admin::RegisterAdminRoutes(
        server_.get(), {.backpressure_json = [] { return std::string(R"({"state":"normal"})"); },
                        .metrics_text = [] { return std::string("gridgate_up 1\n"); },
                        .ready = [this] { return ready_.load(); }});
    server_->Start();
    io_thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Stop();
    }
    if (io_thread_.joinable()) {
      io_thread_.join();  // run() returns once the listener and every connection closed
    }
  }

  // An event as popped, copied out of its batch.
  struct Popped {
    Priority priority;
    std::string meter_id;
    std::string payload;
  };

  // Pops everything queued, without waiting, and acks it.
  std::vector<Popped> PopAll() {
    filter::PopBatch batch;
    EXPECT_TRUE(filter_->Pop({}, std::chrono::nanoseconds(0), &batch).ok());
    std::vector<Popped> events;
    for (size_t i = 0; i < batch.size(); ++i) {
      const Event e = batch.event(i);
      events.push_back({e.priority, std::string(e.meter_id), std::string(e.payload)});
    }
    if (!batch.empty()) {
      EXPECT_TRUE(filter_->Ack(&batch).ok());
    }
    return events;
  }

  void WaitForActiveConnections(uint64_t n) {
    while (server_->Stats().connections_active != n) {
      std::this_thread::yield();
    }
  }

  uint16_t port() const { return server_->port(); }

  gridgate::testing::FakeClock clock_;
  std::unique_ptr<filter::BackpressureFilter> filter_;
  std::unique_ptr<event::Classifier> classifier_;
  std::unique_ptr<IngestPipeline> pipeline_;
  std::unique_ptr<IngestHandler> handler_;
  std::atomic<bool> ready_{false};
  asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread io_thread_;
};

TEST_F(HttpServerTest, TheThreeBodyFormsAreTakenAndPoppedInPriorityOrder) {
  StartServer();
  Client c(port());
  Reply r = c.Post("application/json", Ev("interval_reading", "M1"));
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  JsonNode j = ParseJson(r.body);
  EXPECT_EQ(Field(j, "accepted"), "1");
  EXPECT_EQ(Field(j, "refused"), "0");
  EXPECT_EQ(Field(j, "first_seq"), Field(j, "last_seq"));
  ASSERT_NE(j.Find("results"), nullptr);
  EXPECT_TRUE(j.Find("results")->items.empty());

  r = c.Post("application/json",
             "[" + Ev("voltage_sag", "M2") + "," + Ev("power_restored", "M3") + "]");
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Field(ParseJson(r.body), "accepted"), "2");

  r = c.Post("application/x-ndjson; charset=utf-8",
             Ev("over_voltage", "M4") + "\n\n" + Ev("last_gasp", "M5") + "\n");
  EXPECT_EQ(r.status, 202) << r.body;
  j = ParseJson(r.body);
  EXPECT_EQ(Field(j, "accepted"), "2");
  EXPECT_EQ(std::stoull(Field(j, "last_seq")), std::stoull(Field(j, "first_seq")) + 1);

  const std::vector<Popped> events = PopAll();
  ASSERT_EQ(events.size(), 5u);
  const std::vector<std::pair<Priority, std::string>> want = {
      {Priority::kCritical, "M4"}, {Priority::kCritical, "M5"}, {Priority::kHigh, "M3"},
      {Priority::kNormal, "M2"},   {Priority::kLow, "M1"},
  };
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(events[i].priority, want[i].first) << i;
    EXPECT_EQ(events[i].meter_id, want[i].second) << i;
  }
  EXPECT_EQ(events[0].payload, Ev("over_voltage", "M4")) << "the sender's bytes";
  EXPECT_EQ(server_->Stats().replies_2xx, 3u);
}

TEST_F(HttpServerTest, ABadEventIsRefusedByIndexAndReasonAndTheOthersAreTaken) {
  StartServer();
  Client c(port());
  const std::string bad =
      R"({"source":"hes","type":"over_voltage","device_time":"2026-07-08T14:03:40Z"})";
  Reply r = c.Post("application/json",
                   "[" + Ev("over_voltage", "M1") + "," + bad + "," + Ev("last_gasp", "M2") + "]");
  EXPECT_EQ(r.status, 207) << r.body;
  JsonNode j = ParseJson(r.body);
  EXPECT_EQ(Field(j, "accepted"), "2");
  EXPECT_EQ(Field(j, "refused"), "1");
  const JsonNode* results = j.Find("results");
  ASSERT_NE(results, nullptr);
  ASSERT_EQ(results->items.size(), 1u);
  EXPECT_EQ(Field(results->items[0], "index"), "1");
  EXPECT_EQ(Field(results->items[0], "line"), "0");
  EXPECT_NE(Field(results->items[0], "reason").find("meter_id"), std::string::npos) << r.body;
  EXPECT_EQ(Field(results->items[0], "retry_after_ms"), "0");

  // NDJSON: the line number of the bad event.
  r = c.Post("application/x-ndjson", Ev("over_voltage", "M3") + "\n\n" + bad + "\n");
  EXPECT_EQ(r.status, 207) << r.body;
  j = ParseJson(r.body);
  ASSERT_NE(j.Find("results"), nullptr);
  ASSERT_EQ(j.Find("results")->items.size(), 1u);
  EXPECT_EQ(Field(j.Find("results")->items[0], "index"), "1");
  EXPECT_EQ(Field(j.Find("results")->items[0], "line"), "3");

  EXPECT_EQ(PopAll().size(), 3u);
}

TEST_F(HttpServerTest, AFullFilterAnswers429WithRetryAfter) {
  StartServer();
  Client c(port());
  std::string body = "[";
  for (int i = 0; i < 400; ++i) {
    body += (i ? "," : "") + Ev("interval_reading", "M" + std::to_string(i));
  }
  body += "]";
  Reply r = c.Post("application/json", body);
  ASSERT_EQ(r.status, 207) << "a 64 KiB filter takes some of 400 events, not all";
  JsonNode j = ParseJson(r.body);
  EXPECT_EQ(Field(j.Find("results")->items[0], "reason"), "memory_full");

  r = c.Post("application/json", Ev("interval_reading", "X"));
  EXPECT_EQ(r.status, 429) << r.body;
  ASSERT_FALSE(r.retry_after.empty());
  EXPECT_GE(std::stoi(r.retry_after), 1);
  j = ParseJson(r.body);
  EXPECT_EQ(Field(j, "accepted"), "0");
  EXPECT_EQ(Field(j, "first_seq"), "");  // null
  EXPECT_EQ(j.Find("first_seq")->kind, JsonNode::Kind::kNull);
  EXPECT_NE(std::stoul(Field(j.Find("results")->items[0], "retry_after_ms")), 0u);
  EXPECT_TRUE(filter_->Stats().LedgerBalanced());
}

TEST_F(HttpServerTest, ABodyThatIsNotEventsIs400AndSoIsABatchOfOnlyMalformedEvents) {
  StartServer();
  Client c(port());
  Reply r = c.Post("application/json", "42");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Field(ParseJson(r.body), "error"), "<missing>") << r.body;

  r = c.Post("application/json", R"([{"source":"hes"},{"a":tru}])");
  EXPECT_EQ(r.status, 400) << r.body;
  JsonNode j = ParseJson(r.body);
  EXPECT_EQ(Field(j, "accepted"), "0");
  EXPECT_EQ(Field(j, "refused"), "2");
  EXPECT_EQ(filter_->Stats().Accepted(), 0u);
  EXPECT_TRUE(r.keep_alive) << "an error in the body is not an error of the connection";
}

TEST_F(HttpServerTest, AnOversizeBodyIs413AndTakesNothing) {
  StartServer({.max_body_bytes = 1024});
  Client c(port());
  std::string body = "[";
  for (int i = 0; i < 40; ++i) {
    body += (i ? "," : "") + Ev("over_voltage", "M" + std::to_string(i));
  }
  body += "]";
  ASSERT_GT(body.size(), 1024u);
  Reply r = c.Post("application/json", body);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(Field(ParseJson(r.body), "error"), "<missing>");
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(filter_->Stats().Accepted(), 0u);

  // A body just at the limit is taken.
  Client c2(port());
  std::string small = "[" + Ev("over_voltage", "M") + "]";
  small.append(1024 - small.size(), ' ');
  EXPECT_EQ(c2.Post("application/json", small).status, 202);
}

TEST_F(HttpServerTest, AnotherContentTypeIs415) {
  StartServer();
  Client c(port());
  EXPECT_EQ(c.Post("text/plain", Ev("over_voltage", "M1")).status, 415);
  EXPECT_EQ(c.Post("", Ev("over_voltage", "M1")).status, 415);
  EXPECT_EQ(c.Post("Application/JSON", Ev("over_voltage", "M1")).status, 202)
      << "media types are case-insensitive";
}

TEST_F(HttpServerTest, UnknownPathIs404AndWrongMethodIs405) {
  StartServer();
  Client c(port());
  Reply r = c.Send(bhttp::verb::get, "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(Field(ParseJson(r.body), "error").find("/nope"), std::string::npos);
  r = c.Send(bhttp::verb::get, "/api/v1/events");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  r = c.Send(bhttp::verb::post, "/healthz", "application/json", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET");
  EXPECT_EQ(server_->Stats().replies_4xx, 3u);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  Client c(port());
  Reply r1 = c.Post("application/json", Ev("over_voltage", "M1"));
  Reply r2 = c.Send(bhttp::verb::get, "/healthz");
  Reply r3 = c.Post("application/json", Ev("over_voltage", "M2"));
  EXPECT_EQ(r1.status, 202);
  EXPECT_TRUE(r1.keep_alive);
  EXPECT_EQ(r2.status, 200);
  EXPECT_EQ(r3.status, 202);
  EXPECT_EQ(server_->Stats().connections_accepted, 1u);
  EXPECT_EQ(server_->Stats().requests, 3u);
}

TEST_F(HttpServerTest, ConnectionsPastTheLimitAreClosed) {
  StartServer({.max_connections = 2});
  auto c1 = std::make_unique<Client>(port());
  Client c2(port());
  ASSERT_EQ(c1->Send(bhttp::verb::get, "/healthz").status, 200);
  ASSERT_EQ(c2.Send(bhttp::verb::get, "/healthz").status, 200);

  Client c3(port());
  c3.WriteRaw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c3.ReadUntilClosed(), "") << "closed without an answer";
  EXPECT_EQ(server_->Stats().connections_rejected, 1u);

  // A slot that frees up is taken again.
  c1.reset();
  WaitForActiveConnections(1);
  Client c4(port());
  EXPECT_EQ(c4.Send(bhttp::verb::get, "/healthz").status, 200);
  EXPECT_EQ(server_->Stats().connections_rejected, 1u);
}

TEST_F(HttpServerTest, AdminRoutesAnswerWithTheProvidersTextAndReadyzFlips) {
  StartServer();
  Client c(port());
  Reply r = c.Send(bhttp::verb::get, "/api/v1/gateway/backpressure");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"state":"normal"})");
  r = c.Send(bhttp::verb::get, "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain; version=0.0.4", 0), 0u) << r.content_type;
  EXPECT_EQ(r.body, "gridgate_up 1\n");
  r = c.Send(bhttp::verb::get, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(c.Send(bhttp::verb::get, "/readyz").status, 503);
  ready_ = true;
  EXPECT_EQ(c.Send(bhttp::verb::get, "/readyz").status, 200);
  EXPECT_EQ(c.Send(bhttp::verb::get, "/readyz?verbose=1").status, 200) << "the query is ignored";
}

TEST_F(HttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  StartServer();
  Client c(port());
  const std::string body = Ev("over_voltage", "M1");
  c.WriteRaw(
      "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Expect: 100-continue\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  EXPECT_EQ(c.Read().status, 100);
  c.WriteRaw(body);
  EXPECT_EQ(c.Read().status, 202);
}

TEST_F(HttpServerTest, AnIdleConnectionIsClosed) {
  StartServer({.idle_timeout_ms = 20});
  Client c(port());
  EXPECT_EQ(c.ReadUntilClosed(), "");
  WaitForActiveConnections(0);
}

TEST_F(HttpServerTest, GarbageNeverCrashesTheServerAndItStillServes) {
  using namespace std::string_literals;
  StartServer({.max_body_bytes = 4096, .max_header_bytes = 2048});
  std::vector<std::string> corpus = {
      "GARBAGE\r\n\r\n",
      "\r\n\r\n",
      "GET\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n",  // truncated, then the client closes
      "POST /api/v1/events HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST /api/v1/events HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "POST /api/v1/events HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "POST /api/v1/events HTTP/1.1\r\nContent-Length: 10\r\nContent-Length: 11\r\n\r\n",
      "POST /api/v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: application/json\r\n\r\nZZ\r\nxx\r\n0\r\n\r\n",
      "POST /api/v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: application/json\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n",
      "POST /api/v1/events HTTP/1.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 12\r\n\r\n{\"a\":\"\xff\xfe\x00\x01\"}"s,
      "GET /" + std::string(4000, 'a') + " HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nX-Big: " + std::string(100'000, 'b') + "\r\n\r\n",
      std::string("\x00\x01\x02\x03\xff\xfe\r\n\r\n", 10),
      "POST /api/v1/events HTTP/1.1\r\nContent-Type: application/x-ndjson\r\n"
      "Content-Length: 6\r\n\r\n\x00\x00\x00\x00\x00\n"s,
  };
  std::string binary;
  for (int i = 0; i < 5000; ++i) {
    binary.push_back(static_cast<char>((i * 7919) & 0xff));
  }
  corpus.push_back(binary);

  for (size_t i = 0; i < corpus.size(); ++i) {
    Client c(port());
    c.WriteRaw(corpus[i]);
    c.ShutdownSend();
    const std::string answer = c.ReadUntilClosed();
    if (!answer.empty()) {
      EXPECT_EQ(answer.rfind("HTTP/1.1 ", 0), 0u) << "case " << i << ": " << answer;
      EXPECT_EQ(answer.find("HTTP/1.1 5"), std::string::npos) << "case " << i << ": " << answer;
    }
    if (i == 14) {
      EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << "huge header: " << answer;
    }
  }
  EXPECT_GT(server_->Stats().bad_requests, 0u);

  Client good(port());
  EXPECT_EQ(good.Post("application/json", Ev("over_voltage", "OK")).status, 202);
  const std::vector<Popped> events = PopAll();
  ASSERT_EQ(events.size(), 1u) << "no garbage was taken as an event";
  EXPECT_EQ(events[0].meter_id, "OK");
}

TEST(HttpServerCreateTest, RefusesABadHostAndAPortInUse) {
  asio::io_context io;
  EXPECT_EQ(HttpServer::Create(&io, {.host = "not-an-ip"}).status().code(),
            Status::Code::kInvalidArgument);
  auto first = HttpServer::Create(&io, {.host = "127.0.0.1", .port = 0});
  ASSERT_TRUE(first.ok());
  auto second = HttpServer::Create(&io, {.host = "127.0.0.1", .port = first.value()->port()});
  EXPECT_EQ(second.status().code(), Status::Code::kIoError);
}

}  // namespace
}  // namespace gridgate::ingest::http
