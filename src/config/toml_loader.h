#pragma once

// The TOML configuration file: reading it into a GatewayConfig, changing one
// key from the command line, and printing the effective configuration in the
// same shape. docs/configuration.md lists every key.
//
// Every error is InvalidArgument (IoError for a file that cannot be read)
// whose message names the key and says what is wrong:
//   unknown key 'http.lsiten' (did you mean 'http.listen'?) (line 2)
//   http.max_body_bytes: expected an integer, got string (line 3)
//   http.max_connections: 0 is out of range [1, 1000000]
//   spill.fsync: 'sometimes' is not one of "never", "interval", "batch"
//   gateway.toml:4:9: TOML syntax error: ...
//   memory: low_watermark must be in [0, high_watermark)
// The first error wins; nothing is partly applied to the caller's config.
//
// Thread-safe (no shared state). toml++ is compiled only in toml_loader.cc,
// and none of its exceptions leave it.

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "config/gateway_config.h"

namespace gridgate::config {

// Reads and validates (ValidateConfig) the file at `path`. Keys the file does
// not set keep their defaults; an empty file is the default configuration.
// Syntax errors carry "<path>:<line>:<column>".
Result<GatewayConfig> LoadConfigFile(const std::string& path);

// As LoadConfigFile, from TOML text; syntax errors carry "line L, column C".
Result<GatewayConfig> LoadConfigString(std::string_view text);

// Sets one key, as `--set http.listen=127.0.0.1:0` does: `dotted_key` is the
// key's full name ("sink.file.max_files", "classifier.types.my_alarm") and
// `value` is read as a TOML value ("8080", "true", "[\"a\", \"b\"]",
// "\"quoted\""), or taken as a bare string when it is not one, or when the key
// wants a string. Checks the key's type and range only; `*config` is unchanged
// on error. Run ValidateConfig after the last override.
Status ApplyOverride(GatewayConfig* config, std::string_view dotted_key, std::string_view value);

// The configuration as a TOML document: every key with its value, sections in
// the order of docs/configuration.md, the classifier tables in full.
// LoadConfigString(RenderConfigToml(c)) gives back `c` (when c is valid).
std::string RenderConfigToml(const GatewayConfig& config);

}  // namespace gridgate::config
