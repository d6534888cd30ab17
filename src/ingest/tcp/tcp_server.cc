#include "ingest/tcp/tcp_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstring>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/json_escape.h"

namespace gridgate::ingest::tcp {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::string_view kTooManyConnections = "{\"error\":\"too many connections\"}\n";
constexpr std::string_view kLineTooLong = "line too long";

void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace

class Connection;

struct TcpServer::Impl : std::enable_shared_from_this<TcpServer::Impl> {
  Impl(asio::io_context* io, const TcpServerOptions& options,
       std::unique_ptr<IngestPipeline> pipeline)
      : io(io), options(options), pipeline(std::move(pipeline)), acceptor(*io) {}

  void Accept();
  void OnAccept(const error_code& ec, tcp::socket socket);
  void StopOnIoThread();

  asio::io_context* const io;
  const TcpServerOptions options;
  // Shared by every connection: they all run on the one network thread.
  const std::unique_ptr<IngestPipeline> pipeline;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  // Network thread only.
  bool stopped = false;
  // The open connections. Not owning (a connection lives as long as its
  // pending handlers), so that Impl and its connections form no cycle.
  std::unordered_set<Connection*> connections;
  std::unique_ptr<asio::steady_timer> accept_retry;

  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_refused{0};
  std::atomic<uint64_t> connections_idle_closed{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> bytes_received{0};
  std::atomic<uint64_t> lines{0};
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> events_accepted{0};
  std::atomic<uint64_t> events_refused{0};
  std::atomic<uint64_t> lines_too_long{0};
  std::atomic<uint64_t> acks_dropped{0};
  std::atomic<uint64_t> connections_acks_stopped{0};
};

// One accepted connection: reads lines into a fixed buffer, hands the complete
// lines of each read to the pipeline as one batch, and queues the acks.
//
// Owned by the network thread. Kept alive by its pending handlers (each holds
// a shared_ptr) and by the server's connection set until Close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<TcpServer::Impl> server, tcp::socket socket)
      : server_(std::move(server)),
        socket_(std::move(socket)),
        timer_(*server_->io),
        max_line_bytes_(server_->options.max_line_bytes),
        buffer_(std::max(server_->options.read_buffer_bytes, max_line_bytes_ + 1)) {
    server_->connections.insert(this);
  }

