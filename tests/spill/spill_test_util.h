#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "spill/segment_format.h"

// File helpers for tests that open a real spill directory: a fresh temporary
// directory per test, and byte-level edits of segment files on disk (the way
// a torn write or a flipped bit would leave them).

namespace gridgate::spill {

// Creates a fresh directory under ::testing::TempDir(); fails the test (and
// returns "") when it cannot.
inline std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir();
  if (!tmpl.empty() && tmpl.back() != '/') {
    tmpl.push_back('/');
  }
  tmpl += "gridgate_spill_XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << std::strerror(errno);
    return "";
  }
  return tmpl;
}

// Removes `path` and everything below it; a no-op for "".
inline void RemoveTree(const std::string& path) {
  if (path.empty()) {
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  EXPECT_FALSE(ec) << "cannot remove " << path << ": " << ec.message();
}

// The names in `dir` that are segment files (seg-NNNNNN.spill), sorted.
inline std::vector<std::string> SegmentFileNames(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (ParseSegmentFileName(name) >= 0) {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Writes `bytes` at file offset `offset` of `path` (pwrite, no truncation).
inline void WriteAt(const std::string& path, uint64_t offset, const std::string& bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << "open " << path << ": " << std::strerror(errno);
  const ssize_t n = pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
  close(fd);
  ASSERT_EQ(n, static_cast<ssize_t>(bytes.size())) << "pwrite " << path;
}

// `size` bytes at file offset `offset` of `path`; fewer at the end of the file.
inline std::string ReadAt(const std::string& path, uint64_t offset, size_t size) {
  std::string bytes(size, '\0');
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << "open " << path << ": " << std::strerror(errno);
  if (fd < 0) {
    return "";
  }
  const ssize_t n = pread(fd, bytes.data(), size, static_cast<off_t>(offset));
  close(fd);
  bytes.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return bytes;
}

// Inverts every bit of the byte at file offset `offset` of `path`.
inline void FlipByte(const std::string& path, uint64_t offset) {
  std::string byte = ReadAt(path, offset, 1);
  ASSERT_EQ(byte.size(), 1u) << path << " has no byte at " << offset;
  byte[0] = static_cast<char>(~static_cast<unsigned char>(byte[0]));
  WriteAt(path, offset, byte);
}

}  // namespace gridgate::spill
