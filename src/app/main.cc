// The gridgate binary. For now it carries only the offline operator tool
// (`gridgate spill verify|dump`); the daemon (ingest, sinks, admin API) is a
// later issue, and the binary says so rather than pretend to start it.

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>

#include "event/priority.h"
#include "tools/spill_tool.h"

namespace {

using gridgate::tools::kExitUsage;

constexpr char kDaemonNotBuilt[] =
    "The gateway daemon is not built yet: this binary has only the offline spill tool\n"
    "(gridgate spill verify|dump). Running gridgate without it, or with any other command,\n"
    "exits with status 2.";

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
  app.footer(kDaemonNotBuilt);

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
  std::cerr << app.help();
  return kExitUsage;
}
