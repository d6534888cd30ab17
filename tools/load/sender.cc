#include "tools/load/sender.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <thread>

#include "tools/load/http_client.h"
#include "tools/load/sink/sink_server.h"

namespace gridgate::load {
namespace {

int64_t UnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kReconnectDelayMs = 200;
constexpr int64_t kHttpErrorRetryMs = 100;

}  // namespace

struct Sender::Connection {
  int index = 0;
  bool canary = false;
  int fd = -1;  // TCP
  std::unique_ptr<HttpClient> http;
  std::thread writer;
  std::thread reader;
  uint64_t generated = 0;  // new events sent (writer thread only)

  Mutex mu;
  std::deque<Pending> pending GUARDED_BY(mu);  // lines written, not yet acked
  uint64_t base_line GUARDED_BY(mu) = 1;       // the line number of pending.front()
  bool broken GUARDED_BY(mu) = false;
};

Status SenderOptions::Validate() const {
  if (Status s = profile.Validate(); !s.ok()) {
    return s;
  }
  if (Status s = mix.Validate(); !s.ok()) {
    return s;
  }
  if (connections < 1 || connections > 256) {
    return Status::InvalidArgument("connections must be 1..256");
  }
  if (!std::isfinite(canary_eps) || canary_eps < 0) {
    return Status::InvalidArgument("canary rate must be >= 0");
  }
  if (fleet_size == 0) {
    return Status::InvalidArgument("fleet size must be at least 1");
  }
  if (source.empty() || source.size() > 32) {
    return Status::InvalidArgument("source must be 1..32 characters");
  }
  if (tick_ms == 0 || max_batch_events == 0 || port == 0) {
    return Status::InvalidArgument("tick_ms, max_batch_events and port must be positive");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Sender>> Sender::Create(const SenderOptions& options) {
  if (Status s = options.Validate(); !s.ok()) {
    return s;
  }
  return std::unique_ptr<Sender>(new Sender(options));
}

Sender::Sender(const SenderOptions& options)
    : options_(options),
      generator_(options.mix, options.fleet_size, options.seed, options.source),
      next_seq_(options.first_seq) {}

Sender::~Sender() {
  Cancel();
  for (auto& c : connections_) {
    if (c->writer.joinable()) {
      c->writer.join();
    }
    Disconnect(c.get());
  }
}

void Sender::Cancel() { cancel_ = true; }

SenderProgress Sender::Progress() const {
  SenderProgress p;
  p.offered = offered_.load();
  p.accepted = accepted_count_.load();
  p.refused = refused_.load();
  p.resent = resent_.load();
  return p;
}

SenderResult Sender::result() const {
  MutexLock lock(&mu_);
  SenderResult r = result_;
  r.totals = Progress();
  r.unresolved = static_cast<uint64_t>(std::max<int64_t>(0, unresolved_.load()));
  return r;
}

SeqTracker Sender::accepted() const {
  MutexLock lock(&mu_);
  return accepted_;
}

bool Sender::Finished() const { return writers_generating_.load() == 0 && unresolved_.load() <= 0; }

bool Sender::Connect(Connection* c) {
  if (options_.transport == Transport::kHttp) {
    c->http = std::make_unique<HttpClient>(options_.host, options_.port, 30'000);
    return true;
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options_.port);
  if (inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return false;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->fd = fd;
  {
    MutexLock lock(&c->mu);
    c->broken = false;
    c->base_line = 1;
  }
  c->reader = std::thread([this, c] { ReaderLoop(c); });
  return true;
}

// Closes the connection; what it had in flight is sent again.
void Sender::Disconnect(Connection* c) {
  if (c->fd >= 0) {
    shutdown(c->fd, SHUT_RDWR);
  }
  if (c->reader.joinable()) {
    c->reader.join();
  }
  if (c->fd >= 0) {
    close(c->fd);
    c->fd = -1;
  }
  c->http.reset();
  std::deque<Pending> orphans;
  {
    MutexLock lock(&c->mu);
    orphans.swap(c->pending);
  }
  const int64_t now = UnixMicros();
  MutexLock lock(&mu_);
  for (const Pending& p : orphans) {
    if (!p.nacked) {
      resend_heap_.push_back(Resend{p.seq, p.sent_us, now, p.canary});
      std::push_heap(resend_heap_.begin(), resend_heap_.end(), std::greater<>());
    }
  }
}

void Sender::Accept(const std::vector<uint64_t>& seqs) {
  if (seqs.empty()) {
    return;
  }
  MutexLock lock(&mu_);
  for (uint64_t seq : seqs) {
    if (accepted_.Mark(seq)) {
      accepted_count_.fetch_add(1, std::memory_order_relaxed);
      unresolved_.fetch_sub(1);
    }
  }
}

void Sender::Refuse(const Pending& p, std::string_view reason, int64_t retry_after_ms) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  MutexLock lock(&mu_);
  ++result_.refused_by_reason[std::string(reason)];
  if (retry_after_ms <= 0) {
    // The gateway says this event will never be taken: a bug of the
    // generator, reported, not retried.
    ++result_.refused_final;
    unresolved_.fetch_sub(1);
    return;
  }
  resend_heap_.push_back(Resend{p.seq, p.sent_us, UnixMicros() + retry_after_ms * 1000, p.canary});
  std::push_heap(resend_heap_.begin(), resend_heap_.end(), std::greater<>());
}

void Sender::TakeDueResends(bool canary, size_t max, std::vector<Pending>* out) {
  const int64_t now = UnixMicros();
  MutexLock lock(&mu_);
  // Canaries go back on the canary connection, the rest on any other.
  std::vector<Resend> keep;
  while (!resend_heap_.empty() && out->size() < max && resend_heap_.front().due_us <= now) {
    std::pop_heap(resend_heap_.begin(), resend_heap_.end(), std::greater<>());
    Resend r = resend_heap_.back();
    resend_heap_.pop_back();
    if (r.canary == canary) {
      out->push_back(Pending{r.seq, r.sent_us, r.canary, false});
    } else {
      keep.push_back(r);
    }
  }
  for (const Resend& r : keep) {
    resend_heap_.push_back(r);
    std::push_heap(resend_heap_.begin(), resend_heap_.end(), std::greater<>());
  }
  resent_.fetch_add(out->size(), std::memory_order_relaxed);
}

Status Sender::Run() {
  const int total = options_.connections + (options_.canary_eps > 0 ? 1 : 0);
  for (int i = 0; i < total; ++i) {
    auto c = std::make_unique<Connection>();
    c->index = i;
    c->canary = i == options_.connections;
    if (!Connect(c.get())) {
      return Status::IoError("cannot connect to " + options_.host + ":" +
                             std::to_string(options_.port) + ": " + std::strerror(errno));
    }
    connections_.push_back(std::move(c));
  }
  {
    MutexLock lock(&mu_);
    result_.start_unix_us = UnixMicros();
  }
  start_ = std::chrono::steady_clock::now();
  writers_generating_ = total;
  for (auto& c : connections_) {
    Connection* raw = c.get();
    c->writer = std::thread([this, raw] { WriterLoop(raw); });
  }

  // Watch: the peak one-second send rate, and the settle deadline.
  std::deque<std::pair<std::chrono::steady_clock::time_point, uint64_t>> window;
  double peak = 0;
  std::optional<std::chrono::steady_clock::time_point> generation_done;
  while (!Finished() && !cancel_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto now = std::chrono::steady_clock::now();
    const uint64_t offered = offered_.load();
    window.emplace_back(now, offered);
    while (now - window.front().first > std::chrono::seconds(1)) {
      window.pop_front();
    }
    if (now - window.front().first >= std::chrono::milliseconds(900)) {
      const double secs = std::chrono::duration<double>(now - window.front().first).count();
      peak = std::max(peak, static_cast<double>(offered - window.front().second) / secs);
    }
    if (writers_generating_.load() == 0 && !generation_done) {
      generation_done = now;
    }
    if (generation_done &&
        now - *generation_done > std::chrono::duration<double>(options_.settle_seconds)) {
      cancel_ = true;
    }
  }
  for (auto& c : connections_) {
    c->writer.join();
    Disconnect(c.get());
  }
  MutexLock lock(&mu_);
  result_.end_unix_us = UnixMicros();
  result_.peak_offered_eps = peak;
  return Status::Ok();
}

void Sender::WriterLoop(Connection* c) {
  const double duration = options_.profile.DurationSeconds();
  const int flood = options_.connections;
  // This connection's share of the profile's cumulative count.
  auto target_at = [&](double t) -> uint64_t {
    if (c->canary) {
      return static_cast<uint64_t>(std::floor(options_.canary_eps * std::min(t, duration)));
    }
    const double all = std::floor(options_.profile.EventsBy(t));
    return static_cast<uint64_t>(std::floor(all * (c->index + 1) / flood)) -
           static_cast<uint64_t>(std::floor(all * c->index / flood));
  };
  const uint64_t final_target = target_at(duration);
  const auto tick = std::chrono::milliseconds(options_.tick_ms);
  std::string buf;
  std::vector<Pending> items;
  bool generating = true;
  auto next_tick = start_;
  std::array<uint64_t, kNumPriorities> by_priority{};
  uint64_t reconnects = 0;
  uint64_t errors = 0;

  auto reconnect = [&] {
    ++errors;
    Disconnect(c);
    while (!cancel_ && !Connect(c)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kReconnectDelayMs));
    }
    ++reconnects;
  };

  while (!cancel_) {
    // A connection the reader found closed (or that stopped acking) holds
    // events nobody will ack: send them again on a new one, even when this
    // writer has nothing new to write.
    if (options_.transport == Transport::kTcp) {
      bool broken = false;
      {
        MutexLock lock(&c->mu);
        broken = c->broken;
      }
      if (broken) {
        reconnect();
        continue;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    const double t = std::chrono::duration<double>(now - start_).count();
    items.clear();
    size_t room = options_.max_batch_events;
    if (options_.transport == Transport::kTcp && options_.max_unacked_events > 0) {
      MutexLock lock(&c->mu);
      const size_t unacked = c->pending.size();
      room = std::min(room,
                      options_.max_unacked_events - std::min(options_.max_unacked_events, unacked));
    }
    TakeDueResends(c->canary, room, &items);
    const size_t resends = items.size();
    const uint64_t target = target_at(t);
    const uint64_t fresh =
        std::min<uint64_t>(target - std::min(target, c->generated), room - resends);
    if (fresh > 0) {
      const uint64_t first = next_seq_.fetch_add(fresh);
      const int64_t now_us = UnixMicros();
      for (uint64_t i = 0; i < fresh; ++i) {
        items.push_back(Pending{first + i, now_us, c->canary, false});
      }
      unresolved_.fetch_add(static_cast<int64_t>(fresh));
    }
    if (!items.empty()) {
      buf.clear();
      for (size_t i = 0; i < items.size(); ++i) {
        const Pending& p = items[i];
        const Priority priority = p.canary ? generator_.AppendCanary(p.seq, p.sent_us, &buf)
                                           : generator_.Append(p.seq, p.sent_us, &buf);
        if (i >= resends) {
          ++by_priority[LevelIndex(priority)];
        }
      }
      const bool sent = options_.transport == Transport::kTcp ? SendTcp(c, &buf, &items)
                                                              : SendHttp(c, &buf, &items);
      // Counted once handed over, sent or not: a failed send is resent.
      c->generated += fresh;
      offered_.fetch_add(fresh, std::memory_order_relaxed);
      if (!sent) {
        reconnect();
      }
    }
    if (generating && c->generated >= final_target) {
      generating = false;
      MutexLock lock(&mu_);
      result_.profile_end_unix_us = std::max(result_.profile_end_unix_us, UnixMicros());
      writers_generating_.fetch_sub(1);
    }
    if (!generating && unresolved_.load() <= 0 && writers_generating_.load() == 0) {
      break;
    }
    // Behind the profile with room in the window: go again at once.
    if (room > 0 && resends + fresh == room) {
      continue;
    }
    next_tick += tick;
    const auto after = std::chrono::steady_clock::now();
    if (next_tick < after) {
      next_tick = after;
    } else {
      std::this_thread::sleep_until(next_tick);
    }
  }
  if (generating) {
    writers_generating_.fetch_sub(1);
  }
  MutexLock lock(&mu_);
  for (size_t i = 0; i < kNumPriorities; ++i) {
    result_.offered_by_priority[i] += by_priority[i];
  }
  if (c->canary) {
    result_.canary_offered = c->generated;
  }
  result_.reconnects += reconnects;
  result_.send_errors += errors;
}

bool Sender::SendTcp(Connection* c, std::string* buf, std::vector<Pending>* items) {
  {
    MutexLock lock(&c->mu);
    c->pending.insert(c->pending.end(), items->begin(), items->end());
    if (c->broken) {
      return false;  // nothing written: Disconnect sends all of it again
    }
  }
  size_t off = 0;
  while (off < buf->size()) {
    const ssize_t n = send(c->fd, buf->data() + off, buf->size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

void Sender::ReaderLoop(Connection* c) {
  std::string in;
  std::vector<char> chunk(64 << 10);
  std::vector<uint64_t> accepted;
  simdjson::dom::parser parser;
  while (true) {
    const ssize_t n = recv(c->fd, chunk.data(), chunk.size(), 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      break;
    }
    in.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    while (true) {
      const size_t nl = in.find('\n', start);
      if (nl == std::string::npos) {
        break;
      }
      const std::string_view line(in.data() + start, nl - start);
      start = nl + 1;
      if (auto ack = ScanUintAfter(line, "{\"ack\":"); ack && line.rfind("{\"ack\":", 0) == 0) {
        accepted.clear();
        {
          MutexLock lock(&c->mu);
          while (!c->pending.empty() && c->base_line <= *ack) {
            if (!c->pending.front().nacked) {
              accepted.push_back(c->pending.front().seq);
            }
            c->pending.pop_front();
            ++c->base_line;
          }
        }
        Accept(accepted);
        continue;
      }
      if (line.rfind("{\"nack\":", 0) == 0) {
        simdjson::dom::element doc;
        uint64_t nack_line = 0;
        std::string_view reason = "unknown";
        int64_t retry_after_ms = 0;
        if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS ||
            doc["nack"].get(nack_line) != simdjson::SUCCESS) {
          continue;
        }
        (void)doc["reason"].get(reason);
        (void)doc["retry_after_ms"].get(retry_after_ms);
        std::optional<Pending> refused;
        {
          MutexLock lock(&c->mu);
          if (nack_line >= c->base_line && nack_line - c->base_line < c->pending.size()) {
            Pending& p = c->pending[nack_line - c->base_line];
            if (!p.nacked) {
              p.nacked = true;
              refused = p;
            }
          }
        }
        if (refused) {
          Refuse(*refused, reason, retry_after_ms);
        }
        continue;
      }
      // {"acks_stopped":N}, {"error":...} or unknown: the connection can no
      // longer tell what it took; what is pending goes out again on a new one.
      if (line.rfind("{\"acks_stopped\"", 0) == 0 || line.rfind("{\"error\"", 0) == 0) {
        shutdown(c->fd, SHUT_RDWR);
      }
    }
    in.erase(0, start);
  }
  MutexLock lock(&c->mu);
  c->broken = true;
}

bool Sender::SendHttp(Connection* c, std::string* buf, std::vector<Pending>* items) {
  auto reply = c->http->Post("/api/v1/events", "application/x-ndjson", *buf);
  if (!reply.ok() || (reply->status != 202 && reply->status != 207 && reply->status != 429 &&
                      reply->status != 400)) {
    // Nothing known about this batch: all of it again, shortly.
    const int64_t due = UnixMicros() + kHttpErrorRetryMs * 1000;
    MutexLock lock(&mu_);
    ++result_.send_errors;
    for (const Pending& p : *items) {
      resend_heap_.push_back(Resend{p.seq, p.sent_us, due, p.canary});
      std::push_heap(resend_heap_.begin(), resend_heap_.end(), std::greater<>());
    }
    return true;  // the connection is re-opened by the client itself
  }
  std::vector<bool> refused(items->size(), false);
  if (reply->status != 202) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array results;
    if (parser.parse(reply->body).get(doc) == simdjson::SUCCESS &&
        doc["results"].get(results) == simdjson::SUCCESS) {
      for (simdjson::dom::element r : results) {
        uint64_t index = 0;
        std::string_view reason = "unknown";
        int64_t retry_after_ms = 0;
        if (r["index"].get(index) != simdjson::SUCCESS || index >= items->size()) {
          continue;
        }
        (void)r["reason"].get(reason);
        (void)r["retry_after_ms"].get(retry_after_ms);
        refused[index] = true;
        Refuse((*items)[index], reason, retry_after_ms);
      }
    }
  }
  std::vector<uint64_t> accepted;
  for (size_t i = 0; i < items->size(); ++i) {
    if (!refused[i]) {
      accepted.push_back((*items)[i].seq);
    }
  }
  Accept(accepted);
  return true;
}

}  // namespace gridgate::load
