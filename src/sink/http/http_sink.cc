#include "sink/http/http_sink.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <utility>

#include "sink/common/delivered_format.h"

namespace gridgate::sink {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kUrlKey = "sink.http.url";
// A webhook's reply body is read (to keep the connection usable) but not used.
constexpr uint64_t kMaxReplyBodyBytes = uint64_t{1} << 20;

Status BadUrl(std::string_view url, const std::string& why) {
  return Status::InvalidArgument(std::string(kUrlKey) + ": '" + std::string(url) + "' " + why);
}

bool IsNumericAddress(const std::string& host, bool v6) {
  beast::error_code ec;
  const asio::ip::address a = asio::ip::make_address(host, ec);
  return !ec && a.is_v6() == v6;
}

// The errors of a request on a kept-alive connection that the peer closed
// while it was idle.
bool IsStaleConnectionError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

}  // namespace

Result<HttpSinkTarget> ParseHttpSinkUrl(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  if (url.empty()) {
    return Status::InvalidArgument(std::string(kUrlKey) + ": required");
  }
  if (url.starts_with(kHttps)) {
    return BadUrl(url, "uses https, which this build cannot speak (no TLS library); use http://");
  }
  if (!url.starts_with(kHttp)) {
    return BadUrl(url, "must start with http://");
  }
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return BadUrl(url, "contains a space or a control character");
    }
  }
  if (url.find('#') != std::string_view::npos) {
    return BadUrl(url, "has a fragment ('#'), which a webhook URL cannot use");
  }
  const std::string_view rest = url.substr(kHttp.size());
  const size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  HttpSinkTarget t;
  if (authority_end == std::string_view::npos) {
    t.target = "/";
  } else {
    t.target = std::string(rest.substr(authority_end));
    if (t.target.front() == '?') {
      t.target.insert(0, "/");
    }
  }
  if (authority.find('@') != std::string_view::npos) {
    return BadUrl(url, "has user information ('@'), which the http sink does not send");
  }

  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return BadUrl(url, "has an unclosed '[' in its host");
    }
    t.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return BadUrl(url, "has text after ']' that is not :PORT");
      }
      has_port = true;
      port_text = after.substr(1);
    }
    if (!IsNumericAddress(t.host, /*v6=*/true)) {
      return BadUrl(url, "has '[" + t.host + "]', which is not an IPv6 address");
    }
    t.address = t.host;
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      return BadUrl(url, "has an IPv6 host outside brackets; write it as http://[::1]:8080/");
    }
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    if (t.host.empty()) {
      return BadUrl(url, "has no host");
    }
    if (t.host == "localhost") {
      t.address = "127.0.0.1";
    } else if (IsNumericAddress(t.host, /*v6=*/false)) {
      t.address = t.host;
    } else {
      return BadUrl(url, "has host '" + t.host +
                             "', which is not a numeric IP address or localhost (the http sink "
                             "does no name lookup)");
    }
  }
  if (has_port) {
    uint32_t port = 0;
    bool valid = !port_text.empty() && port_text.size() <= 5;
    for (const char c : port_text) {
      valid = valid && c >= '0' && c <= '9';
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (!valid || port == 0 || port > 65535) {
      return BadUrl(url, "has port '" + std::string(port_text) + "', not 1 to 65535");
    }
    t.port = static_cast<uint16_t>(port);
  }
  return t;
}

// The sink's network state: a private io_context that Deliver runs on the
// caller's thread until each operation completes, and the kept-alive stream.
struct HttpSink::Connection {
  asio::io_context io{1};
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool open = false;

  // Runs the io_context until the operation just started, and every handler it
  // left behind (the stream's timer), has completed.
  void RunToCompletion() {
    io.restart();
    io.run();
  }
};

HttpSink::HttpSink(HttpSinkOptions options, HttpSinkTarget target)
    : options_(std::move(options)),
      target_(std::move(target)),
      conn_(std::make_unique<Connection>()) {}

HttpSink::~HttpSink() { Close(); }

