#include "ingest/http/ingest_handler.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "common/json_escape.h"

namespace gridgate::ingest::http {
namespace {

// The media type of a Content-Type value, lower-cased, parameters and
// surrounding whitespace removed.
std::string MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
    content_type.remove_prefix(1);
  }
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) {
    content_type.remove_suffix(1);
  }
  std::string type(content_type);
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

std::optional<event::BodyFormat> FormatOf(std::string_view content_type) {
  const std::string type = MediaType(content_type);
  if (type == "application/json") {
    return event::BodyFormat::kJson;
  }
  if (type == "application/x-ndjson") {
    return event::BodyFormat::kNdjson;
  }
  return std::nullopt;
}

bool AnyRetryable(const IngestResult& result) {
  return std::any_of(result.refused.begin(), result.refused.end(),
                     [](const Refusal& r) { return r.retry_after_ms > 0; });
}

}  // namespace

std::string IngestReplyJson(const IngestResult& result) {
  std::string out;
  out.reserve(96 + result.refused.size() * 80);
  out += "{\"accepted\":" + std::to_string(result.accepted);
  out += ",\"refused\":" + std::to_string(result.refused.size());
  if (result.accepted > 0) {
    out += ",\"first_seq\":" + std::to_string(result.first_seq);
    out += ",\"last_seq\":" + std::to_string(result.last_seq);
  } else {
    out += ",\"first_seq\":null,\"last_seq\":null";
  }
  out += ",\"results\":[";
  for (size_t i = 0; i < result.refused.size(); ++i) {
    const Refusal& r = result.refused[i];
    out += i == 0 ? "{" : ",{";
    out += "\"index\":" + std::to_string(r.index);
    out += ",\"line\":" + std::to_string(r.line);
    out += ",\"reason\":";
    AppendJsonString(r.reason, &out);
    out += ",\"retry_after_ms\":" + std::to_string(r.retry_after_ms);
    out += "}";
  }
  out += "]}";
  return out;
}

void IngestHandler::RegisterOn(HttpServer* server) {
  server->Route("POST", std::string(kEventsPath),
                [this](const HttpRequest& request) { return Handle(request); });
}

HttpReply IngestHandler::Handle(const HttpRequest& request) {
  const std::optional<event::BodyFormat> format = FormatOf(request.content_type);
  if (!format) {
    return JsonError(415, "Content-Type must be application/json or application/x-ndjson, not '" +
                              request.content_type + "'");
  }
  result_ = IngestResult{};
  const Status status = pipeline_->Ingest(request.body, *format, &result_);
  if (!status.ok()) {
    if (status.code() == Status::Code::kInvalidArgument) {
      return JsonError(400, status.message());
    }
    return JsonError(500, status.ToString());
  }

  HttpReply reply;
  reply.content_type = "application/json";
  reply.body = IngestReplyJson(result_);
  if (result_.refused.empty()) {
    reply.status = 202;
  } else if (result_.RefusedForPressure()) {
    reply.status = 429;
    const uint64_t seconds =
        std::max<uint64_t>(1, (uint64_t{result_.MaxRetryAfterMs()} + 999) / 1000);
    reply.headers.emplace_back("Retry-After", std::to_string(seconds));
  } else if (result_.accepted == 0 && !AnyRetryable(result_)) {
    reply.status = 400;
  } else {
    reply.status = 207;
  }
  return reply;
}

}  // namespace gridgate::ingest::http
