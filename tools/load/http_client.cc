#include "tools/load/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace gridgate::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

struct HttpClient::Impl {
  std::string host;
  uint16_t port;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  Result<HttpResponse> Request(http::verb verb, std::string_view target,
                               std::string_view content_type, std::string_view body) {
    // One retry on a fresh connection: a kept-alive connection the server
    // closed while idle fails on first use.
    Status last = Status::Ok();
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = stream != nullptr;
      auto r = Once(verb, target, content_type, body);
      if (r.ok()) {
        return r;
      }
      stream.reset();
      last = r.status();
      if (!reused) {
        break;
      }
    }
    return last;
  }

  Result<HttpResponse> Once(http::verb verb, std::string_view target, std::string_view content_type,
                            std::string_view body) {
    beast::error_code ec;
    if (!stream) {
      stream = std::make_unique<beast::tcp_stream>(io);
      buffer.clear();
      const auto address = asio::ip::make_address(host, ec);
      if (ec) {
        return Status::InvalidArgument("not a numeric address: " + host);
      }
      stream->expires_after(timeout);
      stream->connect(asio::ip::tcp::endpoint(address, port), ec);
      if (ec) {
        return Status::IoError("connect " + host + ":" + std::to_string(port) + ": " +
                               ec.message());
      }
      stream->socket().set_option(asio::ip::tcp::no_delay(true));
    }
    http::request<http::string_body> req(verb, std::string(target), 11);
    req.set(http::field::host, host);
    req.keep_alive(true);
    if (verb == http::verb::post) {
      req.set(http::field::content_type, std::string(content_type));
      req.body() = std::string(body);
      req.prepare_payload();
    }
    stream->expires_after(timeout);
    http::write(*stream, req, ec);
    if (ec) {
      return Status::IoError("send: " + ec.message());
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::size_t{64} << 20);
    http::read(*stream, buffer, parser, ec);
    if (ec) {
      return Status::IoError("read reply: " + ec.message());
    }
    auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.body = std::move(res.body());
    if (auto it = res.find(http::field::retry_after); it != res.end()) {
      out.retry_after = std::string(it->value());
    }
    if (!res.keep_alive()) {
      stream.reset();
    }
    return out;
  }
};

HttpClient::HttpClient(std::string host, uint16_t port, uint32_t timeout_ms)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = std::chrono::milliseconds(timeout_ms);
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::Get(std::string_view target) {
  return impl_->Request(http::verb::get, target, {}, {});
}

Result<HttpResponse> HttpClient::Post(std::string_view target, std::string_view content_type,
                                      std::string_view body) {
  return impl_->Request(http::verb::post, target, content_type, body);
}

}  // namespace gridgate::load
