#pragma once

#include <cstring>
#include <string>

namespace gridgate {

// The text of an errno value. Thread-safe, unlike std::strerror.
inline std::string ErrnoText(int err) {
  char buf[128];
  // The GNU strerror_r returns the message, in buf or in static storage.
  return ::strerror_r(err, buf, sizeof(buf));
}

}  // namespace gridgate
