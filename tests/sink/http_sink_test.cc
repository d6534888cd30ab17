#include "sink/http/http_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_webhook.h"
#include "sink/common/delivered_format.h"
#include "sink/sink_test_util.h"

namespace gridgate::sink {
namespace {

using gridgate::testing::FakeWebhook;

std::unique_ptr<HttpSink> MakeSink(const std::string& url, uint32_t timeout_ms = 5000) {
  auto sink = HttpSink::Create(HttpSinkOptions{url, timeout_ms});
  EXPECT_TRUE(sink.ok()) << sink.status().ToString();
  return sink.ok() ? std::move(sink).value() : nullptr;
}

std::string BatchBytes(const filter::PopBatch& batch) {
  std::string out;
  for (size_t i = 0; i < batch.size(); ++i) {
    AppendDeliveredLine(batch.event(i), &out);
  }
  return out;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(HttpSinkTest, ABatchArrivesAsOneNdjsonBodyWithTheGatewayFields) {
  FakeWebhook webhook;
  auto sink = MakeSink(webhook.url());
  ASSERT_NE(sink, nullptr);
  BatchSource source;
  const filter::PopBatch& batch = source.Next(3, 100, Priority::kHigh);

  ASSERT_TRUE(sink->Deliver(batch).ok());

  const auto requests = webhook.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].content_type, "application/x-ndjson");
  EXPECT_EQ(requests[0].body, BatchBytes(batch));
  const auto lines = Lines(requests[0].body);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(SeqOfLine(lines[i]), batch.event(i).seq.value);
    EXPECT_TRUE(Contains(lines[i], "\"gateway_ingest_time\":\"2026-07-08T14:03:41.020Z\""))
        << lines[i];
    EXPECT_TRUE(Contains(lines[i], "\"gateway_priority\":\"high\"")) << lines[i];
    EXPECT_TRUE(Contains(lines[i], "\"id\":" + std::to_string(i))) << lines[i];
  }
  EXPECT_EQ(sink->name(), "http");
}

TEST(HttpSinkTest, AStatusOtherThan2xxIsAnErrorNamingIt) {
  FakeWebhook webhook;
  auto sink = MakeSink(webhook.url());
  ASSERT_NE(sink, nullptr);
  BatchSource source;
  for (const int status : {500, 503, 404, 302}) {
    webhook.AnswerWith(status);
    const Status s = sink->Deliver(source.Next(1));
    EXPECT_EQ(s.code(), Status::Code::kUnavailable) << status << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "HTTP " + std::to_string(status))) << s.ToString();
  }
  webhook.AnswerWith(204);
  EXPECT_TRUE(sink->Deliver(source.Next(1)).ok()) << "any 2xx is the ack";
  EXPECT_EQ(webhook.requests().size(), 5u);
}

TEST(HttpSinkTest, AStalledWebhookTimesOutAndTheNextRequestWorks) {
  FakeWebhook webhook;
  auto sink = MakeSink(webhook.url(), /*timeout_ms=*/200);
  ASSERT_NE(sink, nullptr);
  BatchSource source;
  ASSERT_TRUE(sink->Deliver(source.Next(1)).ok());

  webhook.Stall();  // holds the request until Release(): longer than the timeout, whatever it is
  const Status s = sink->Deliver(source.Next(2));
  webhook.Release();
  EXPECT_EQ(s.code(), Status::Code::kIoError) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "timed out after 200 ms")) << s.ToString();

  const filter::PopBatch& next = source.Next(2);
  ASSERT_TRUE(sink->Deliver(next).ok());
  EXPECT_EQ(webhook.accepted_bodies().back(), BatchBytes(next));
  EXPECT_EQ(sink->connections_opened(), 2u) << "the timed-out connection is not reused";
}

TEST(HttpSinkTest, AWebhookThatIsDownIsAnErrorAndTheSinkReconnectsWhenItIsBack) {
  auto webhook = std::make_unique<FakeWebhook>();
  const uint16_t port = webhook->port();
  auto sink = MakeSink(webhook->url());
  ASSERT_NE(sink, nullptr);
  BatchSource source;
  ASSERT_TRUE(sink->Deliver(source.Next(1)).ok());

  webhook.reset();  // its port now refuses connections
  for (int i = 0; i < 2; ++i) {
    const Status s = sink->Deliver(source.Next(1));
    EXPECT_EQ(s.code(), Status::Code::kIoError) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "connect")) << s.ToString();
  }

  webhook = std::make_unique<FakeWebhook>(port);
  ASSERT_EQ(webhook->port(), port);
  const filter::PopBatch& batch = source.Next(4);
  ASSERT_TRUE(sink->Deliver(batch).ok());
  ASSERT_EQ(webhook->accepted_bodies().size(), 1u);
  EXPECT_EQ(webhook->accepted_bodies()[0], BatchBytes(batch));
}

