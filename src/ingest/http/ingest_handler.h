#pragma once

// POST /api/v1/events: the HTTP ingest source. Takes a batch of events in one
// of the body forms of event/json_decoder.h and replies, per request, what was
// taken and, for each event that was not, why.
//
// Content-Type (parameters such as charset ignored, media type
// case-insensitive):
//   application/json      one object, or an array of objects
//   application/x-ndjson  one object per line
//   anything else (or none): 415.
//
// Reply body, for every status but 400-not-events, 413, 415:
//   {"accepted":N,"refused":M,"first_seq":S|null,"last_seq":S|null,
//    "results":[{"index":i,"line":l,"reason":"...","retry_after_ms":ms},...]}
// `results` lists only the refused events, in batch order; `line` is the
// 1-based NDJSON line (0 for application/json); first_seq/last_seq are the
// gateway sequence numbers of the first and last event taken, null when none
// was. Status:
//   202  every event taken (also for an empty array)
//   207  some taken, some refused; or none taken but some refusals retryable
//        and some not
//   429  none taken and every refusal is for pressure; Retry-After header in
//        whole seconds, rounded up, at least 1
//   400  none taken and no refusal retryable (every event malformed); or the
//        body is not events at all: {"error":"<the decoder's message>"}
//   500  the pipeline failed otherwise: {"error":"..."}

#include <string_view>

#include "ingest/http/http_server.h"
#include "ingest/ingest_pipeline.h"

namespace gridgate::ingest::http {

inline constexpr std::string_view kEventsPath = "/api/v1/events";

// The handler of POST /api/v1/events over one IngestPipeline.
//
// Thread-compatible, like the pipeline: it is called only on the server's
// network thread, and the daemon runs one, so one pipeline serves every HTTP
// connection. A server run on several threads would need a pipeline per
// thread. `pipeline` must outlive this handler; the handler must outlive the
// server it is registered on (or at least the io_context's run).
class IngestHandler {
 public:
  explicit IngestHandler(IngestPipeline* pipeline) : pipeline_(pipeline) {}

  // Registers POST kEventsPath on `server` (before server->Start()).
  void RegisterOn(HttpServer* server);

  // Answers one request (exposed for tests; the server calls it).
  HttpReply Handle(const HttpRequest& request);

 private:
  IngestPipeline* const pipeline_;
  IngestResult result_;  // reused across requests
};

// The reply body for `result` (see the top of this file).
std::string IngestReplyJson(const IngestResult& result);

}  // namespace gridgate::ingest::http
