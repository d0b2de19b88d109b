// Fuzzes the small text helpers every /proc and /sys reader uses (harness/kernel/system_files):
// ParseUnsigned, Trim and SelectedChoice. Invariants: ParseUnsigned accepts exactly the
// strings of decimal digits whose value fits in 64 bits, and the value is the digits'
// value; Trim removes exactly the surrounding blanks; the bracketed word of a sysfs
// choice list ("always [madvise] never") is the one SelectedChoice returns.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/kernel/system_files.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr char kBlank[] = " \t\r\n";

void CheckParseUnsigned(const std::string& text) {
  bool digits = !text.empty();
  unsigned __int128 value = 0;
  for (char c : text) {
    digits = digits && c >= '0' && c <= '9';
    if (digits && value <= UINT64_MAX) value = value * 10 + static_cast<unsigned>(c - '0');
  }
  const auto parsed = mapbench::ParseUnsigned(text);
  FUZZ_CHECK(parsed.has_value() == (digits && value <= UINT64_MAX));
  if (parsed) FUZZ_CHECK(*parsed == value);
}

void CheckTrim(const std::string& text) {
  const std::string trimmed = mapbench::Trim(text);
  const size_t begin = text.find_first_not_of(kBlank);
  if (begin == std::string::npos) {
    FUZZ_CHECK(trimmed.empty());
    return;
  }
  const size_t end = text.find_last_not_of(kBlank);
  FUZZ_CHECK(trimmed == text.substr(begin, end - begin + 1));
  FUZZ_CHECK(mapbench::Trim(trimmed) == trimmed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  CheckParseUnsigned(text);
  CheckTrim(text);
  const std::string choice = mapbench::SelectedChoice(text);
  const size_t open = text.find('[');
  if (open == std::string::npos || text.find(']', open) == std::string::npos) {
    FUZZ_CHECK(choice == mapbench::Trim(text));
  } else {
    FUZZ_CHECK(choice == text.substr(open + 1, text.find(']', open) - open - 1));
  }

  FuzzedDataProvider in(data, size);
  CheckParseUnsigned(std::to_string(in.ConsumeIntegral<uint64_t>()));
  // A sysfs choice file: words without blanks or brackets, one selected, a newline.
  std::vector<std::string> words;
  const size_t count = in.ConsumeIntegralInRange<size_t>(1, 8);
  for (size_t i = 0; i < count; ++i) {
    std::string word = in.ConsumeRandomLengthString(12);
    std::string clean;
    for (char c : word) {
      if (std::string(kBlank).find(c) == std::string::npos && c != '[' && c != ']' && c != '\0' &&
          c != '\v' && c != '\f')
        clean += c;
    }
    words.push_back(clean.empty() ? "never" : clean);
  }
  const size_t selected = in.ConsumeIntegralInRange<size_t>(0, count - 1);
  std::string file;
  for (size_t i = 0; i < count; ++i) {
    file += (i ? " " : "") + (i == selected ? "[" + words[i] + "]" : words[i]);
  }
  FUZZ_CHECK(mapbench::SelectedChoice(file + "\n") == words[selected]);
  return 0;
}
