#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "filter/pop_batch.h"
#include "sink/sink.h"

namespace gridgate::sink {

struct HttpSinkOptions {
  // The webhook: http://HOST[:PORT][/PATH[?QUERY]]. HOST is a numeric IPv4
  // address, an IPv6 address in brackets ("[::1]"), or "localhost"
  // (127.0.0.1); no name lookup. PORT defaults to 80, PATH to "/". https:// is
  // refused: this build has no TLS library.
  std::string url;

  // The whole of one request (connect, send, read the reply) must finish
  // within this. At least 1.
  uint32_t timeout_ms = 5000;
};

// Where a webhook URL points, as HttpSink::Create parsed it.
struct HttpSinkTarget {
  std::string host;     // as written, without brackets: "127.0.0.1", "::1", "localhost"
  std::string address;  // numeric, for connect: "127.0.0.1" for "localhost"
  uint16_t port = 80;
  std::string target;  // request target: "/hook", "/hook?x=1", "/"
};

// Parses `url` as HttpSinkOptions describes it. InvalidArgument naming
// `sink.http.url` otherwise.
Result<HttpSinkTarget> ParseHttpSinkUrl(std::string_view url);

// Posts each batch to a webhook as one HTTP/1.1 request:
//
//   POST /hook HTTP/1.1
//   Content-Type: application/x-ndjson
//
//   <the batch's delivered lines (sink/common/delivered_format.h)>
//
// A 2xx reply is the ack. Anything else is an error and the dispatcher
// retries the batch with back-off: another status (3xx redirects are not
// followed) is Unavailable naming the status; a refused or reset connection,
// a timeout, or a malformed reply is IoError with the cause.
//
// The connection is kept alive between batches and opened again after any
// error, after a reply that asks to close it, or when the peer has closed it
// while idle: a request that fails on a reused connection before any byte of
// a reply arrives is sent once more on a fresh connection, within the same
// timeout (the webhook may then see that batch twice, as at-least-once
// allows).
//
// Synchronous: Deliver blocks the calling thread, the dispatcher's, for at
// most timeout_ms, running a private io_context. Connects nothing in Create.
//
// Owned by the dispatcher thread (Deliver is not thread-safe).
class HttpSink final : public Sink {
 public:
  // InvalidArgument naming `sink.http.url` or `sink.http.timeout_ms`.
  static Result<std::unique_ptr<HttpSink>> Create(HttpSinkOptions options);

  ~HttpSink() override;
  HttpSink(const HttpSink&) = delete;
  HttpSink& operator=(const HttpSink&) = delete;

  // OK once the webhook answered the batch's POST with a 2xx status.
  Status Deliver(const filter::PopBatch& batch) override;

  std::string_view name() const override { return "http"; }

  // Connections opened so far (for tests and logs).
  uint64_t connections_opened() const { return connections_opened_; }

 private:
  struct Connection;  // Asio and Beast state, in http_sink.cc

  HttpSink(HttpSinkOptions options, HttpSinkTarget target);

  // One request with body_, on the open connection or a new one, finishing
  // by `deadline`. Closes the connection on any error, and sets `*stale` when
  // the error means a reused connection had been closed by the peer (nothing
  // of a reply arrived), so that a fresh connection may be tried.
  Status Post(std::chrono::steady_clock::time_point deadline, bool* stale);
  void Close();

  const HttpSinkOptions options_;
  const HttpSinkTarget target_;
  std::unique_ptr<Connection> conn_;
  std::string body_;  // the batch's bytes, reused across batches
  uint64_t connections_opened_ = 0;
};

}  // namespace gridgate::sink
