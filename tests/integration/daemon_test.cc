// Starts the real gridgate binary on loopback ephemeral ports and talks to it
// over HTTP and TCP, as a head-end and an operator would.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_webhook.h"
#include "fakes/json_check.h"
#include "fakes/temp_dir.h"

namespace gridgate {
namespace {

struct Ports {
  int http = 0;
  int tcp = 0;
  int admin = 0;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int JsonInt(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) {
    return -1;
  }
  return std::atoi(json.c_str() + at + key.size() + 3);
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One HTTP/1.1 request with Connection: close; the whole reply.
std::string Http(int port, const std::string& method, const std::string& path,
                 const std::string& content_type = "", const std::string& body = "") {
  const int fd = Connect(port);
  if (fd < 0) {
    return "";
  }
  std::string request =
      method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!content_type.empty()) {
    request += "Content-Type: " + content_type + "\r\n";
  }
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)!write(fd, request.data(), request.size());
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

int StatusOf(const std::string& reply) {
  return reply.size() > 12 ? std::atoi(reply.c_str() + 9) : 0;
}

std::string BodyOf(const std::string& reply) {
  const size_t at = reply.find("\r\n\r\n");
  return at == std::string::npos ? "" : reply.substr(at + 4);
}

std::string Event(const std::string& type, const std::string& meter) {
  return R"({"source":"hes-east-01","meter_id":")" + meter + R"(","type":")" + type +
         R"(","device_time":"2026-07-08T14:03:40.100Z"})";
}

