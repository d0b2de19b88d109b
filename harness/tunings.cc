#include "harness/tunings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/resources.h"

namespace mapbench {
namespace {

// "hugepages-2048kB" -> "2M"; "hugepages-64kB" -> "64K".
std::string SizeName(const std::string& dir) {
  std::string kb = dir.substr(std::strlen("hugepages-"));
  auto value = ParseUnsigned(kb.substr(0, kb.size() - 2));
  if (!value) return kb;
  if (*value % (1024 * 1024) == 0) return std::to_string(*value / (1024 * 1024)) + "G";
  if (*value % 1024 == 0) return std::to_string(*value / 1024) + "M";
  return std::to_string(*value) + "K";
}

// The choices a sysfs "a [b] c" file offers, as "a|b|c".
std::string ChoicesOf(const std::string& text) {
  std::istringstream in(text);
  std::string word, choices;
  while (in >> word) {
    if (word.front() == '[') word = word.substr(1, word.size() - 2);
    choices += (choices.empty() ? "" : "|") + word;
  }
  return choices;
}

void AddChoiceKnob(const SystemFiles& system, std::vector<KnobInfo>& knobs, const std::string& name,
                   const std::string& path, const std::string& help) {
  auto text = system.ReadLine(path);
  if (!text || text->find('[') == std::string::npos) return;
  knobs.push_back({name, path, ChoicesOf(*text), help});
}

void AddIntegerKnob(const SystemFiles& system, std::vector<KnobInfo>& knobs, const std::string& name,
                    const std::string& path, uint64_t low, uint64_t high, const std::string& help) {
  if (!system.ReadLine(path)) return;
  knobs.push_back({name, path, "integer " + std::to_string(low) + ".." + std::to_string(high), help});
}

// Async-signal-safe copy of what to restore: fixed storage, filled as tunings apply.
constexpr int kMaxSaved = 64;
constexpr int kMaxText = 512;
struct SavedSetting {
  char path[kMaxText];
  char value[kMaxText];
};
SavedSetting saved_settings[kMaxSaved];
std::atomic<int> saved_count{0};
char saved_journal[kMaxText];

void CopyText(char* to, const std::string& from) {
  size_t n = std::min(from.size(), static_cast<size_t>(kMaxText - 1));
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

std::string WriteSetting(const std::string& path, const std::string& value) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd.valid()) return SysError("open(" + path + ", O_WRONLY)");
  ssize_t wrote = write(fd.get(), value.data(), value.size());
  if (wrote != static_cast<ssize_t>(value.size())) {
    return SysError("write(" + path + ", \"" + value + "\")", wrote < 0 ? errno : EIO);
  }
  return "";
}

std::string CurrentValue(const SystemFiles& system, const std::string& path) {
  std::string line = system.ReadLine(path).value_or("");
  return line.find('[') != std::string::npos ? SelectedChoice(line) : line;
}

}  // namespace