TEST(HttpSinkTest, NothingListeningIsAnError) {
  uint16_t port = 0;
  {
    FakeWebhook webhook;
    port = webhook.port();
  }
  auto sink = MakeSink("http://127.0.0.1:" + std::to_string(port) + "/hook");
  ASSERT_NE(sink, nullptr);
  BatchSource source;
  const Status s = sink->Deliver(source.Next(1));
  EXPECT_EQ(s.code(), Status::Code::kIoError) << s.ToString();
  EXPECT_EQ(sink->connections_opened(), 0u);
}

TEST(HttpSinkTest, OneKeptAliveConnectionCarriesManyBatches) {
  FakeWebhook webhook;
  auto sink = MakeSink(webhook.url());
  ASSERT_NE(sink, nullptr);
  BatchSource source;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(sink->Deliver(source.Next(2)).ok());
  }
  webhook.AnswerWith(500);
  EXPECT_FALSE(sink->Deliver(source.Next(2)).ok());
  webhook.AnswerWith(200);
  ASSERT_TRUE(sink->Deliver(source.Next(2)).ok());

  EXPECT_EQ(webhook.requests().size(), 7u);
  EXPECT_EQ(webhook.stats().connections_accepted, 1u);
  EXPECT_EQ(sink->connections_opened(), 1u);
}

TEST(HttpSinkTest, AConnectionTheWebhookClosedWhileIdleIsReplacedWithoutAnError) {
  FakeWebhook webhook(/*port=*/0, /*idle_timeout_ms=*/20);
  auto sink = MakeSink(webhook.url());
  ASSERT_NE(sink, nullptr);
  BatchSource source;
  ASSERT_TRUE(sink->Deliver(source.Next(1)).ok());
  // A hang guard, not a speed limit: the server closes the idle connection.
  for (int i = 0; i < 6000 && webhook.stats().connections_active != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(webhook.stats().connections_active, 0u);

  const filter::PopBatch& batch = source.Next(3);
  const Status s = sink->Deliver(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink->connections_opened(), 2u);
  EXPECT_EQ(webhook.accepted_bodies().back(), BatchBytes(batch));
}

TEST(HttpSinkTest, InvalidUrlsAreRefusedAtCreate) {
  for (const std::string url :
       {"", "127.0.0.1:80/hook", "ftp://127.0.0.1/hook", "http://", "http:///hook",
        "http://example.com/hook", "http://127.0.0.1:0/hook", "http://127.0.0.1:65536/",
        "http://127.0.0.1:x/", "http://127.0.0.1:/", "http://::1/hook", "http://[::1/hook",
        "http://[127.0.0.1]/", "http://user@127.0.0.1/", "http://127.0.0.1/a b",
        "http://127.0.0.1/hook#frag", "http://300.1.1.1/"}) {
    auto sink = HttpSink::Create(HttpSinkOptions{url, 1000});
    ASSERT_FALSE(sink.ok()) << url;
    EXPECT_EQ(sink.status().code(), Status::Code::kInvalidArgument) << url;
    EXPECT_TRUE(Contains(sink.status().message(), "sink.http.url")) << sink.status().ToString();
  }
  auto https = HttpSink::Create(HttpSinkOptions{"https://127.0.0.1:8443/hook", 1000});
  ASSERT_FALSE(https.ok());
  EXPECT_TRUE(Contains(https.status().message(), "https")) << https.status().ToString();
  EXPECT_TRUE(Contains(https.status().message(), "TLS")) << https.status().ToString();

  auto no_timeout = HttpSink::Create(HttpSinkOptions{"http://127.0.0.1:8080/hook", 0});
  ASSERT_FALSE(no_timeout.ok());
  EXPECT_TRUE(Contains(no_timeout.status().message(), "sink.http.timeout_ms"));
}

TEST(HttpSinkTest, ValidUrlsParseToAddressPortAndTarget) {
  auto a = ParseHttpSinkUrl("http://localhost");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a.value().address, "127.0.0.1");
  EXPECT_EQ(a.value().port, 80);
  EXPECT_EQ(a.value().target, "/");

  auto b = ParseHttpSinkUrl("http://[::1]:9000/a/b?x=1");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b.value().address, "::1");
  EXPECT_EQ(b.value().port, 9000);
  EXPECT_EQ(b.value().target, "/a/b?x=1");

  auto c = ParseHttpSinkUrl("http://10.0.0.7:8080?k=v");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c.value().address, "10.0.0.7");
  EXPECT_EQ(c.value().target, "/?k=v");
}

}  // namespace
}  // namespace gridgate::sink
