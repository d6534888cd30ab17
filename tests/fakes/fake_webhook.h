#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/http/http_server.h"

namespace gridgate::testing {

// A webhook for tests of the http sink: gridgate's own HttpServer on
// 127.0.0.1, run by an io_context on a thread of its own. `POST /hook` is
// answered with the status the test chose (200 unless told otherwise), or held
// until Release() while stalled; every request is recorded with the status it
// got.
//
// Thread-safe: the test thread configures and reads it while the network
// thread answers. The destructor releases a stalled request, stops the server
// and joins its thread.
class FakeWebhook {
 public:
  struct Request {
    int status = 0;  // what it was answered with
    std::string content_type;
    std::string body;
  };

  // Listens on `port` (0: a free one); `idle_timeout_ms` closes idle
  // keep-alive connections. Fails the test if the port cannot be bound.
  explicit FakeWebhook(uint16_t port = 0, uint32_t idle_timeout_ms = 30'000) {
    ingest::http::HttpServerOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.idle_timeout_ms = idle_timeout_ms;
    auto server = ingest::http::HttpServer::Create(&io_, options);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) {
      return;
    }
    server_ = std::move(server).value();
    server_->Route("POST", "/hook",
                   [this](const ingest::http::HttpRequest& req) { return Answer(req); });
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~FakeWebhook() {
    Release();
    if (server_ != nullptr) {
      server_->Stop();
    }
    if (thread_.joinable()) {
      thread_.join();  // run() returns once the listener and every connection closed
    }
  }

  FakeWebhook(const FakeWebhook&) = delete;
  FakeWebhook& operator=(const FakeWebhook&) = delete;

  uint16_t port() const { return server_ == nullptr ? 0 : server_->port(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/hook"; }

  // Every request from now on gets `status` (after the FailFirst ones).
  void AnswerWith(int status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }

  // The next `n` requests get `failure`, the later ones the AnswerWith status.
  void FailFirst(int n, int failure) {
    std::lock_guard lock(mu_);
    failures_left_ = n;
    failure_status_ = failure;
  }

  // Requests from now on wait (holding the server's only thread) until
  // Release().
  void Stall() {
    std::lock_guard lock(mu_);
    stalled_ = true;
  }

  void Release() {
    {
      std::lock_guard lock(mu_);
      stalled_ = false;
    }
    cv_.notify_all();
  }

  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

  // The bodies of the requests answered with a 2xx status, in order.
  std::vector<std::string> accepted_bodies() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> bodies;
    for (const Request& r : requests_) {
      if (r.status >= 200 && r.status < 300) {
        bodies.push_back(r.body);
      }
    }
    return bodies;
  }

  ingest::http::HttpServerStats stats() const {
    return server_ == nullptr ? ingest::http::HttpServerStats{} : server_->Stats();
  }

 private:
  ingest::http::HttpReply Answer(const ingest::http::HttpRequest& req) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !stalled_; });
    int status = status_;
    if (failures_left_ > 0) {
      --failures_left_;
      status = failure_status_;
    }
    requests_.push_back(Request{status, req.content_type, req.body});
    ingest::http::HttpReply reply;
    reply.status = status;
    if (status != 204 && status != 304) {  // those two carry no body
      reply.body = "{\"status\":" + std::to_string(status) + "}";
    }
    return reply;
  }

  boost::asio::io_context io_;
  std::unique_ptr<ingest::http::HttpServer> server_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  int status_ = 200;
  int failures_left_ = 0;
  int failure_status_ = 503;
  bool stalled_ = false;
  std::vector<Request> requests_;
};

}  // namespace gridgate::testing
