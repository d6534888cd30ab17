#include "spill/segment_format.h"

#include <cstdio>
#include <cstring>

#include "common/checksum.h"
#include "common/coding.h"

namespace gridgate::spill {

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string b(kHeaderUsedBytes, '\0');
  char* p = b.data();
  std::memcpy(p, kSegmentMagic, sizeof(kSegmentMagic));
  EncodeFixed32(p + 8, kSegmentFormatVersion);
  EncodeFixed32(p + 12, static_cast<uint32_t>(kSegmentHeaderBytes));
  EncodeFixed32(p + 16, h.block_bytes);
  p[20] = static_cast<char>(h.level);
  p[21] = static_cast<char>(h.state);
  EncodeFixed32(p + 24, h.slot);
  EncodeFixed64(p + 32, h.epoch);
  EncodeFixed64(p + 40, h.segment_bytes);
  EncodeFixed64(p + 48, h.start_offset);
  EncodeFixed64(p + 56, static_cast<uint64_t>(h.created_unix_ns));
  EncodeFixed32(p + 64, Checksum32(std::string_view(p, 64)));
  return b;
}

Result<SegmentHeader> DecodeSegmentHeader(std::string_view b) {
  if (b.size() < kHeaderUsedBytes) {
    return Status::Corruption("segment header is " + std::to_string(b.size()) + " bytes, needs " +
                              std::to_string(kHeaderUsedBytes));
  }
  const char* p = b.data();
  if (std::memcmp(p, kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return Status::Corruption("not a gridgate spill segment (bad magic)");
  }
  if (DecodeFixed32(p + 64) != Checksum32(std::string_view(p, 64))) {
    return Status::Corruption("segment header checksum mismatch");
  }
  const uint32_t version = DecodeFixed32(p + 8);
  if (version != kSegmentFormatVersion) {
    return Status::Corruption("segment format version " + std::to_string(version) +
                              " is not supported (this build reads " +
                              std::to_string(kSegmentFormatVersion) + ")");
  }
  if (DecodeFixed32(p + 12) != kSegmentHeaderBytes) {
    return Status::Corruption("segment header size is not " + std::to_string(kSegmentHeaderBytes));
  }
  SegmentHeader h;
  h.block_bytes = DecodeFixed32(p + 16);
  const uint8_t level = static_cast<uint8_t>(p[20]);
  const uint8_t state = static_cast<uint8_t>(p[21]);
  if (!IsValidPriority(level)) {
    return Status::Corruption("segment level " + std::to_string(level) + " is not a priority");
  }
  if (state > static_cast<uint8_t>(SegmentState::kLive)) {
    return Status::Corruption("segment state " + std::to_string(state) + " is unknown");
  }
  h.level = static_cast<Priority>(level);
  h.state = static_cast<SegmentState>(state);
  h.slot = DecodeFixed32(p + 24);
  h.epoch = DecodeFixed64(p + 32);
  h.segment_bytes = DecodeFixed64(p + 40);
  h.start_offset = DecodeFixed64(p + 48);
  h.created_unix_ns = static_cast<int64_t>(DecodeFixed64(p + 56));
  if (h.block_bytes == 0 || h.segment_bytes <= kSegmentHeaderBytes ||
      (h.segment_bytes - kSegmentHeaderBytes) % h.block_bytes != 0) {
    return Status::Corruption("segment size " + std::to_string(h.segment_bytes) +
                              " is not the header plus whole blocks of " +
                              std::to_string(h.block_bytes));
  }
  if (h.start_offset > h.segment_bytes - kSegmentHeaderBytes) {
    return Status::Corruption("segment start_offset lies past its end");
  }
  return h;
}

std::string SegmentFileName(uint32_t slot) {
  char name[32];
  std::snprintf(name, sizeof(name), "seg-%06u.spill", slot);
  return name;
}

int64_t ParseSegmentFileName(std::string_view name) {
  constexpr std::string_view kPrefix = "seg-";
  constexpr std::string_view kSuffix = ".spill";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return -1;
  }
  const std::string_view digits =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (digits.size() > 9) {
    return -1;
  }
  int64_t slot = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return -1;
    }
    slot = slot * 10 + (c - '0');
  }
  return SegmentFileName(static_cast<uint32_t>(slot)) == name ? slot : -1;
}

}  // namespace gridgate::spill
