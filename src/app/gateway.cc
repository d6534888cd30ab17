#include "app/gateway.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <mutex>
#include <thread>

#include "admin/admin_routes.h"
#include "admin/backpressure_json.h"
#include "admin/prometheus_text.h"
#include "dispatch/dispatcher.h"
#include "drain/drain_task.h"
#include "event/classifier.h"
#include "filter/backpressure_filter.h"
#include "ingest/http/http_server.h"
#include "ingest/http/ingest_handler.h"
#include "ingest/ingest_pipeline.h"
#include "ingest/tcp/tcp_server.h"
#include "sink/file/file_sink.h"
#include "sink/http/http_sink.h"
#include "sink/stdout/stdout_sink.h"

#ifndef GRIDGATE_VERSION
#define GRIDGATE_VERSION "unknown"
#endif

namespace gridgate::app {

namespace {

Status Prefixed(std::string_view what, const Status& s) {
  return Status(s.code() == Status::Code::kInvalidArgument
                    ? Status::InvalidArgument(std::string(what) + ": " + s.message())
                    : Status::IoError(std::string(what) + ": " + s.message()));
}

Result<std::unique_ptr<sink::Sink>> MakeSink(const config::SinkConfig& c) {
  switch (c.type) {
    case config::SinkType::kFile: {
      sink::FileSinkOptions o;
      o.path = c.file.path;
      o.max_file_bytes = c.file.max_file_bytes;
      o.max_files = static_cast<int>(c.file.max_files);
      o.fsync_each_batch = c.file.fsync_each_batch;
      auto s = sink::FileSink::Create(o);
      if (!s.ok()) {
        return s.status();
      }
      return std::unique_ptr<sink::Sink>(std::move(s).value());
    }
    case config::SinkType::kStdout: {
      auto s = sink::StdoutSink::Create(sink::StdoutSinkOptions{});
      if (!s.ok()) {
        return s.status();
      }
      return std::unique_ptr<sink::Sink>(std::move(s).value());
    }
    case config::SinkType::kHttp: {
      sink::HttpSinkOptions o;
      o.url = c.http.url;
      o.timeout_ms = c.http.timeout_ms;
      auto s = sink::HttpSink::Create(o);
      if (!s.ok()) {
        return s.status();
      }
      return std::unique_ptr<sink::Sink>(std::move(s).value());
    }
  }
  return Status::InvalidArgument("sink.type is unknown");
}

}  // namespace

struct Gateway::Impl {
  config::GatewayConfig config;
  std::unique_ptr<filter::BackpressureFilter> filter;
  std::unique_ptr<event::Classifier> classifier;
  std::unique_ptr<sink::Sink> sink;
  std::unique_ptr<drain::DrainTask> drain;
  std::unique_ptr<dispatch::Dispatcher> dispatcher;

  boost::asio::io_context io{1};
  std::thread network;
  ingest::IngestCounters ingest_counters;
  std::unique_ptr<ingest::IngestPipeline> http_pipeline;
  std::unique_ptr<ingest::http::IngestHandler> ingest_handler;
  std::unique_ptr<ingest::http::HttpServer> http;
  std::unique_ptr<ingest::http::HttpServer> admin;
  std::unique_ptr<ingest::tcp::TcpServer> tcp;
  bool started = false;
  bool stopped = false;
  std::chrono::steady_clock::time_point start_time = std::chrono::steady_clock::now();

