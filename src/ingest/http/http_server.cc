#include "ingest/http/http_server.h"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>

#include "common/json_escape.h"

namespace gridgate::ingest::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace internal {
class Session;
}  // namespace internal

namespace {

// After an error reply that closes the connection, the rest of the request
// (an oversize body, say) may still be arriving. Closing a socket with unread
// data sends a reset, which can destroy the reply before the client reads it,
// so the server reads and discards for a while first (a "lingering close").
constexpr size_t kMaxLingerBytes = size_t{4} << 20;
constexpr uint32_t kMaxLingerMs = 2000;

// The wait before accepting again after an accept error (a full descriptor
// table, say), so that it does not spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

std::string ToString(beast::string_view s) { return std::string(s.data(), s.size()); }

}  // namespace

HttpReply JsonError(int status, std::string_view message) {
  HttpReply reply;
  reply.status = status;
  reply.content_type = "application/json";
  reply.body = "{\"error\":";
  AppendJsonString(message, &reply.body);
  reply.body += "}";
  return reply;
}

struct HttpServer::Core : public std::enable_shared_from_this<HttpServer::Core> {
  Core(asio::io_context& io_context, const HttpServerOptions& server_options)
      : io(io_context), options(server_options), acceptor(io_context), retry_timer(io_context) {}

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void StopOnNetworkThread();
  // Routing, and the catch of whatever a handler throws.
  HttpReply Handle(const HttpRequest& request) const;
  void CountReply(int status);

  asio::io_context& io;
  const HttpServerOptions options;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;

  // Written before Start(), read-only afterwards: path -> (method, handler).
  std::map<std::string, std::vector<std::pair<std::string, Handler>>, std::less<>> routes;

  // Network thread only.
  std::unordered_map<uint64_t, std::weak_ptr<internal::Session>> sessions;
  uint64_t next_session_id = 1;
  bool stopped = false;

  // Set by the first Stop(), so that later calls (the destructor's) post
  // nothing more to an io_context that may have stopped running.
  std::atomic<bool> stop_posted{false};

  std::atomic<uint64_t> requests{0};
  std::array<std::atomic<uint64_t>, 6> replies_by_class{};  // index: status / 100
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> connections_active{0};
};

namespace internal {

// One connection: read a request, answer it, and again while the client
// keeps the connection alive. Owned by its pending asynchronous operation
// (shared_from_this); network thread only.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Core> core, uint64_t id)
      : stream_(std::move(socket)), core_(std::move(core)), id_(id) {
    core_->connections_active.fetch_add(1, std::memory_order_relaxed);
  }

  ~Session() {
    core_->sessions.erase(id_);
    core_->connections_active.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() { ReadHeader(); }

  // Ends the connection: pending operations complete with operation_aborted.
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  std::chrono::milliseconds IdleTimeout() const {
    return std::chrono::milliseconds(core_->options.idle_timeout_ms);
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(static_cast<uint64_t>(core_->options.max_body_bytes));
    parser_->header_limit(static_cast<uint32_t>(
        std::min<size_t>(core_->options.max_header_bytes, std::numeric_limits<uint32_t>::max())));
    stream_.expires_after(IdleTimeout());
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    const auto expect = parser_->get()[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      // curl and other clients wait for this before sending a large body.
      continue_ = {};
      continue_.version(11);
      continue_.result(bhttp::status::continue_);
      stream_.expires_after(IdleTimeout());
      bhttp::async_write(
          stream_, continue_,
          beast::bind_front_handler(&Session::OnContinueWritten, shared_from_this()));
      return;
    }
    ReadBody();
  }

  void OnContinueWritten(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      Close();
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(IdleTimeout());
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      OnReadError(ec);
      return;
    }
    try {
      Dispatch();
    } catch (const std::exception&) {
      // Allocation failure while building the request or the reply: this
      // connection ends, the server goes on.
      Close();
    }
  }

