// Writes the seed corpus of json_decoder_fuzz into the folder named by
// argv[1] (created if missing): a selector byte (json_decoder_fuzz.cc says
// what it means) and a body, for each of the body forms with good and bad
// events. Generated at test time so that no seed files live in the repo.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/seed_corpus.h"

namespace {

constexpr char kJson = 0;
constexpr char kNdjson = 1;
constexpr char kSmallLimit = 2;

const std::string kExample =
    R"({"source":"hes-east-01","source_seq":90071992548,"meter_id":"1ND785727916NMD06",)"
    R"("type":"over_voltage","cim_code":"3.26.38.93","device_time":"2026-07-08T14:03:40.100Z",)"
    R"("headend_time":"2026-07-08T14:03:41.020Z","value":138.6,"unit":"V","phase":"A",)"
    R"("duration_ms":180000,"location":{"transformer":"T-4411","feeder":"F-12",)"
    R"("substation":"S-03"}})";
const std::string kSmall =
    R"({"source":"t","meter_id":"m","type":"x","vendor_code":"v","priority":"low",)"
    R"("device_time":"2026-07-08T14:03:40Z"})";
const std::string kGasp =
    R"({"source":"hes-1","meter_id":"00:13:50:05:ff:0d:dd:17","type":"last_gasp",)"
    R"("event_id":"e\u00e9\"1","quality":7,"raw":"a ] , }","device_time":"2026-07-08T14:03:40+00:00"})";

bool Write(const std::filesystem::path& dir, const std::string& name, char selector,
           const std::string& body) {
  return gridgate::fuzz::WriteSeedFile(dir, name, std::string_view(&selector, 1), body);
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  const std::optional<std::filesystem::path> corpus =
      gridgate::fuzz::SeedCorpusDir(argc, argv, &exit_code);
  if (!corpus) {
    return exit_code;
  }
  const std::filesystem::path& dir = *corpus;
  bool ok = true;
  ok &= Write(dir, "object", kJson, kExample);
  ok &= Write(dir, "array", kJson, "[" + kExample + ",\n" + kGasp + "," + kSmall + "]");
  ok &= Write(dir, "array-bad-element", kJson,
              "[" + kGasp + R"(,{"source":1},"str",{"a":[1,{"b":tru}]},)" + kSmall + "]");
  ok &= Write(dir, "array-broken", kJson, "[" + kGasp + ",{]}");
  ok &= Write(dir, "ndjson", kNdjson, kExample + "\n\r\n" + kGasp + "\r\n" + kSmall + "\n");
  ok &=
      Write(dir, "ndjson-bad-lines", kNdjson,
            kSmall + "\n{\"source\":\"a\"\n\xEF\xBB\xBF" + kSmall + "\n[1]\n" + kGasp + "\n" +
                R"({"source":"s","meter_id":"m","type":"t","device_time":"2026-02-30T00:00:00Z"})" +
                "\n" + kSmall.substr(0, kSmall.size() - 1) + ",\"n\":\"\xC3\x28\"}\n");
  ok &= Write(dir, "bom-object", kJson, "\xEF\xBB\xBF" + kSmall);
  ok &= Write(dir, "small-limit", kNdjson | kSmallLimit, kSmall + "\n" + kExample + "\n" + kSmall);
  ok &= Write(dir, "small-limit-array", kJson | kSmallLimit, "[" + kSmall + "," + kExample + "]");
  return ok ? 0 : 1;
}
