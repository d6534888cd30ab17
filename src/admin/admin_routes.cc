#include "admin/admin_routes.h"

#include <memory>
#include <utility>

namespace gridgate::admin {

using ingest::http::HttpReply;
using ingest::http::HttpRequest;
using ingest::http::JsonError;

namespace {

HttpReply Text(int status, std::string body) {
  HttpReply reply;
  reply.status = status;
  reply.content_type = "text/plain; charset=utf-8";
  reply.body = std::move(body);
  return reply;
}

}  // namespace

void RegisterAdminRoutes(ingest::http::HttpServer* server, AdminProviders providers) {
  // Shared by the four handlers; lives as long as the routes do.
  auto p = std::make_shared<AdminProviders>(std::move(providers));

  server->Route("GET", kBackpressurePath, [p](const HttpRequest&) {
    if (!p->backpressure_json) {
      return JsonError(500, "no backpressure provider");
    }
    HttpReply reply;
    reply.content_type = "application/json";
    reply.body = p->backpressure_json();
    return reply;
  });
  server->Route("GET", kMetricsPath, [p](const HttpRequest&) {
    if (!p->metrics_text) {
      return JsonError(500, "no metrics provider");
    }
    HttpReply reply = Text(200, p->metrics_text());
    reply.content_type = std::string(kPrometheusContentType);
    return reply;
  });
  server->Route("GET", kHealthzPath, [](const HttpRequest&) { return Text(200, "ok\n"); });
  server->Route("GET", kReadyzPath, [p](const HttpRequest&) {
    if (!p->ready) {
      return JsonError(500, "no readiness provider");
    }
    return p->ready() ? Text(200, "ready\n") : Text(503, "not ready\n");
  });
}

}  // namespace gridgate::admin