Result<std::unique_ptr<HttpSink>> HttpSink::Create(HttpSinkOptions options) {
  auto target = ParseHttpSinkUrl(options.url);
  if (!target.ok()) {
    return target.status();
  }
  if (options.timeout_ms == 0) {
    return Status::InvalidArgument("sink.http.timeout_ms: must be at least 1");
  }
  HttpSinkTarget t = std::move(target).value();
  return std::unique_ptr<HttpSink>(new HttpSink(std::move(options), std::move(t)));
}

void HttpSink::Close() {
  if (conn_ == nullptr) {
    return;
  }
  beast::error_code ignored;
  conn_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  conn_->stream.socket().close(ignored);
  conn_->buffer.clear();
  conn_->open = false;
}

Status HttpSink::Deliver(const filter::PopBatch& batch) {
  body_.clear();
  for (size_t i = 0; i < batch.size(); ++i) {
    AppendDeliveredLine(batch.event(i), &body_);
  }
  // Beast reports errors through error_codes here; anything thrown (an
  // allocation failure) stops at this boundary as an error of this batch.
  try {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
    bool stale = false;
    Status s = Post(deadline, &stale);
    if (stale) {
      s = Post(deadline, &stale);
    }
    return s;
  } catch (const std::exception& e) {
    Close();
    return Status::IoError("http sink: POST " + options_.url + ": " + e.what());
  }
}

Status HttpSink::Post(std::chrono::steady_clock::time_point deadline, bool* stale) {
  *stale = false;
  Connection& c = *conn_;
  const auto fail = [&](std::string_view step, const beast::error_code& ec) {
    Close();
    if (ec == beast::error::timeout) {
      return Status::IoError("http sink: POST " + options_.url + ": timed out after " +
                             std::to_string(options_.timeout_ms) + " ms (" + std::string(step) +
                             ")");
    }
    return Status::IoError("http sink: POST " + options_.url + ": " + std::string(step) + ": " +
                           ec.message());
  };

  const bool reused = c.open;
  beast::error_code ec;
  if (!c.open) {
    const tcp::endpoint endpoint(asio::ip::make_address(target_.address), target_.port);
    c.stream.expires_at(deadline);
    c.stream.async_connect(endpoint, [&ec](const beast::error_code& e) { ec = e; });
    c.RunToCompletion();
    if (ec) {
      return fail("connect", ec);
    }
    c.open = true;
    ++connections_opened_;
  }

  http::request<http::string_body> req{http::verb::post, target_.target, 11};
  const bool v6 = target_.host.find(':') != std::string::npos;
  req.set(http::field::host,
          (v6 ? "[" + target_.host + "]" : target_.host) + ":" + std::to_string(target_.port));
  req.set(http::field::content_type, "application/x-ndjson");
  req.set(http::field::user_agent, "gridgate");
  req.keep_alive(true);
  req.body() = std::move(body_);
  req.prepare_payload();
  c.stream.expires_at(deadline);
  http::async_write(c.stream, req, [&ec](const beast::error_code& e, size_t /*bytes*/) { ec = e; });
  c.RunToCompletion();
  body_ = std::move(req.body());  // kept for a retry, and its capacity for the next batch
  if (ec) {
    *stale = reused && IsStaleConnectionError(ec);
    return fail("send", ec);
  }

  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBodyBytes);
  c.stream.expires_at(deadline);
  http::async_read(c.stream, c.buffer, parser,
                   [&ec](const beast::error_code& e, size_t /*bytes*/) { ec = e; });
  c.RunToCompletion();
  if (ec) {
    *stale = reused && !parser.got_some() && IsStaleConnectionError(ec);
    return fail("reply", ec);
  }
  c.stream.expires_never();
  const http::response<http::string_body>& res = parser.get();
  if (!res.keep_alive()) {
    Close();
  }
  const unsigned status = res.result_int();
  if (status >= 200 && status < 300) {
    return Status::Ok();
  }
  return Status::Unavailable("http sink: POST " + options_.url + ": HTTP " +
                             std::to_string(status) + " " + std::string(res.reason()));
}

}  // namespace gridgate::sink
