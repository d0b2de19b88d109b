// Fuzzes the tunings journal parsers (ParseTuningsJournal, ParseJournalOwner) and the
// /proc/PID/stat reader that decides whether a journal's writer still runs: the journal
// is what root replays at the next start to restore kernel settings. Invariants: every
// path it accepts leads, once "." and ".." are walked, strictly below <root>/sys or
// <root>/proc/sys, and holds no tab, newline or NUL; entries and owner written by
// FormatTuningsJournal read back unchanged, the entries exactly when all their paths lead
// there (otherwise the whole journal is refused); an accepted owner names a real pid and
// formats back to itself; a stat line built from fields reads back its state and start.
#include <fuzzer/FuzzedDataProvider.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/run/tunings.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// Where an absolute path leads, walked component by component ("/a/./b/../c" -> {a, c}).
std::vector<std::string> Walk(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string part = path.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  return parts;
}

// True when `path` leads strictly below root/sys or root/proc/sys.
bool LeadsToTunable(const std::string& root, const std::string& path) {
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string::npos) return false;
  const std::vector<std::string> base = Walk(root), to = Walk(path);
  for (const std::vector<std::string>& dir :
       {std::vector<std::string>{"sys"}, std::vector<std::string>{"proc", "sys"}}) {
    std::vector<std::string> prefix = base;
    prefix.insert(prefix.end(), dir.begin(), dir.end());
    if (to.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), to.begin())) {
      return true;
    }
  }
  return false;
}

std::string PathFrom(FuzzedDataProvider& in, const std::string& root) {
  static const char* const kParts[] = {"sys", "proc", "kernel", "mm",  "..",    ".",
                                       "",    "vm",   "etc",    "8:1", "queue", "shadow"};
  std::string path = root == "/" ? "" : root;
  const size_t parts = in.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < parts; ++i) {
    path += "/";
    path += in.ConsumeBool() ? std::string(kParts[in.ConsumeIntegralInRange<size_t>(0, 11)])
                             : in.ConsumeRandomLengthString(8);
  }
  for (char& c : path) {
    if (c == '\t' || c == '\n') c = '_';
  }
  return path.empty() ? "/" : path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string root = in.ConsumeBool() ? "/" : "/tmp/fixture-root";
  const mapbench::SystemFiles system(root);

  const std::string text = in.ConsumeRandomLengthString(4096);
  std::string error;
  if (auto entries = mapbench::ParseTuningsJournal(text, system, &error)) {
    for (const mapbench::JournalEntry& e : *entries) {
      FUZZ_CHECK(LeadsToTunable(root, e.path));
      FUZZ_CHECK(e.path.find_first_of("\t\n") == std::string::npos);
      FUZZ_CHECK(e.value.find('\n') == std::string::npos);
    }
  } else {
    FUZZ_CHECK(error.find("not a tunable") != std::string::npos);
  }

  if (auto owner = mapbench::ParseJournalOwner(text)) {
    FUZZ_CHECK(owner->pid > 0 && owner->pid <= 0x7fffffff);
    FUZZ_CHECK(mapbench::ParseJournalOwner(mapbench::FormatTuningsJournal({}, *owner)) == *owner);
  }
  (void)mapbench::ParseProcessStat(text);

  mapbench::JournalOwner owner;
  owner.pid = in.ConsumeIntegralInRange<int64_t>(1, 0x7fffffff);
  owner.start_ticks = in.ConsumeIntegral<uint64_t>();
  owner.boot_id = in.ConsumeRandomLengthString(40);
  for (char& c : owner.boot_id) {
    if (std::isspace(static_cast<unsigned char>(c))) c = '-';
  }
  const std::string name = in.ConsumeRandomLengthString(20);  // may hold ')' and spaces
  std::string stat = std::to_string(owner.pid) + " (" + name + ") Z";
  for (int field = 4; field < 22; ++field) stat += " " + std::to_string(field);
  stat += " " + std::to_string(owner.start_ticks) + " 7 8\n";
  const auto parsed_stat = mapbench::ParseProcessStat(stat);
  FUZZ_CHECK(parsed_stat && parsed_stat->state == 'Z' &&
             parsed_stat->start_ticks == owner.start_ticks);

  std::vector<mapbench::JournalEntry> written;
  bool all_tunable = true;
  const size_t count = in.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < count; ++i) {
    mapbench::JournalEntry e{PathFrom(in, root), in.ConsumeRandomLengthString(16)};
    for (char& c : e.value) {
      if (c == '\n') c = ' ';
    }
    all_tunable = all_tunable && LeadsToTunable(root, e.path);
    written.push_back(e);
  }
  const bool with_owner = in.ConsumeBool();
  const std::string journal = with_owner ? mapbench::FormatTuningsJournal(written, owner)
                                         : mapbench::FormatTuningsJournal(written);
  FUZZ_CHECK(mapbench::ParseJournalOwner(journal) ==
             (with_owner ? std::optional<mapbench::JournalOwner>(owner) : std::nullopt));
  error.clear();
  const auto read = mapbench::ParseTuningsJournal(journal, system, &error);
  FUZZ_CHECK(read.has_value() == all_tunable);
  if (read) FUZZ_CHECK(*read == written);
  return 0;
}