std::vector<KnobInfo> ListKnobs(const SystemFiles& system, const std::string& scratch_device_sysfs) {
  std::vector<KnobInfo> knobs;
  const std::string thp = "/sys/kernel/mm/transparent_hugepage";
  AddChoiceKnob(system, knobs, "thp.enabled", thp + "/enabled", "THP for anonymous memory");
  AddChoiceKnob(system, knobs, "thp.defrag", thp + "/defrag", "direct compaction on THP faults");
  AddChoiceKnob(system, knobs, "thp.shmem_enabled", thp + "/shmem_enabled", "THP for shmem/tmpfs");
  AddIntegerKnob(system, knobs, "thp.khugepaged_defrag", thp + "/khugepaged/defrag", 0, 1,
                 "khugepaged may compact");
  for (const std::string& dir : system.List(thp)) {
    if (dir.rfind("hugepages-", 0) != 0) continue;
    const std::string size = SizeName(dir);
    AddChoiceKnob(system, knobs, "mthp." + size + ".enabled", thp + "/" + dir + "/enabled",
                  "multi-size THP of " + size);
    AddChoiceKnob(system, knobs, "mthp." + size + ".shmem_enabled",
                  thp + "/" + dir + "/shmem_enabled", "shmem multi-size THP of " + size);
  }
  const uint64_t memory = ParseMeminfo(system.Read("/proc/meminfo").value_or(""))["MemTotal"];
  for (const std::string& dir : system.List("/sys/kernel/mm/hugepages")) {
    auto kb = ParseUnsigned(dir.substr(std::strlen("hugepages-"), dir.size() - 12));
    uint64_t most = kb && *kb > 0 && memory > 0 ? memory / 2 / (*kb * 1024) : 0;
    AddIntegerKnob(system, knobs, "hugetlb." + SizeName(dir) + ".nr_hugepages",
                   "/sys/kernel/mm/hugepages/" + dir + "/nr_hugepages", 0, most,
                   "reserved hugetlb pages (at most half of memory)");
  }
  struct Vm {
    const char* name;
    uint64_t low, high;
    const char* help;
  };
  const Vm vm[] = {
      {"dirty_ratio", 0, 100, "% of memory dirty before writers block"},
      {"dirty_background_ratio", 0, 100, "% dirty before background writeback"},
      {"dirty_bytes", 0, 1ull << 40, "bytes dirty before writers block (0: use ratio)"},
      {"dirty_background_bytes", 0, 1ull << 40, "bytes dirty before background writeback"},
      {"dirty_expire_centisecs", 0, 1u << 31, "age at which dirty data is written"},
      {"dirty_writeback_centisecs", 0, 1u << 31, "writeback thread interval"},
      {"swappiness", 0, 200, "preference for swapping anonymous memory"},
      {"overcommit_memory", 0, 2, "0 heuristic, 1 always, 2 strict"},
      {"overcommit_ratio", 0, 100000, "% of RAM for strict overcommit"},
      {"max_map_count", 1024, 1u << 31, "mappings per process"},
      {"compaction_proactiveness", 0, 100, "background compaction effort"},
      {"page-cluster", 0, 10, "swap readahead (log2 pages)"},
  };
  for (const Vm& v : vm) {
    AddIntegerKnob(system, knobs, std::string("vm.") + v.name, std::string("/proc/sys/vm/") + v.name,
                   v.low, v.high, v.help);
  }
  if (!scratch_device_sysfs.empty()) {
    std::string path = scratch_device_sysfs + "/queue/read_ahead_kb";
    if (!system.ReadLine(path)) path = scratch_device_sysfs + "/../queue/read_ahead_kb";
    AddIntegerKnob(system, knobs, "block.read_ahead_kb", path, 0, 65536,
                   "read-ahead of the scratch filesystem's device");
  }
  return knobs;
}

std::optional<TuningRequest> ParseTuning(const std::string& text, std::string* error) {
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    *error = "--tune expects KNOB=VALUE, not '" + text + "' (see --list_tunings)";
    return std::nullopt;
  }
  return TuningRequest{text.substr(0, eq), text.substr(eq + 1)};
}

std::string CheckValue(const KnobInfo& knob, const std::string& value) {
  if (knob.allowed.rfind("integer ", 0) == 0) {
    std::string range = knob.allowed.substr(8);
    size_t dots = range.find("..");
    uint64_t low = *ParseUnsigned(range.substr(0, dots)), high = *ParseUnsigned(range.substr(dots + 2));
    auto parsed = ParseUnsigned(value);
    if (!parsed || *parsed < low || *parsed > high) {
      return knob.name + " takes an integer in " + range + ", not '" + value + "'";
    }
    return "";
  }
  std::string choices = "|" + knob.allowed + "|";
  if (value.find('|') != std::string::npos || choices.find("|" + value + "|") == std::string::npos) {
    return knob.name + " takes one of " + knob.allowed + ", not '" + value + "'";
  }
  return "";
}

std::string FormatTuningsJournal(const std::vector<JournalEntry>& entries) {
  std::string text;
  for (const JournalEntry& e : entries) text += e.path + '\t' + e.value + '\n';
  return text;
}

std::optional<std::vector<JournalEntry>> ParseTuningsJournal(std::string_view text,
                                                             const SystemFiles& system,
                                                             std::string* error) {
  namespace fs = std::filesystem;
  auto prefix = [&](const char* dir) {
    return fs::path(system.Resolve(dir)).lexically_normal().string() + "/";
  };
  const std::string sys = prefix("/sys"), proc_sys = prefix("/proc/sys");
  std::vector<JournalEntry> entries;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    const std::string path(line.substr(0, tab));
    // "/sys/../etc/shadow" starts with "/sys/" too: compare where the path really leads.
    std::string normal = fs::path(path).lexically_normal().string();
    while (!normal.empty() && normal.back() == '/') normal.pop_back();  // "/sys/x/.." is "/sys/"
    if (path.find('\0') != std::string::npos ||
        (normal.rfind(sys, 0) != 0 && normal.rfind(proc_sys, 0) != 0)) {
      *error = "names '" + path + "', which is not a tunable";
      return std::nullopt;
    }
    entries.push_back({path, std::string(line.substr(tab + 1))});
  }
  return entries;
}

Tuner::~Tuner() { Restore(); }

