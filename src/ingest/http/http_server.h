#pragma once

// A small asynchronous HTTP/1.1 server for the ingest source and the admin API,
// on Boost.Asio + Boost.Beast. Beast stays inside http_server.cc: handlers see
// only the plain HttpRequest and HttpReply below, so code that answers a
// request builds without Beast.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace gridgate::ingest::http {

// One request, as a handler sees it. The body is complete (the server reads
// the whole message, up to max_body_bytes, before calling the handler).
struct HttpRequest {
  std::string method;        // "GET", "POST", ... as sent
  std::string target;        // the request target as sent: path and query
  std::string path;          // `target` up to the first '?'
  std::string content_type;  // the Content-Type header, or empty
  std::string body;
};

// A handler's answer. The server adds Content-Length, Server, and
// Connection as needed.
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Retry-After
};

// Called on the network thread (the one running the io_context), one request
// at a time. It must not block for long: every connection waits for it. An
// exception that escapes a handler is caught and answered with a 500.
using Handler = std::function<HttpReply(const HttpRequest&)>;

// A JSON error reply: {"error":"<message>"} with `status`.
HttpReply JsonError(int status, std::string_view message);

struct HttpServerOptions {
  // A numeric IPv4 or IPv6 address to listen on.
  std::string host = "127.0.0.1";
  // 0: the OS picks a free port; HttpServer::port() tells which.
  uint16_t port = 0;
  // Connections beyond this many are closed right after accept, and counted.
  size_t max_connections = 1024;
  // A request body larger than this is answered with 413 and the connection
  // closed.
  size_t max_body_bytes = size_t{16} << 20;
  // The request line and headers together; larger is a 431.
  size_t max_header_bytes = size_t{16} << 10;
  // A connection that sends nothing for this long (between or during requests)
  // or does not read its reply for this long is closed. At least 1.
  uint32_t idle_timeout_ms = 30'000;
};

// Counters, as of one moment (each read on its own: they may be slightly out
// of step with each other).
struct HttpServerStats {
  uint64_t requests = 0;  // replies sent, whatever their status
  uint64_t replies_2xx = 0;
  uint64_t replies_3xx = 0;
  uint64_t replies_4xx = 0;
  uint64_t replies_5xx = 0;
  uint64_t bad_requests = 0;  // malformed HTTP, answered with 400/431 and closed
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // closed at once: max_connections reached
  uint64_t connections_active = 0;
};

// The server. Routes are registered before Start(); then it accepts
// connections on the io_context it was given, keeps them alive between
// requests (HTTP/1.1 keep-alive), and calls the handler registered for the
// request's method and path: 404 for an unknown path, 405 (with Allow) for a
// path known under another method, both with JSON error bodies.
//
// Threads: all network work, and every handler call, happens on the thread(s)
// running the io_context; the daemon runs exactly one, so handlers need no
// locking of their own. Route() and Start() are called before that thread
// runs the io_context, or on it. Stop() and Stats() may be called from any
// thread.
//
// Lifetimes: the io_context must outlive the server. The server's state is
// shared with its open connections, so destroying the HttpServer while the
// io_context still runs is safe: it stops accepting and closes them.
class HttpServer {
 public:
  // Opens, binds and listens (so port() is known at once); accepts nothing
  // before Start(). InvalidArgument for a bad host or option; IoError when
  // the address cannot be bound (in use, no permission).
  static Result<std::unique_ptr<HttpServer>> Create(boost::asio::io_context* io,
                                                    const HttpServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Registers `handler` for `method` (exact, case-sensitive: "GET") on
  // `path` (exact, without query). A later registration of the same pair
  // replaces the earlier. Before Start() only.
  void Route(std::string method, std::string path, Handler handler);

  // Starts accepting. Call once.
  void Start();

  // Stops accepting and closes every connection, from the network thread
  // (posted to the io_context, so it takes effect once that runs). Idempotent.
  void Stop();

  // The bound port (the OS's choice when options.port was 0).
  uint16_t port() const { return port_; }

  HttpServerStats Stats() const;

  struct Core;  // the state shared with connections (http_server.cc)

 private:
  HttpServer(std::shared_ptr<Core> core, uint16_t port);

  const std::shared_ptr<Core> core_;
  const uint16_t port_;
};

}  // namespace gridgate::ingest::http
