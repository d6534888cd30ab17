#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gridgate::load {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, or empty
};

// A blocking HTTP/1.1 client for one host: keeps its connection alive between
// requests and opens it again after an error or a close. Beast stays inside
// http_client.cc.
//
// Not thread-safe: one owner thread.
class HttpClient {
 public:
  // `host` is a numeric address. Connects nothing yet.
  HttpClient(std::string host, uint16_t port, uint32_t timeout_ms = 10'000);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // IoError when the request cannot be sent or the reply not read in time.
  Result<HttpResponse> Get(std::string_view target);
  Result<HttpResponse> Post(std::string_view target, std::string_view content_type,
                            std::string_view body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridgate::load