  // Runs without Close only when the io_context is destroyed with handlers
  // still queued.
  ~Connection() {
    if (!closed_) {
      server_->connections_active.fetch_sub(1, std::memory_order_relaxed);
      server_->connections.erase(this);
    }
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void Start() {
    error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    if (server_->options.idle_timeout_ms > 0) {
      deadline_ = Deadline();
      ArmTimer();
    }
    Read();
  }

  void Close() {
    if (closed_) {
      return;
    }
    closed_ = true;
    error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    server_->connections_active.fetch_sub(1, std::memory_order_relaxed);
    server_->connections.erase(this);
  }

 private:
  std::chrono::steady_clock::time_point Deadline() const {
    return std::chrono::steady_clock::now() +
           std::chrono::milliseconds(server_->options.idle_timeout_ms);
  }

  void ArmTimer() {
    timer_.expires_at(deadline_);
    timer_.async_wait([self = shared_from_this()](const error_code& ec) { self->OnTimer(ec); });
  }

  // Re-arming the timer on every read would cost a timer-queue update per
  // read; instead the read moves deadline_ and the timer checks it when it
  // fires.
  void OnTimer(const error_code& ec) {
    if (ec || closed_) {
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline_) {
      Bump(server_->connections_idle_closed);
      Close();
      return;
    }
    ArmTimer();
  }

  void Read() {
    // Invariant: len_ <= max_line_bytes_ < buffer_.size(), so there is room.
    socket_.async_read_some(
        asio::buffer(buffer_.data() + len_, buffer_.size() - len_),
        [self = shared_from_this()](const error_code& ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(const error_code& ec, size_t n) {
    if (closed_) {
      return;
    }
    if (ec == asio::error::eof) {
      OnEof();
      return;
    }
    if (ec) {
      Close();
      return;
    }
    if (server_->options.idle_timeout_ms > 0) {
      deadline_ = Deadline();
    }
    Bump(server_->bytes_received, n);
    const size_t begin = len_;
    len_ += n;
    size_t start = 0;
    bool progressed = false;
    if (skipping_) {
      // Invariant: while skipping, nothing is kept, so the new bytes start at 0.
      const void* nl = std::memchr(buffer_.data() + begin, '\n', len_ - begin);
      if (nl == nullptr) {
        len_ = 0;
        Read();
        return;
      }
      start = static_cast<const char*>(nl) - buffer_.data() + 1;
      skipping_ = false;
      ++line_no_;
      Bump(server_->lines);
      progressed = true;
    }
    const std::string_view data(buffer_.data() + start, len_ - start);
    const size_t last_nl = data.rfind('\n');
    if (last_nl != std::string_view::npos) {
      ProcessLines(buffer_.data() + start, last_nl + 1);
      start += last_nl + 1;
      progressed = true;
    }
    const size_t tail = len_ - start;
    if (tail > max_line_bytes_) {
      // The line cannot be complete within the limit: refuse it now and drop
      // its bytes up to the newline, never buffering more than the limit.
      Bump(server_->lines_too_long);
      Bump(server_->events_refused);
      Nack(line_no_ + 1, kLineTooLong, 0);
      skipping_ = true;
      len_ = 0;
    } else {
      std::memmove(buffer_.data(), buffer_.data() + start, tail);
      len_ = tail;
    }
    if (progressed) {
      Ack();
    }
    Read();
  }

  // The sender closed its side: a last line without its newline still counts,
  // then the acks are flushed and the connection closed.
  void OnEof() {
    eof_ = true;
    if (skipping_) {
      ++line_no_;
      Bump(server_->lines);
      skipping_ = false;
      Ack();
    } else if (len_ > 0) {
      // Invariant: len_ <= max_line_bytes_ < buffer_.size(), so the '\n' fits.
      buffer_[len_] = '\n';
      ProcessLines(buffer_.data(), len_ + 1);
      len_ = 0;
      Ack();
    }
    if (!writing_) {
      Close();
    }
  }

  // `lines` holds whole lines, the last ending in '\n'. One pipeline call for
  // all of them; a line over the limit is blanked in place (a blank line is no
  // event to the decoder) and nacked here, in line order with the others.
  void ProcessLines(char* lines, size_t size) {
    const uint64_t first = line_no_ + 1;
    too_long_.clear();
    size_t count = 0;
    size_t pos = 0;
    while (pos < size) {
      const char* nl = static_cast<const char*>(std::memchr(lines + pos, '\n', size - pos));
      const size_t end = nl - lines;  // Invariant: the last byte is '\n', so nl is found.
      ++count;
      if (end - pos > max_line_bytes_) {
        std::memset(lines + pos, ' ', end - pos);
        too_long_.push_back(count);
      }
      pos = end + 1;
    }
    Bump(server_->lines, count);
    Bump(server_->batches);

    IngestResult result;
    const Status s = server_->pipeline->Ingest(std::string_view(lines, size),
                                               event::BodyFormat::kNdjson, &result);
    if (!s.ok() && s.code() != Status::Code::kInvalidArgument) {
      // Not expected (a push of a valid batch is not refused whole), but if it
      // happens the sender must hear about every line: nack them all.
      NackAllNonBlank(lines, size, first, s.ToString());
    } else {
      // InvalidArgument for NDJSON: only blank lines, so no events.
      Bump(server_->events_accepted, result.accepted);
      Bump(server_->events_refused, result.refused.size() + too_long_.size());
      Bump(server_->lines_too_long, too_long_.size());
      // Merge the two ordered lists of refused lines.
      size_t t = 0;
      for (const Refusal& r : result.refused) {
        while (t < too_long_.size() && too_long_[t] < r.line) {
          Nack(first + too_long_[t++] - 1, kLineTooLong, 0);
        }
        Nack(first + r.line - 1, r.reason, r.retry_after_ms);
      }
      while (t < too_long_.size()) {
        Nack(first + too_long_[t++] - 1, kLineTooLong, 0);
      }
    }
    line_no_ += count;
  }

  void NackAllNonBlank(const char* lines, size_t size, uint64_t first, const std::string& reason) {
    uint64_t line = first;
    size_t pos = 0;
    while (pos < size) {
      const size_t end =
          static_cast<const char*>(std::memchr(lines + pos, '\n', size - pos)) - lines;
      const std::string_view text(lines + pos, end - pos);
      if (text.find_first_not_of(" \t\r") != std::string_view::npos) {
        Bump(server_->events_refused);
        Nack(line, reason, 1000);
      }
      ++line;
      pos = end + 1;
    }
  }

  void Nack(uint64_t line, std::string_view reason, uint32_t retry_after_ms) {
    scratch_.clear();
    scratch_ += "{\"nack\":";
    scratch_ += std::to_string(line);
    scratch_ += ",\"reason\":";
    AppendJsonString(reason, &scratch_);
    scratch_ += ",\"retry_after_ms\":";
    scratch_ += std::to_string(retry_after_ms);
    scratch_ += "}\n";
    Send(scratch_);
  }

  void Ack() {
    scratch_.clear();
    scratch_ += "{\"ack\":";
    scratch_ += std::to_string(line_no_);
    scratch_ += "}\n";
    if (Send(scratch_)) {
      last_ack_sent_ = line_no_;
    }
  }

  // Queues one line for the sender; false when dropped for the pending-bytes
  // bound. After the first drop no later ack may be sent: a later cumulative
  // ack would cover a nack the sender never saw, and tell it that line was
  // taken.
  bool Send(std::string_view line) {
    if (acks_stopped_) {
      Bump(server_->acks_dropped);
      return false;
    }
    if (out_.size() + sending_.size() + line.size() > server_->options.max_pending_ack_bytes) {
      acks_stopped_ = true;
      Bump(server_->acks_dropped);
      Bump(server_->connections_acks_stopped);
      // One last line, past the bound (by a few dozen bytes, once): where the
      // acks stop, so a sender that does read learns it at once.
      out_ += "{\"acks_stopped\":" + std::to_string(last_ack_sent_) + "}\n";
      Write();
      return false;
    }
    out_.append(line);
    Write();
    return true;
  }

  void Write() {
    if (writing_ || out_.empty() || closed_) {
      return;
    }
    writing_ = true;
    std::swap(out_, sending_);
    asio::async_write(
        socket_, asio::buffer(sending_),
        [self = shared_from_this()](const error_code& ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(const error_code& ec) {
    writing_ = false;
    sending_.clear();
    if (closed_) {
      return;
    }
    if (ec) {
      // The sender is gone or reset: nothing more to say to it.
      Close();
      return;
    }
    if (!out_.empty()) {
      Write();
    } else if (eof_) {
      Close();
    }
  }

  const std::shared_ptr<TcpServer::Impl> server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  const size_t max_line_bytes_;
  std::chrono::steady_clock::time_point deadline_;

  // buffer_[0, len_) is the start of an incomplete line (at most
  // max_line_bytes_ bytes); reads append behind it.
  std::vector<char> buffer_;
  size_t len_ = 0;
  // Inside a line over the limit, already nacked: its bytes up to the next
  // newline are dropped.
  bool skipping_ = false;
  // Lines completed on this connection (the number of the last one).
  uint64_t line_no_ = 0;
  uint64_t last_ack_sent_ = 0;
  std::vector<size_t> too_long_;  // scratch: 1-based lines of a batch

  std::string out_;      // queued, not yet handed to the socket
  std::string sending_;  // being written
  std::string scratch_;
  bool writing_ = false;
  bool acks_stopped_ = false;
  bool eof_ = false;
  bool closed_ = false;
};

void TcpServer::Impl::Accept() {
  acceptor.async_accept([self = shared_from_this()](const error_code& ec, tcp::socket socket) {
    self->OnAccept(ec, std::move(socket));
  });
}

void TcpServer::Impl::OnAccept(const error_code& ec, tcp::socket socket) {
  if (stopped || ec == asio::error::operation_aborted) {
    return;
  }
  if (ec) {
    // Out of file descriptors and the like: try again shortly rather than
    // spinning on the same error.
    if (!accept_retry) {
      accept_retry = std::make_unique<asio::steady_timer>(*io);
    }
    accept_retry->expires_after(std::chrono::milliseconds(100));
    accept_retry->async_wait([self = shared_from_this()](const error_code& wait_ec) {
      if (!wait_ec && !self->stopped) {
        self->Accept();
      }
    });
    return;
  }
  if (connections.size() >= options.max_connections) {
    Bump(connections_refused);
    error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(kTooManyConnections.data(), kTooManyConnections.size()),
                      ignored);
    socket.close(ignored);
  } else {
    Bump(connections_accepted);
    Bump(connections_active);
    std::make_shared<Connection>(shared_from_this(), std::move(socket))->Start();
  }
  Accept();
}

void TcpServer::Impl::StopOnIoThread() {
  if (stopped) {
    return;
  }
  stopped = true;
  error_code ignored;
  acceptor.close(ignored);
  if (accept_retry) {
    accept_retry->cancel();
  }
  // Close erases from the set.
  const std::vector<Connection*> open(connections.begin(), connections.end());
  for (Connection* c : open) {
    c->Close();
  }
}

Result<std::unique_ptr<TcpServer>> TcpServer::Create(asio::io_context* io,
                                                     const TcpServerOptions& options,
                                                     std::unique_ptr<IngestPipeline> pipeline) {
  if (io == nullptr || pipeline == nullptr) {
    return Status::InvalidArgument("tcp: io_context and pipeline are required");
  }
  if (options.max_line_bytes < 2) {
    return Status::InvalidArgument("tcp: max_line_bytes must be at least 2");
  }
  if (options.max_connections < 1) {
    return Status::InvalidArgument("tcp: max_connections must be at least 1");
  }
  if (options.max_pending_ack_bytes < 64) {
    return Status::InvalidArgument("tcp: max_pending_ack_bytes must be at least 64");
  }
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) {
    return Status::InvalidArgument("tcp: host '" + options.host +
                                   "' is not a numeric IPv4 or IPv6 address");
  }
  auto impl = std::make_shared<Impl>(io, options, std::move(pipeline));
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = options.host + ":" + std::to_string(options.port);
  tcp::acceptor& acceptor = impl->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Status::IoError("tcp: cannot listen on " + where + ": " + ec.message());
  }
  const tcp::endpoint bound = impl->acceptor.local_endpoint(ec);
  if (ec) {
    return Status::IoError("tcp: cannot read the bound address: " + ec.message());
  }
  impl->port = bound.port();
  return std::unique_ptr<TcpServer>(new TcpServer(std::move(impl)));
}

TcpServer::TcpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpServer::~TcpServer() = default;

void TcpServer::Start() {
  asio::post(*impl_->io, [impl = impl_] {
    if (!impl->stopped) {
      impl->Accept();
    }
  });
}

void TcpServer::Stop() {
  asio::post(*impl_->io, [impl = impl_] { impl->StopOnIoThread(); });
}

uint16_t TcpServer::port() const { return impl_->port; }

TcpServerStats TcpServer::Stats() const {
  const Impl& i = *impl_;
  auto load = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  TcpServerStats s;
  s.connections_accepted = load(i.connections_accepted);
  s.connections_refused = load(i.connections_refused);
  s.connections_idle_closed = load(i.connections_idle_closed);
  s.connections_active = load(i.connections_active);
  s.bytes_received = load(i.bytes_received);
  s.lines = load(i.lines);
  s.batches = load(i.batches);
  s.events_accepted = load(i.events_accepted);
  s.events_refused = load(i.events_refused);
  s.lines_too_long = load(i.lines_too_long);
  s.acks_dropped = load(i.acks_dropped);
  s.connections_acks_stopped = load(i.connections_acks_stopped);
  return s;
}

}  // namespace gridgate::ingest::tcp