  // Rates: counters at the previous sample, taken at most once a second.
  mutable std::mutex rate_mu;
  mutable std::chrono::steady_clock::time_point rate_time = start_time;
  mutable uint64_t rate_accepted = 0;
  mutable uint64_t rate_delivered = 0;
  mutable double ingest_rate = 0;
  mutable double dispatch_rate = 0;
};

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() {
  if (impl_->started && !impl_->stopped) {
    (void)Stop();
  }
}

Result<std::unique_ptr<Gateway>> Gateway::Create(const config::GatewayConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  auto classifier = event::Classifier::Create(config::ToClassifierRules(config));
  if (!classifier.ok()) {
    return Prefixed("classifier", classifier.status());
  }
  impl->classifier = std::move(classifier).value();
  auto filter = filter::BackpressureFilter::Create(config::ToFilterOptions(config));
  if (!filter.ok()) {
    return Prefixed(config.spill.enabled ? "memory/spill" : "memory", filter.status());
  }
  impl->filter = std::move(filter).value();
  auto sink = MakeSink(config.sink);
  if (!sink.ok()) {
    return Prefixed("sink", sink.status());
  }
  impl->sink = std::move(sink).value();
  const filter::FilterStats stats = impl->filter->Stats();
  if (stats.spill_enabled) {
    spdlog::info("spill directory {}: {} events recovered, {} damaged records passed over",
                 config.spill.dir, stats.Recovered(), stats.spill.corrupt_records);
  }
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Status Gateway::Start() {
  Impl& g = *impl_;
  auto http_listen = config::ParseListen(g.config.http.listen, "http.listen");
  auto tcp_listen = config::ParseListen(g.config.tcp.listen, "tcp.listen");
  auto admin_listen = config::ParseListen(g.config.admin.listen, "admin.listen");
  for (const auto* l : {&http_listen, &tcp_listen, &admin_listen}) {
    if (!l->ok()) {
      return l->status();
    }
  }
  auto pipeline = ingest::IngestPipeline::Create(g.filter.get(), g.classifier.get(),
                                                 config::ToDecodeOptions(g.config), SystemClock(),
                                                 &g.ingest_counters);
  if (!pipeline.ok()) {
    return pipeline.status();
  }
  g.http_pipeline = std::move(pipeline).value();

  ingest::http::HttpServerOptions http_options;
  http_options.host = http_listen->host;
  http_options.port = http_listen->port;
  http_options.max_connections = g.config.http.max_connections;
  http_options.max_body_bytes = g.config.http.max_body_bytes;
  http_options.idle_timeout_ms = g.config.http.idle_timeout_ms;
  auto http = ingest::http::HttpServer::Create(&g.io, http_options);
  if (!http.ok()) {
    return Prefixed("http.listen", http.status());
  }
  g.http = std::move(http).value();
  g.ingest_handler = std::make_unique<ingest::http::IngestHandler>(g.http_pipeline.get());
  g.ingest_handler->RegisterOn(g.http.get());

  ingest::tcp::TcpServerOptions tcp_options;
  tcp_options.host = tcp_listen->host;
  tcp_options.port = tcp_listen->port;
  tcp_options.max_line_bytes = g.config.tcp.max_line_bytes;
  tcp_options.max_connections = g.config.tcp.max_connections;
  tcp_options.idle_timeout_ms = g.config.tcp.idle_timeout_ms;
  auto tcp_pipeline = ingest::IngestPipeline::Create(g.filter.get(), g.classifier.get(),
                                                     config::ToDecodeOptions(g.config),
                                                     SystemClock(), &g.ingest_counters);
  if (!tcp_pipeline.ok()) {
    return tcp_pipeline.status();
  }
  auto tcp = ingest::tcp::TcpServer::Create(&g.io, tcp_options, std::move(tcp_pipeline).value());
  if (!tcp.ok()) {
    return Prefixed("tcp.listen", tcp.status());
  }
  g.tcp = std::move(tcp).value();

  ingest::http::HttpServerOptions admin_options;
  admin_options.host = admin_listen->host;
  admin_options.port = admin_listen->port;
  auto admin = ingest::http::HttpServer::Create(&g.io, admin_options);
  if (!admin.ok()) {
    return Prefixed("admin.listen", admin.status());
  }
  g.admin = std::move(admin).value();
  admin::RegisterAdminRoutes(
      g.admin.get(),
      admin::AdminProviders{
          .backpressure_json = [this] { return admin::RenderBackpressureJson(Snapshot()); },
          .metrics_text = [this] { return admin::RenderPrometheus(Snapshot()); },
          .ready = [this] { return impl_->started && !impl_->stopped; },
      });

  g.drain = std::make_unique<drain::DrainTask>(g.filter.get(), drain::DrainTaskOptions{},
                                               config::ToFilterOptions(g.config));
  g.dispatcher = std::make_unique<dispatch::Dispatcher>(g.filter.get(), g.sink.get(),
                                                        config::ToDispatcherOptions(g.config));
  g.drain->Start();
  g.dispatcher->Start();
  g.http->Start();
  g.tcp->Start();
  g.admin->Start();
  g.network = std::thread([&g] { g.io.run(); });
  g.started = true;
  const BoundPorts p = ports();
  spdlog::info("http ingest listening on {}:{}", http_listen->host, p.http);
  spdlog::info("tcp ingest listening on {}:{}", tcp_listen->host, p.tcp);
  spdlog::info("admin api listening on {}:{}", admin_listen->host, p.admin);
  return Status::Ok();
}

BoundPorts Gateway::ports() const {
  BoundPorts p;
  if (impl_->http != nullptr) {
    p.http = impl_->http->port();
  }
  if (impl_->tcp != nullptr) {
    p.tcp = impl_->tcp->port();
  }
  if (impl_->admin != nullptr) {
    p.admin = impl_->admin->port();
  }
  return p;
}

Status Gateway::Stop() {
  Impl& g = *impl_;
  if (g.stopped) {
    return Status::Ok();
  }
  g.stopped = true;
  // Ingest first: no new events while the rest winds down.
  if (g.http != nullptr) {
    g.http->Stop();
    g.tcp->Stop();
    g.admin->Stop();
  }
  g.io.stop();
  if (g.network.joinable()) {
    g.network.join();
  }
  g.filter->Shutdown();
  if (g.dispatcher != nullptr) {
    g.dispatcher->Stop();  // its batch in flight is acked or returned
  }
  if (g.drain != nullptr) {
    g.drain->Stop();
  }
  const filter::FilterStats before = g.filter->Stats();
  Status flushed = Status::Ok();
  if (before.spill_enabled) {
    flushed = g.filter->FlushToDisk();
    const filter::FilterStats after = g.filter->Stats();
    if (flushed.ok()) {
      spdlog::info("stopped: {} events written to {} for the next start, {} delivered",
                   after.OnDisk(), g.config.spill.dir, after.Delivered());
    } else {
      spdlog::error("stopped: the flush to {} failed ({}); {} events in memory are lost",
                    g.config.spill.dir, flushed.ToString(), after.Queued());
    }
  } else if (before.Queued() > 0) {
    spdlog::warn("stopped without a spill directory: {} queued events are dropped",
                 before.Queued());
  }
  return flushed;
}

admin::GatewaySnapshot Gateway::Snapshot() const {
  const Impl& g = *impl_;
  admin::GatewaySnapshot s;
  s.filter = g.filter->Stats();
  s.version = GRIDGATE_VERSION;
  s.ingest_requests = g.ingest_counters.requests.load(std::memory_order_relaxed);
  s.ingest_events = g.ingest_counters.events.load(std::memory_order_relaxed);
  s.ingest_invalid_events = g.ingest_counters.invalid.load(std::memory_order_relaxed);
  s.ingest_bad_bodies = g.ingest_counters.bad_bodies.load(std::memory_order_relaxed);
  s.timestamp_unix_ms = SystemClock()->UnixNs() / 1'000'000;
  const auto now = std::chrono::steady_clock::now();
  s.uptime_seconds = std::chrono::duration<double>(now - g.start_time).count();
  {
    std::lock_guard lock(g.rate_mu);
    const double dt = std::chrono::duration<double>(now - g.rate_time).count();
    if (dt >= 1.0) {
      g.ingest_rate = static_cast<double>(s.filter.Accepted() - g.rate_accepted) / dt;
      g.dispatch_rate = static_cast<double>(s.filter.Delivered() - g.rate_delivered) / dt;
      g.rate_accepted = s.filter.Accepted();
      g.rate_delivered = s.filter.Delivered();
      g.rate_time = now;
    }
    s.ingest_events_per_second = g.ingest_rate;
    s.dispatch_events_per_second = g.dispatch_rate;
  }
  if (g.dispatcher != nullptr) {
    const dispatch::DispatcherStats d = g.dispatcher->Stats();
    for (Priority p : kAllPriorities) {
      const size_t i = LevelIndex(p);
      if (d.latency_samples[i] > 0) {
        s.delivery_latency[i] =
            admin::LatencyQuantiles{static_cast<double>(d.latency_p50_ns[i]) / 1e6,
                                    static_cast<double>(d.latency_p99_ns[i]) / 1e6};
      }
    }
  }
  return s;
}

}  // namespace gridgate::app
