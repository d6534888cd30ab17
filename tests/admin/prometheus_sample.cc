// Prints the Prometheus exposition of a real filter after the admin test
// scenario, for `promtool check metrics` (tests/CMakeLists.txt).
//
// Usage: admin_prometheus_sample SPILL_DIR   (emptied and reused)
// Exit code 0 with the exposition on stdout; 1 with a message on stderr.

#include <filesystem>
#include <iostream>
#include <string>

#include "admin/admin_scenario.h"
#include "admin/prometheus_text.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: admin_prometheus_sample SPILL_DIR\n";
    return 1;
  }
  const std::string dir = argv[1];
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  gridgate::admin::testing::AdminScenario scenario(dir);
  if (const gridgate::Status st = scenario.Run(); !st.ok()) {
    std::cerr << "scenario failed: " << st.ToString() << "\n";
    return 1;
  }
  std::cout << gridgate::admin::RenderPrometheus(scenario.Snapshot());
  return std::cout.good() ? 0 : 1;
}
