#pragma once

// The NDJSON-over-TCP ingest source, on Boost.Asio. Asio stays inside
// tcp_server.cc. The wire protocol (framing, line numbers, acks and nacks) is
// docs/tcp-ack-protocol.md; this header is its implementation's surface.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "common/status.h"
#include "ingest/ingest_pipeline.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace gridgate::ingest::tcp {

struct TcpServerOptions {
  // A numeric IPv4 or IPv6 address to listen on.
  std::string host = "127.0.0.1";
  // 0: the OS picks a free port; TcpServer::port() tells which.
  uint16_t port = 0;
  // The longest line, in bytes before its '\n' (a '\r' before the '\n'
  // counts). A longer line is nacked with "line too long" and skipped up to its
  // newline without being buffered. At least 2.
  size_t max_line_bytes = 8192;
  // Connections beyond this many are closed right after accept (with one
  // line, {"error":"too many connections"}, sent best-effort), and counted.
  // At least 1.
  size_t max_connections = 1024;
  // A connection that sends nothing for this long is closed. 0: never.
  uint32_t idle_timeout_ms = 300'000;
  // Ack and nack bytes queued for one connection that its sender has not read
  // yet. Past this, the connection gets one last line {"acks_stopped":N} and
  // no more acks, while its events are still processed (see the protocol
  // document). At least 64.
  size_t max_pending_ack_bytes = size_t{1} << 20;
  // The read buffer of a connection: one read yields at most this many bytes,
  // and the complete lines in them are one batch. Raised to max_line_bytes + 1
  // when smaller.
  size_t read_buffer_bytes = size_t{64} << 10;
};

// Counters, as of one moment (each read on its own: they may be slightly out
// of step with each other).
struct TcpServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;      // over max_connections
  uint64_t connections_idle_closed = 0;  // closed by idle_timeout_ms
  uint64_t connections_active = 0;
  uint64_t bytes_received = 0;
  uint64_t lines = 0;            // lines received, blank ones included
  uint64_t batches = 0;          // IngestPipeline::Ingest calls
  uint64_t events_accepted = 0;  // queued or spilled
  uint64_t events_refused = 0;   // nacked, for any reason (too-long lines included)
  uint64_t lines_too_long = 0;
  uint64_t acks_dropped = 0;              // ack and nack lines not sent for max_pending_ack_bytes
  uint64_t connections_acks_stopped = 0;  // connections that hit max_pending_ack_bytes
};

// Listens on one address and feeds every connection's NDJSON lines through an
// IngestPipeline, one batch per network read, answering with cumulative acks
// and per-line nacks on the same connection. It never stops reading a
// connection because of pressure: the filter decides per event, so a critical
// event behind refused readings still gets in.
//
// Threading: every connection's work runs on the thread that runs `io` (the
// io_context must be run by exactly one thread, since the pipeline is not
// thread-safe). Stats() and Stop() may be called from any thread.
//
// Lifetimes: `io` must outlive the server. To shut down: Stop(), then let
// io.run() return (it does once the server's last handler has finished, if
// nothing else keeps `io` busy), then destroy the server, before `io`.
class TcpServer {
 public:
  // Opens, binds and listens (nothing is accepted before Start). The server
  // owns `pipeline`. InvalidArgument for unusable options or an address that
  // is not numeric; IoError when the address cannot be bound (in use, no
  // permission).
  static Result<std::unique_ptr<TcpServer>> Create(boost::asio::io_context* io,
                                                   const TcpServerOptions& options,
                                                   std::unique_ptr<IngestPipeline> pipeline);
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Starts accepting, on the io_context's thread. Call once.
  void Start();
  // Stops accepting and closes every connection (pending acks are dropped).
  // Asynchronous: it runs on the io_context's thread. Idempotent.
  void Stop();

  // The port actually bound (the OS's pick when options.port was 0).
  uint16_t port() const;
  TcpServerStats Stats() const;

 private:
  friend class Connection;  // tcp_server.cc: one accepted connection
  struct Impl;
  explicit TcpServer(std::shared_ptr<Impl> impl);

  std::shared_ptr<Impl> impl_;
};

}  // namespace gridgate::ingest::tcp