  // A read ended without a complete request.
  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      SendError(JsonError(413, "request body larger than " +
                                   std::to_string(core_->options.max_body_bytes) + " bytes"));
      return;
    }
    if (ec == bhttp::error::header_limit) {
      core_->bad_requests.fetch_add(1, std::memory_order_relaxed);
      SendError(JsonError(431, "request header larger than " +
                                   std::to_string(core_->options.max_header_bytes) + " bytes"));
      return;
    }
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) {
      // The client closed the connection, between requests or in the middle
      // of one: nobody is left to answer.
      Close();
      return;
    }
    if (ec.category() == beast::error_code(bhttp::error::bad_method).category()) {
      core_->bad_requests.fetch_add(1, std::memory_order_relaxed);
      SendError(JsonError(400, "malformed HTTP request: " + ec.message()));
      return;
    }
    // Timeout, reset, aborted by Stop().
    Close();
  }

  void Dispatch() {
    auto& req = parser_->get();
    HttpRequest request;
    request.method = ToString(req.method_string());
    request.target = ToString(req.target());
    request.path = request.target.substr(0, request.target.find('?'));
    request.content_type = ToString(req[bhttp::field::content_type]);
    request.body = std::move(req.body());
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    Send(core_->Handle(request), keep_alive, version);
  }

  // Answers and then closes the connection.
  void SendError(HttpReply reply) {
    try {
      Send(std::move(reply), /*keep_alive=*/false, 11);
    } catch (const std::exception&) {
      Close();
    }
  }

  void Send(HttpReply reply, bool keep_alive, unsigned version) {
    if (reply.status < 100 || reply.status > 599) {
      reply = JsonError(500, "handler returned status " + std::to_string(reply.status));
    }
    core_->CountReply(reply.status);
    res_ = {};
    res_.version(version == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(reply.status));
    res_.set(bhttp::field::server, "gridgate");
    res_.set(bhttp::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) {
      res_.set(name, value);
    }
    res_.body() = std::move(reply.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    stream_.expires_after(IdleTimeout());
    bhttp::async_write(
        stream_, res_,
        beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t /*bytes*/) {
    if (ec) {
      Close();
      return;
    }
    if (keep_alive) {
      ReadHeader();
      return;
    }
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(
        std::chrono::milliseconds(std::min(core_->options.idle_timeout_ms, kMaxLingerMs)));
    Linger();
  }

  // Reads and discards until the client closes, the linger budget is spent,
  // or the timer fires; then the session ends and the socket closes.
  void Linger() {
    stream_.async_read_some(asio::buffer(discard_),
                            beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
  }

  void OnLinger(beast::error_code ec, size_t bytes) {
    lingered_bytes_ += bytes;
    if (ec || lingered_bytes_ >= kMaxLingerBytes) {
      Close();
      return;
    }
    Linger();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  bhttp::response<bhttp::empty_body> continue_;
  std::array<char, 4096> discard_{};
  size_t lingered_bytes_ = 0;
  const std::shared_ptr<HttpServer::Core> core_;
  const uint64_t id_;
};

}  // namespace internal

void HttpServer::Core::DoAccept() {
  acceptor.async_accept(io, beast::bind_front_handler(&Core::OnAccept, shared_from_this()));
}

void HttpServer::Core::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopped || ec == asio::error::operation_aborted) {
    return;
  }
  if (ec) {
    retry_timer.expires_after(kAcceptRetryDelay);
    retry_timer.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
      if (!wait_ec && !self->stopped) {
        self->DoAccept();
      }
    });
    return;
  }
  try {
    if (connections_active.load(std::memory_order_relaxed) >= options.max_connections) {
      connections_rejected.fetch_add(1, std::memory_order_relaxed);
      beast::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    } else {
      connections_accepted.fetch_add(1, std::memory_order_relaxed);
      const uint64_t id = next_session_id++;
      auto session = std::make_shared<internal::Session>(std::move(socket), shared_from_this(), id);
      sessions.emplace(id, session);
      session->Start();
    }
  } catch (const std::exception&) {
    // Out of memory for one more connection: it is dropped (its socket closes
    // with it), the listener goes on.
  }
  DoAccept();
}

void HttpServer::Core::StopOnNetworkThread() {
  if (stopped) {
    return;
  }
  stopped = true;
  beast::error_code ignored;
  acceptor.close(ignored);
  retry_timer.cancel();
  // Close() may end a session (its destructor edits `sessions`): collect first.
  std::vector<std::shared_ptr<internal::Session>> open;
  for (auto& [id, weak] : sessions) {
    if (auto session = weak.lock()) {
      open.push_back(std::move(session));
    }
  }
  for (auto& session : open) {
    session->Close();
  }
}

