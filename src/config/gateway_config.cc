#include "config/gateway_config.h"

#include <arpa/inet.h>

#include <charconv>
#include <string>
#include <utility>

namespace gridgate::config {
namespace {

Status Invalid(std::string_view key, const std::string& what) {
  return Status::InvalidArgument(std::string(key) + ": " + what);
}

// "<section>: <message>", without the validator's own "spill " or "dispatch "
// lead-in, and with the modules' field names turned into the file's keys.
Status InSection(std::string_view section, const Status& s) {
  std::string message = s.message();
  const std::string lead = std::string(section) + " ";
  if (message.starts_with(lead)) {
    message.erase(0, lead.size());
  }
  if (section == "memory") {
    // FilterOptions says high_watermark_fraction where the file says high_watermark.
    for (size_t pos; (pos = message.find("_fraction")) != std::string::npos;) {
      message.erase(pos, std::string_view("_fraction").size());
    }
  }
  return Status::InvalidArgument(std::string(section) + ": " + message);
}

bool IsHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

Status CheckListen(const std::string& text, std::string_view key) {
  Result<HostPort> r = ParseListen(text, key);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace

std::string_view SinkTypeName(SinkType type) {
  switch (type) {
    case SinkType::kFile:
      return "file";
    case SinkType::kStdout:
      return "stdout";
    case SinkType::kHttp:
      return "http";
  }
  return "unknown";
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

std::map<std::string, Priority> ClassifierConfig::DefaultTypes() {
  const event::ClassifierRules rules = event::ClassifierRules::Default();
  return {rules.type_priority.begin(), rules.type_priority.end()};
}

std::map<std::string, std::string> ClassifierConfig::DefaultCimCodes() {
  const event::ClassifierRules rules = event::ClassifierRules::Default();
  return {rules.cim_code_type.begin(), rules.cim_code_type.end()};
}

Result<HostPort> ParseListen(std::string_view text, std::string_view key) {
  const std::string quoted = "'" + std::string(text) + "'";
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Invalid(key, quoted + " is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);

  HostPort out;
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) {
      return Invalid(key, quoted + ": an IPv6 address goes in brackets, as [::1]:8080");
    }
    host = host.substr(1, host.size() - 2);
    in6_addr addr6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &addr6) != 1) {
      return Invalid(key, quoted + ": '" + std::string(host) + "' is not an IPv6 address");
    }
  } else if (host.find(':') != std::string_view::npos) {
    return Invalid(key, quoted + ": an IPv6 address goes in brackets, as [::1]:8080");
  } else if (host.empty()) {
    return Invalid(key, quoted + " has no host (use 0.0.0.0 for every interface)");
  } else {
    for (char c : host) {
      if (!IsHostNameChar(c)) {
        return Invalid(key, quoted + ": '" + std::string(host) + "' is not a host name");
      }
    }
    // All digits and dots: it has to be a dotted IPv4 address, not a name.
    if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
      in_addr addr4;
      if (inet_pton(AF_INET, std::string(host).c_str(), &addr4) != 1) {
        return Invalid(key, quoted + ": '" + std::string(host) + "' is not an IPv4 address");
      }
    }
  }
  out.host = std::string(host);