std::string Tuner::WriteJournal() const {
  // Written (and synced) before each change, so a kill -9 at any point can be undone.
  std::string temporary = journal_path_ + ".tmp";
  std::vector<JournalEntry> entries;
  for (const AppliedTuning& t : applied_) entries.push_back({t.path, t.before});
  std::ofstream out(temporary, std::ios::trunc);
  out << FormatTuningsJournal(entries);
  out.close();
  if (!out) return "cannot write the tunings journal " + temporary;
  UniqueFd fd(open(temporary.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) fsync(fd.get());
  if (std::rename(temporary.c_str(), journal_path_.c_str()) != 0) {
    return SysError("rename(" + journal_path_ + ")");
  }
  return "";
}

std::vector<std::string> Tuner::RecoverFromJournal(std::string* error) {
  std::vector<std::string> restored;
  struct stat st;
  if (lstat(journal_path_.c_str(), &st) != 0) return restored;  // nothing was left behind
  // Root replays this file: trust it only if it is ours and nobody else could write it.
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
    *error = "ignoring tunings journal " + journal_path_ +
             ": not a regular file owned by this user and writable only by it";
    return restored;
  }
  std::ifstream in(journal_path_);
  std::ostringstream text;
  text << in.rdbuf();
  std::string why;
  auto entries = ParseTuningsJournal(text.str(), system_, &why);
  if (!entries) {
    *error = "tunings journal " + journal_path_ + " " + why;
    return restored;
  }
  for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
    std::string failure = WriteSetting(it->path, it->value);
    if (!failure.empty()) {
      *error = "restoring from " + journal_path_ + ": " + failure;
      return restored;
    }
    restored.push_back(it->path + " = " + it->value);
  }
  unlink(journal_path_.c_str());
  return restored;
}

std::string Tuner::Apply(const std::vector<TuningRequest>& requests,
                         const std::vector<KnobInfo>& knobs) {
  std::vector<const KnobInfo*> chosen;
  for (const TuningRequest& request : requests) {
    const KnobInfo* knob = nullptr;
    for (const KnobInfo& k : knobs) {
      if (k.name == request.knob) knob = &k;
    }
    if (knob == nullptr) {
      return "unknown tuning '" + request.knob + "' (not in the allowlist; see --list_tunings)";
    }
    if (std::string e = CheckValue(*knob, request.value); !e.empty()) return e;
    if (access(system_.Resolve(knob->path).c_str(), W_OK) != 0) {
      return "--tune " + knob->name + " needs root: cannot write " + system_.Resolve(knob->path) +
             " (" + std::strerror(errno) + "); nothing was changed";
    }
    chosen.push_back(knob);
  }
  CopyText(saved_journal, journal_path_);
  if (size_t slash = journal_path_.rfind('/'); slash != std::string::npos && slash > 0) {
    mkdir(journal_path_.substr(0, slash).c_str(), 0700);  // root-only home of the journal
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    AppliedTuning t{chosen[i]->name, system_.Resolve(chosen[i]->path),
                    CurrentValue(system_, chosen[i]->path), requests[i].value, ""};
    applied_.push_back(t);
    std::string failure = WriteJournal();
    if (failure.empty()) {
      int slot = saved_count.load();
      if (slot < kMaxSaved) {
        CopyText(saved_settings[slot].path, t.path);
        CopyText(saved_settings[slot].value, t.before);
        saved_count.store(slot + 1);
      }
      failure = WriteSetting(t.path, t.requested);
    }
    if (!failure.empty()) {
      Restore();
      return "--tune " + t.knob + "=" + t.requested + ": " + failure + "; everything restored";
    }
    applied_.back().after = CurrentValue(system_, chosen[i]->path);
  }
  return "";
}

std::string Tuner::Restore() {
  std::string first_error;
  for (auto it = applied_.rbegin(); it != applied_.rend(); ++it) {
    std::string failure = WriteSetting(it->path, it->before);
    if (!failure.empty() && first_error.empty()) first_error = failure;
  }
  if (first_error.empty()) {
    if (!applied_.empty()) unlink(journal_path_.c_str());
    applied_.clear();
    saved_count.store(0);
  }
  return first_error;  // the journal stays for the next start to retry
}

void Tuner::RestoreFromSignalHandler() {
  for (int i = saved_count.load() - 1; i >= 0; --i) {
    int fd = open(saved_settings[i].path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return;  // keep the journal: the next start retries
    ssize_t ignored = write(fd, saved_settings[i].value, std::strlen(saved_settings[i].value));
    (void)ignored;
    close(fd);
  }
  if (saved_count.load() > 0) unlink(saved_journal);
}

}  // namespace mapbench