HttpReply HttpServer::Core::Handle(const HttpRequest& request) const {
  const auto it = routes.find(request.path);
  if (it == routes.end()) {
    return JsonError(404, "no such path: " + request.path);
  }
  std::string allow;
  for (const auto& [method, handler] : it->second) {
    if (method == request.method) {
      try {
        return handler(request);
      } catch (const std::exception& e) {
        return JsonError(500, std::string("internal error: ") + e.what());
      } catch (...) {
        return JsonError(500, "internal error");
      }
    }
    allow += (allow.empty() ? "" : ", ") + method;
  }
  HttpReply reply = JsonError(
      405, "method " + request.method + " not allowed on " + request.path + "; allowed: " + allow);
  reply.headers.emplace_back("Allow", allow);
  return reply;
}

void HttpServer::Core::CountReply(int status) {
  requests.fetch_add(1, std::memory_order_relaxed);
  const size_t status_class = static_cast<size_t>(status) / 100;
  if (status_class < replies_by_class.size()) {
    replies_by_class[status_class].fetch_add(1, std::memory_order_relaxed);
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(asio::io_context* io,
                                                       const HttpServerOptions& options) {
  if (io == nullptr) {
    return Status::InvalidArgument("http: io_context is null");
  }
  if (options.max_connections == 0) {
    return Status::InvalidArgument("http: max_connections must be at least 1");
  }
  if (options.idle_timeout_ms == 0) {
    return Status::InvalidArgument("http: idle_timeout_ms must be at least 1");
  }
  if (options.max_header_bytes == 0) {
    return Status::InvalidArgument("http: max_header_bytes must be at least 1");
  }
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) {
    return Status::InvalidArgument("http: host '" + options.host + "' is not a numeric IP address");
  }
  auto core = std::make_shared<Core>(*io, options);
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = options.host + ":" + std::to_string(options.port);
  if (core->acceptor.open(endpoint.protocol(), ec); ec) {
    return Status::IoError("http: socket for " + where + ": " + ec.message());
  }
  if (core->acceptor.set_option(asio::socket_base::reuse_address(true), ec); ec) {
    return Status::IoError("http: SO_REUSEADDR on " + where + ": " + ec.message());
  }
  if (core->acceptor.bind(endpoint, ec); ec) {
    return Status::IoError("http: bind " + where + ": " + ec.message());
  }
  if (core->acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Status::IoError("http: listen on " + where + ": " + ec.message());
  }
  const tcp::endpoint bound = core->acceptor.local_endpoint(ec);
  if (ec) {
    return Status::IoError("http: local address of " + where + ": " + ec.message());
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(core), bound.port()));
}

HttpServer::HttpServer(std::shared_ptr<Core> core, uint16_t port)
    : core_(std::move(core)), port_(port) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Route(std::string method, std::string path, Handler handler) {
  auto& methods = core_->routes[std::move(path)];
  for (auto& [m, h] : methods) {
    if (m == method) {
      h = std::move(handler);
      return;
    }
  }
  methods.emplace_back(std::move(method), std::move(handler));
}

void HttpServer::Start() {
  asio::post(core_->io, [core = core_] {
    if (!core->stopped) {
      core->DoAccept();
    }
  });
}

void HttpServer::Stop() {
  if (core_->stop_posted.exchange(true)) {
    return;
  }
  asio::post(core_->io, [core = core_] { core->StopOnNetworkThread(); });
}

HttpServerStats HttpServer::Stats() const {
  HttpServerStats s;
  s.requests = core_->requests.load(std::memory_order_relaxed);
  s.replies_2xx = core_->replies_by_class[2].load(std::memory_order_relaxed);
  s.replies_3xx = core_->replies_by_class[3].load(std::memory_order_relaxed);
  s.replies_4xx = core_->replies_by_class[4].load(std::memory_order_relaxed);
  s.replies_5xx = core_->replies_by_class[5].load(std::memory_order_relaxed);
  s.bad_requests = core_->bad_requests.load(std::memory_order_relaxed);
  s.connections_accepted = core_->connections_accepted.load(std::memory_order_relaxed);
  s.connections_rejected = core_->connections_rejected.load(std::memory_order_relaxed);
  s.connections_active = core_->connections_active.load(std::memory_order_relaxed);
  return s;
}

}  // namespace gridgate::ingest::http
