// Fuzzes the writeback parsers: a block device's stat line (ParseBlockStat), its
// queue/write_cache text (ParseWriteCache: only the kernel's two words, trimmed) and the
// vmstat deltas taken from "name value" text (CounterDeltas over ParseKeyValues).
// Invariants: a stat line is accepted exactly when it is 11 or more whole unsigned
// numbers, and then each named field is the number at its position; fields written as
// the kernel writes them read back unchanged; a delta is after - before, and a reading
// minus itself is zero for every key it has.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/writeback.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

const char* const kNames[] = {
    "reads",         "reads_merged",    "sectors_read",    "read_ticks",        "writes",
    "writes_merged", "sectors_written", "write_ticks",     "in_flight",         "io_ticks",
    "time_in_queue", "discards",        "discards_merged", "sectors_discarded", "discard_ticks",
    "flushes",       "flush_ticks"};

// Accepted iff every word is a number and there are at least 11; fields by position.
void CheckAgainstWords(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::vector<uint64_t> numbers;
  bool all_numbers = true;
  for (std::string word; in >> word;) {
    auto value = mapbench::ParseUnsigned(word);
    all_numbers = all_numbers && value.has_value();
    if (value) numbers.push_back(*value);
  }
  const auto parsed = mapbench::ParseBlockStat(text);
  FUZZ_CHECK(parsed.has_value() == (all_numbers && numbers.size() >= 11));
  if (!parsed) return;
  FUZZ_CHECK(parsed->size() == std::min(numbers.size(), std::size(kNames)));
  for (size_t i = 0; i < parsed->size(); ++i) FUZZ_CHECK(parsed->at(kNames[i]) == numbers[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckAgainstWords(text);
  const auto cache = mapbench::ParseWriteCache(text);
  const std::string trimmed = mapbench::Trim(text);
  FUZZ_CHECK(cache.has_value() == (trimmed == "write back" || trimmed == "write through"));
  FUZZ_CHECK(!cache || *cache == (trimmed == "write back"));

  // A stat line of 11..17 fields written "%8lu %8lu ..." from the input's bytes.
  std::vector<uint64_t> fields;
  for (size_t i = 0; i + 8 <= size && fields.size() < 17; i += 8) {
    uint64_t value;
    std::memcpy(&value, data + i, 8);
    fields.push_back(value);
  }
  if (fields.size() >= 11) {
    std::string line;
    for (uint64_t value : fields) {
      std::string number = std::to_string(value);
      line += std::string(number.size() < 8 ? 8 - number.size() : 0, ' ') + number + " ";
    }
    line.back() = '\n';
    const auto parsed = mapbench::ParseBlockStat(line);
    FUZZ_CHECK(parsed && parsed->size() == fields.size());
    for (size_t i = 0; i < fields.size(); ++i) FUZZ_CHECK(parsed->at(kNames[i]) == fields[i]);
  }

  // Deltas between the two halves of the input read as vmstat text.
  const size_t half = size / 2;
  const mapbench::CounterValues before = mapbench::ParseKeyValues(text.substr(0, half));
  const mapbench::CounterValues after = mapbench::ParseKeyValues(text.substr(half));
  std::vector<std::string> keys;
  for (const auto& [key, value] : before) keys.push_back(key);
  for (const auto& [key, value] : after) keys.push_back(key);
  const auto deltas = mapbench::CounterDeltas(before, after, keys);
  for (const auto& [key, delta] : deltas) {
    FUZZ_CHECK(before.count(key) && after.count(key));
    FUZZ_CHECK(static_cast<uint64_t>(delta) == after.at(key) - before.at(key));
  }
  for (const std::string& key : keys) {
    FUZZ_CHECK(deltas.count(key) == (before.count(key) && after.count(key) ? 1u : 0u));
  }
  for (const auto& [key, delta] : mapbench::CounterDeltas(after, after, keys)) {
    FUZZ_CHECK(delta == 0);
  }
  mapbench::DeltaSeries series;
  series.Add(deltas);
  for (const auto& [key, delta] : deltas) {
    FUZZ_CHECK(series.Median(key) == static_cast<double>(delta));
  }
  return 0;
}
