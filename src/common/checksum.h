#pragma once

#include <cstdint>
#include <string_view>

namespace gridgate {

// The checksum of everything gridgate writes to disk: the low 32 bits of
// XXH3-64 (libxxhash). Thread-safe, no state.
uint32_t Checksum32(std::string_view data);

}  // namespace gridgate