  uint32_t port = 0;
  const char* end = port_text.data() + port_text.size();
  auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc() || ptr != end || port > 65535) {
    return Invalid(key, quoted + ": the port must be a number from 0 to 65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

Status ValidateConfig(const GatewayConfig& c) {
  if (Status s = CheckListen(c.http.listen, "http.listen"); !s.ok()) {
    return s;
  }
  if (Status s = CheckListen(c.tcp.listen, "tcp.listen"); !s.ok()) {
    return s;
  }
  if (Status s = CheckListen(c.admin.listen, "admin.listen"); !s.ok()) {
    return s;
  }
  // Two sources on one fixed port cannot both bind; port 0 is always distinct.
  const std::pair<std::string_view, const std::string*> listens[] = {
      {"http.listen", &c.http.listen},
      {"tcp.listen", &c.tcp.listen},
      {"admin.listen", &c.admin.listen}};
  for (size_t i = 0; i < std::size(listens); ++i) {
    for (size_t j = 0; j < i; ++j) {
      const HostPort a = ParseListen(*listens[i].second).value();
      const HostPort b = ParseListen(*listens[j].second).value();
      if (a.port != 0 && a == b) {
        return Invalid(listens[i].first,
                       "'" + *listens[i].second + "' is also " + std::string(listens[j].first));
      }
    }
  }

  if (c.http.max_body_bytes < c.events.max_event_bytes) {
    return Invalid("http.max_body_bytes", std::to_string(c.http.max_body_bytes) +
                                              " must be at least events.max_event_bytes (" +
                                              std::to_string(c.events.max_event_bytes) + ")");
  }
  if (c.tcp.max_line_bytes < c.events.max_event_bytes) {
    return Invalid("tcp.max_line_bytes", std::to_string(c.tcp.max_line_bytes) +
                                             " must be at least events.max_event_bytes (" +
                                             std::to_string(c.events.max_event_bytes) + ")");
  }

  filter::FilterOptions memory = ToFilterOptions(c);
  memory.spill.reset();
  if (Status s = memory.Validate(); !s.ok()) {
    return InSection("memory", s);
  }
  if (c.spill.enabled) {
    if (Status s = ToSpillOptions(c).Validate(memory.MaxRecordBytes()); !s.ok()) {
      return InSection("spill", s);
    }
  }

  if (c.dispatch.backoff_max_ms < c.dispatch.backoff_initial_ms) {
    return Invalid("dispatch.backoff_max_ms",
                   std::to_string(c.dispatch.backoff_max_ms) +
                       " must be at least dispatch.backoff_initial_ms (" +
                       std::to_string(c.dispatch.backoff_initial_ms) + ")");
  }
  if (Status s = ToDispatcherOptions(c).Validate(); !s.ok()) {
    return InSection("dispatch", s);
  }

  if (c.sink.type == SinkType::kFile && c.sink.file.path.empty()) {
    return Invalid("sink.file.path", "required when sink.type is \"file\"");
  }
  if (c.sink.type == SinkType::kHttp) {
    const std::string& url = c.sink.http.url;
    if (url.empty()) {
      return Invalid("sink.http.url", "required when sink.type is \"http\"");
    }
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      return Invalid("sink.http.url", "'" + url + "' must start with http:// or https://");
    }
  }

  for (size_t i = 0; i < c.classifier.trusted_sources.size(); ++i) {
    const std::string& source = c.classifier.trusted_sources[i];
    if (source.empty() || event::Utf8Chars(source) > event::kMaxSourceChars) {
      return Invalid("classifier.trusted_sources[" + std::to_string(i) + "]",
                     "'" + source + "' must be 1 to " + std::to_string(event::kMaxSourceChars) +
                         " characters");
    }
  }
  Result<std::unique_ptr<event::Classifier>> classifier =
      event::Classifier::Create(ToClassifierRules(c));
  if (!classifier.ok()) {
    return InSection("classifier", classifier.status());
  }
  return Status::Ok();
}

spill::SpillOptions ToSpillOptions(const GatewayConfig& c) {
  spill::SpillOptions s;
  s.dir = c.spill.dir;
  s.segment_bytes = c.spill.segment_bytes;
  s.block_bytes = c.spill.block_bytes;
  s.disk_budget_bytes = c.spill.disk_budget_bytes;
  s.fsync = c.spill.fsync;
  s.fsync_interval_ms = c.spill.fsync_interval_ms;
  s.mode = c.spill.mode;
  return s;
}

filter::FilterOptions ToFilterOptions(const GatewayConfig& c) {
  filter::FilterOptions f;
  f.budget_bytes = c.memory.budget_bytes;
  f.high_watermark_fraction = c.memory.high_watermark;
  f.low_watermark_fraction = c.memory.low_watermark;
  f.critical_reserve_fraction = c.memory.critical_reserve;
  f.high_reserve_fraction = c.memory.high_reserve;
  f.slab_bytes = c.memory.slab_bytes;
  f.max_event_bytes = c.events.max_event_bytes;
  f.release_quiet_period_ms = c.memory.release_quiet_period_ms;
  f.retry_after_min_ms = c.memory.retry_after_min_ms;
  f.retry_after_max_ms = c.memory.retry_after_max_ms;
  f.retry_after_default_ms = c.memory.retry_after_default_ms;
  if (c.spill.enabled) {
    f.spill = ToSpillOptions(c);
  }
  return f;
}

dispatch::DispatcherOptions ToDispatcherOptions(const GatewayConfig& c) {
  dispatch::DispatcherOptions d;
  d.batch.max_events = c.dispatch.max_batch_events;
  d.batch.max_bytes = c.dispatch.max_batch_bytes;
  d.pop_timeout = std::chrono::milliseconds(c.dispatch.pop_timeout_ms);
  d.backoff_initial = std::chrono::milliseconds(c.dispatch.backoff_initial_ms);
  d.backoff_max = std::chrono::milliseconds(c.dispatch.backoff_max_ms);
  return d;
}

event::ClassifierRules ToClassifierRules(const GatewayConfig& c) {
  event::ClassifierRules rules;
  rules.type_priority.insert(c.classifier.types.begin(), c.classifier.types.end());
  rules.cim_code_type.insert(c.classifier.cim_codes.begin(), c.classifier.cim_codes.end());
  rules.vendor_code_type.insert(c.classifier.vendor_codes.begin(), c.classifier.vendor_codes.end());
  rules.trusted_sources.insert(c.classifier.trusted_sources.begin(),
                               c.classifier.trusted_sources.end());
  return rules;
}

event::DecodeOptions ToDecodeOptions(const GatewayConfig& c) {
  event::DecodeOptions d;
  d.max_event_bytes = c.events.max_event_bytes;
  return d;
}

}  // namespace gridgate::config
