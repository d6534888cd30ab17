#pragma once

// What the seed-corpus writers (json_decoder_seeds, segment_reader_seeds)
// share: the corpus folder from the command line, and one seed file.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>

namespace gridgate::fuzz {

// The folder named by argv[1], created if missing; nullopt (after a message
// on stderr, and with *exit_code set to 2 for bad usage or 1 when it cannot
// be created) otherwise.
inline std::optional<std::filesystem::path> SeedCorpusDir(int argc, char** argv, int* exit_code) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    *exit_code = 2;
    return std::nullopt;
  }
  const std::filesystem::path dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", argv[1], ec.message().c_str());
    *exit_code = 1;
    return std::nullopt;
  }
  return dir;
}

// Writes `selector` then `body` to dir/name; false when the write fails.
inline bool WriteSeedFile(const std::filesystem::path& dir, std::string_view name,
                          std::string_view selector, std::string_view body) {
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(selector.data(), static_cast<std::streamsize>(selector.size()));
  out.write(body.data(), static_cast<std::streamsize>(body.size()));
  return static_cast<bool>(out);
}

}  // namespace gridgate::fuzz