class DaemonTest : public ::testing::Test {
 protected:
  // Starts gridgate with `extra` --set overrides; waits for its ports file.
  void Start(const std::vector<std::string>& extra = {}) {
    std::filesystem::remove(ports_file());
    std::vector<std::string> args = {GRIDGATE_BINARY,
                                     "--set",
                                     "http.listen=127.0.0.1:0",
                                     "--set",
                                     "tcp.listen=127.0.0.1:0",
                                     "--set",
                                     "admin.listen=127.0.0.1:0",
                                     "--set",
                                     "spill.dir=" + dir_.Sub("spill"),
                                     "--set",
                                     "sink.file.path=" + sink_path(),
                                     "--set",
                                     "log.level=warn",
                                     "--ports-file",
                                     ports_file()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) {
        argv.push_back(a.data());
      }
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    // A hang guard, not a speed limit: the daemon starts in milliseconds.
    for (int i = 0; i < 3000 && ReadFile(ports_file()).find('}') == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const std::string ports = ReadFile(ports_file());
    ASSERT_NE(ports.find('}'), std::string::npos) << "gridgate did not start";
    ports_ = Ports{JsonInt(ports, "http"), JsonInt(ports, "tcp"), JsonInt(ports, "admin")};
  }

  // SIGTERM; the exit status.
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Waits until the sink file holds `n` lines; its lines.
  std::vector<std::string> SinkLines(size_t n) {
    std::vector<std::string> lines;
    for (int i = 0; i < 3000; ++i) {
      lines.clear();
      std::istringstream in(ReadFile(sink_path()));
      for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
      }
      if (lines.size() >= n) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return lines;
  }

  std::string ports_file() const { return dir_.Sub("ports.json"); }
  std::string sink_path() const { return dir_.Sub("events.ndjson"); }

  testing::TempDir dir_;
  pid_t pid_ = -1;
  Ports ports_;
};

TEST_F(DaemonTest, AnEventSentOverHttpIsDeliveredAndCounted) {
  Start();
  const std::string reply = Http(ports_.http, "POST", "/api/v1/events", "application/json",
                                 Event("over_voltage", "1ND785727916NMD06"));
  ASSERT_EQ(StatusOf(reply), 202) << reply;
  const auto lines = SinkLines(1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("\"gateway_priority\":\"critical\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"meter_id\":\"1ND785727916NMD06\""), std::string::npos);

  const std::string bp = BodyOf(Http(ports_.admin, "GET", "/api/v1/gateway/backpressure"));
  EXPECT_NE(bp.find("\"balanced\": true"), std::string::npos) << bp;
  const std::string metrics = BodyOf(Http(ports_.admin, "GET", "/metrics"));
  EXPECT_NE(metrics.find("gridgate_events_delivered_total{priority=\"critical\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(StatusOf(Http(ports_.admin, "GET", "/healthz")), 200);
  EXPECT_EQ(Stop(), 0);
}

TEST_F(DaemonTest, BadEventsInABatchAreRefusedAloneOverHttpAndTcp) {
  Start();
  const std::string body = Event("interval_reading", "M1") + "\n" + R"({"type":"x"})" + "\n" +
                           Event("last_gasp", "M3") + "\n";
  const std::string reply =
      Http(ports_.http, "POST", "/api/v1/events", "application/x-ndjson", body);
  ASSERT_EQ(StatusOf(reply), 207) << reply;
  EXPECT_NE(BodyOf(reply).find("\"index\":1,\"line\":2,\"reason\":\"invalid: source: missing\""),
            std::string::npos)
      << reply;

  const int fd = Connect(ports_.tcp);
  ASSERT_GE(fd, 0);
  const std::string lines = Event("power_restored", "T1") + "\nnot json\n";
  ASSERT_EQ(write(fd, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  std::string acks;
  char buf[1024];
  while (acks.find("\"ack\":2") == std::string::npos) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    ASSERT_GT(n, 0) << acks;
    acks.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  EXPECT_NE(acks.find("\"nack\":2"), std::string::npos) << acks;
  EXPECT_EQ(SinkLines(3).size(), 3u);
  EXPECT_EQ(Stop(), 0);
}

TEST_F(DaemonTest, InvalidConfigurationNamesTheKeyAndExitsTwo) {
  const std::string cmd = std::string(GRIDGATE_BINARY) +
                          " --set memory.budget_bytes=0 --print-config 2>&1; echo \"exit=$?\"";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) {
    out += buf;
  }
  pclose(p);
  EXPECT_NE(out.find("budget_bytes"), std::string::npos) << out;
  EXPECT_NE(out.find("exit=2"), std::string::npos) << out;
}

TEST_F(DaemonTest, SigtermDuringAnOutageKeepsTheBacklogForTheNextStart) {
  // The sink cannot write: its path is a directory.
  std::filesystem::create_directories(sink_path());
  Start();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(StatusOf(Http(ports_.http, "POST", "/api/v1/events", "application/json",
                            Event("register_read", "M" + std::to_string(i)))),
              202);
  }
  EXPECT_EQ(Stop(), 0) << "SIGTERM flushes and exits 0";
  std::filesystem::remove_all(sink_path());
  Start();
  const auto lines = SinkLines(20);
  EXPECT_EQ(lines.size(), 20u) << "every event of the outage is delivered after the restart";
  EXPECT_EQ(Stop(), 0);
}

TEST_F(DaemonTest, UnderABacklogTheSinkGetsAlertsFirstAndTheEndpointAgreesWithWhatWasSent) {
  // The sink cannot write until the test lets it: its path is a directory.
  std::filesystem::create_directories(sink_path());
  Start({"--set", "dispatch.backoff_initial_ms=20", "--set", "dispatch.backoff_max_ms=50"});
  std::string body;
  for (int i = 0; i < 40; ++i) {
    body += Event("interval_reading", "L" + std::to_string(i)) + "\n";
  }
  ASSERT_EQ(StatusOf(Http(ports_.http, "POST", "/api/v1/events", "application/x-ndjson", body)),
            202);
  body.clear();
  for (int i = 0; i < 5; ++i) {
    body += Event("last_gasp", "C" + std::to_string(i)) + "\n";
  }
  body += Event("power_restored", "H0") + "\n" + R"({"meter_id":"bad"})" + "\n";
  ASSERT_EQ(StatusOf(Http(ports_.http, "POST", "/api/v1/events", "application/x-ndjson", body)),
            207);

  // What the operator sees matches what was sent.
  const std::string bp = BodyOf(Http(ports_.admin, "GET", "/api/v1/gateway/backpressure"));
  std::string error;
  const auto doc = testing::JsonCheck::Parse(bp, &error);
  ASSERT_TRUE(doc.has_value()) << error << "\n" << bp;
  auto number = [&](const char* path) {
    const testing::JsonNode* n = doc->Find(path);
    return n == nullptr ? -1 : std::atoll(n->text.c_str());
  };
  EXPECT_EQ(number("levels.critical.accepted"), 5);
  EXPECT_EQ(number("levels.high.accepted"), 1);
  EXPECT_EQ(number("levels.low.accepted"), 40);
  EXPECT_EQ(number("levels.critical.delivered"), 0);
  EXPECT_EQ(number("ledger.accepted"), 46);
  EXPECT_EQ(number("ledger.refused"), 0) << "the filter never saw the malformed event";
  EXPECT_EQ(number("ingest.invalid_events"), 1) << "the decoder refused and counted it";
  EXPECT_EQ(number("ingest.events"), 47);
  EXPECT_EQ(number("ingest.requests"), 2);
  EXPECT_EQ(number("ledger.delivered"), 0);
  EXPECT_EQ(number("ledger.queued") + number("ledger.in_flight") + number("ledger.on_disk"), 46);
  ASSERT_NE(doc->Find("ledger.balanced"), nullptr);
  EXPECT_TRUE(doc->Find("ledger.balanced")->boolean);

  // The sink comes back: the alerts go first, then high, then the readings.
  std::filesystem::remove_all(sink_path());
  const auto lines = SinkLines(46);
  ASSERT_EQ(lines.size(), 46u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_NE(lines[i].find("\"gateway_priority\":\"critical\""), std::string::npos) << lines[i];
    EXPECT_NE(lines[i].find("\"meter_id\":\"C" + std::to_string(i) + "\""), std::string::npos);
  }
  EXPECT_NE(lines[5].find("\"gateway_priority\":\"high\""), std::string::npos) << lines[5];
  for (int i = 0; i < 40; ++i) {
    EXPECT_NE(lines[6 + i].find("\"meter_id\":\"L" + std::to_string(i) + "\""), std::string::npos)
        << "readings in the order sent";
  }
  EXPECT_EQ(Stop(), 0);
}

TEST_F(DaemonTest, AWebhookThatFailsForAWhileGetsEverythingAfterwards) {
  testing::FakeWebhook webhook;
  constexpr int kFailures = 3;
  webhook.FailFirst(kFailures, 503);
  Start({"--set", "sink.type=http", "--set", "sink.http.url=" + webhook.url(), "--set",
         "dispatch.backoff_initial_ms=20", "--set", "dispatch.backoff_max_ms=100"});
  for (int r = 0; r < 5; ++r) {
    std::string body;
    for (int i = 0; i < 10; ++i) {
      body += Event(i % 5 == 0 ? "last_gasp" : "register_read", "W" + std::to_string(r * 10 + i)) +
              "\n";
    }
    ASSERT_EQ(StatusOf(Http(ports_.http, "POST", "/api/v1/events", "application/x-ndjson", body)),
              202);
  }

  // What the webhook took (2xx): gateway_seq and meter of every line.
  std::set<std::string> seqs;
  std::set<std::string> meters;
  auto collect = [&] {
    seqs.clear();
    meters.clear();
    for (const std::string& body : webhook.accepted_bodies()) {
      std::istringstream in(body);
      for (std::string line; std::getline(in, line);) {
        std::string error;
        const auto json = testing::JsonCheck::Parse(line, &error);
        ASSERT_TRUE(json.has_value()) << error << " in " << line;
        ASSERT_NE(json->Find("gateway_seq"), nullptr) << line;
        ASSERT_NE(json->Find("meter_id"), nullptr) << line;
        seqs.insert(json->Find("gateway_seq")->text);
        meters.insert(json->Find("meter_id")->text);
      }
    }
  };
  // A hang guard, not a speed limit.
  for (int i = 0; i < 6000; ++i) {
    collect();
    if (seqs.size() >= 50 || HasFatalFailure()) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(seqs.size(), 50u) << "50 distinct gateway_seq values (repeats allowed, none missing)";
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(meters.count("W" + std::to_string(i)), 1u) << "event W" << i << " never arrived";
  }
  int refused = 0;
  for (const auto& request : webhook.requests()) {
    refused += request.status == 503 ? 1 : 0;
    EXPECT_EQ(request.content_type, "application/x-ndjson");
  }
  EXPECT_EQ(refused, kFailures) << "the sink met the outage and retried";
  EXPECT_EQ(Stop(), 0);
}

}  // namespace
}  // namespace gridgate
