// The gridgate binary: the gateway daemon (no subcommand) and the offline
// operator tool (`gridgate spill verify|dump`).

#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "app/gateway.h"
#include "config/toml_loader.h"
#include "event/priority.h"
#include "tools/spill_tool.h"

namespace {

using gridgate::tools::kExitUsage;

constexpr char kDaemonFooter[] =
    "Without a command, gridgate runs the gateway: HTTP ingest on 127.0.0.1:8080, TCP ingest\n"
    "on 127.0.0.1:7070, the admin API on 127.0.0.1:8081, the file sink and the spill\n"
    "directory under ./var (see docs/configuration.md). SIGTERM or SIGINT stops ingest,\n"
    "writes what memory holds to the spill directory and exits 0. Exit 2: invalid\n"
    "configuration or usage; exit 1: the gateway could not start or stop cleanly.";

spdlog::level::level_enum SpdLevel(gridgate::config::LogLevel level) {
  using gridgate::config::LogLevel;
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// Runs the gateway until SIGTERM or SIGINT.
int RunDaemon(const gridgate::config::GatewayConfig& config, const std::string& ports_file) {
  // Signals are taken by sigwait in this thread, so every thread started
  // from here on inherits them blocked; a dead peer is an error, not a kill.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  spdlog::set_level(SpdLevel(config.log.level));
  auto gateway = gridgate::app::Gateway::Create(config);
  if (!gateway.ok()) {
    spdlog::error("cannot start: {}", gateway.status().ToString());
    return gateway.status().code() == gridgate::Status::Code::kInvalidArgument ? kExitUsage : 1;
  }
  if (gridgate::Status s = (*gateway)->Start(); !s.ok()) {
    spdlog::error("cannot start: {}", s.ToString());
    return s.code() == gridgate::Status::Code::kInvalidArgument ? kExitUsage : 1;
  }
  const gridgate::app::BoundPorts ports = (*gateway)->ports();
  if (!ports_file.empty()) {
    std::ofstream out(ports_file);
    out << "{\"http\":" << ports.http << ",\"tcp\":" << ports.tcp << ",\"admin\":" << ports.admin
        << "}\n";
  }
  spdlog::info("gridgate {} running", GRIDGATE_VERSION);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("{}: stopping", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  const gridgate::Status stopped = (*gateway)->Stop();
  return stopped.ok() ? 0 : 1;
}

constexpr char kSpillFooter[] =
    "Exit codes: 0 nothing damaged; 1 a damaged record, bad segment header or unreadable file\n"
    "was found; 2 bad usage, or DIR does not exist or is not a spill directory.\n"
    "Read-only: the LOCK is not taken and nothing is changed, so the commands may run beside\n"
    "a gateway (the segment it is writing may then show a torn tail). Offsets are data\n"
    "offsets, bytes after the 4096-byte segment header.";

// The help of the deepest subcommand that the command line selected, with
// its full name ("gridgate spill verify").
std::string SelectedHelp(const CLI::App& app) {
  const CLI::App* current = &app;
  std::string parents;
  for (;;) {
    const auto subs = current->get_subcommands();
    if (subs.empty()) {
      return current->help(parents);
    }
    parents += parents.empty() ? current->get_name() : " " + current->get_name();
    current = subs.front();
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("gridgate: an event gateway for smart-meter telemetry", "gridgate");
  app.set_version_flag("--version", std::string("gridgate ") + GRIDGATE_VERSION);

  CLI::App* spill = app.add_subcommand("spill", "Offline operations on a spill directory");
  spill->require_subcommand(1);
  spill->footer(kSpillFooter);

  std::string config_file;
  std::vector<std::string> overrides;
  bool print_config = false;
  std::string ports_file;
  app.add_option("--config", config_file, "Read the configuration from this TOML file");
  app.add_option("--set", overrides,
                 "Override one key, e.g. --set http.listen=127.0.0.1:0 (repeatable; after --config)");
  app.add_flag("--print-config", print_config, "Print the effective configuration and exit");
  app.add_option("--ports-file", ports_file,
                 "Write the bound ports as JSON to this file once listening (for tests, port 0)");

  std::string dir;
  CLI::App* verify = spill->add_subcommand(
      "verify", "Check every segment header and record; print a summary per level");
  verify->add_option("DIR", dir, "The spill directory")->required();
  verify->footer(kSpillFooter);

  std::string level_name;
  CLI::App* dump = spill->add_subcommand(
      "dump", "Print the records as NDJSON, in the order recovery would deliver them");
  dump->add_option("DIR", dir, "The spill directory")->required();
  dump->add_option("--level", level_name, "Only this level")
      ->check(CLI::IsMember({"critical", "high", "normal", "low"}));
  dump->footer(kSpillFooter);
  // Set last: a subcommand copies its parent's footer when it is added.
  app.footer(kDaemonFooter);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Bad usage: the error, the help of the command it concerns, exit 2.
    std::cerr << "gridgate: " << e.what() << "\n\n" << SelectedHelp(app);
    return kExitUsage;
  }

  if (verify->parsed()) {
    return gridgate::tools::VerifySpillDir(dir, std::cout, std::cerr);
  }
  if (dump->parsed()) {
    std::optional<gridgate::Priority> level;
    if (!level_name.empty()) {
      level = gridgate::ParsePriority(level_name);
    }
    return gridgate::tools::DumpSpillDir(dir, level, std::cout, std::cerr);
  }
  gridgate::config::GatewayConfig config;
  if (!config_file.empty()) {
    auto loaded = gridgate::config::LoadConfigFile(config_file);
    if (!loaded.ok()) {
      std::cerr << "gridgate: " << config_file << ": " << loaded.status().message() << "\n";
      return kExitUsage;
    }
    config = std::move(loaded).value();
  }
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos) {
      std::cerr << "gridgate: --set " << o << ": expected KEY=VALUE\n";
      return kExitUsage;
    }
    if (gridgate::Status s = gridgate::config::ApplyOverride(&config, o.substr(0, eq), o.substr(eq + 1));
        !s.ok()) {
      std::cerr << "gridgate: --set " << o << ": " << s.message() << "\n";
      return kExitUsage;
    }
  }
  if (gridgate::Status s = gridgate::config::ValidateConfig(config); !s.ok()) {
    std::cerr << "gridgate: invalid configuration: " << s.message() << "\n";
    return kExitUsage;
  }
  if (print_config) {
    std::cout << gridgate::config::RenderConfigToml(config);
    return 0;
  }
  return RunDaemon(config, ports_file);
}
