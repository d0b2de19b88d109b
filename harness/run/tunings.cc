#include "harness/run/tunings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness/kernel/resources.h"

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

// Unknown knob, bad value, not permitted: error text, or empty with *chosen set.
std::string CheckRequest(const TuningRequest& request, const std::vector<KnobInfo>& knobs,
                         const SystemFiles& system, const KnobInfo** chosen) {
  const KnobInfo* knob = nullptr;
  for (const KnobInfo& k : knobs) {
    if (k.name == request.knob) knob = &k;
  }
  if (knob == nullptr) {
    return "unknown tuning '" + request.knob + "' (not in the allowlist; see --list_tunings)";
  }
  if (std::string e = CheckValue(*knob, request.value); !e.empty()) return e;
  if (access(system.Resolve(knob->path).c_str(), W_OK) != 0) {
    return "--tune " + knob->name + " needs root: cannot write " + system.Resolve(knob->path) +
           " (" + std::strerror(errno) + "); nothing was changed";
  }
  if (chosen != nullptr) *chosen = knob;
  return "";
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
    // Growing a pool compacts and may fall short; shrinking frees pages a case holds.
    if (!knobs.empty() && knobs.back().name.rfind("hugetlb.", 0) == 0) knobs.back().runtime = false;
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

std::string FormatTuningsJournal(const std::vector<JournalEntry>& entries,
                                 const std::optional<JournalOwner>& owner) {
  std::string text;
  if (owner) {
    text =
        "owner pid=" + std::to_string(owner->pid) + " start=" + std::to_string(owner->start_ticks);
    if (!owner->boot_id.empty()) text += " boot=" + owner->boot_id;
    text += '\n';
  }
  for (const JournalEntry& e : entries) text += e.path + '\t' + e.value + '\n';
  return text;
}

std::optional<JournalOwner> ParseJournalOwner(std::string_view text) {
  const std::string_view line = text.substr(0, text.find('\n'));
  if (line.rfind("owner ", 0) != 0 || line.find('\t') != std::string_view::npos) {
    return std::nullopt;
  }
  std::istringstream words{std::string(line.substr(6))};
  std::optional<uint64_t> pid, start;
  JournalOwner owner;
  for (std::string word; words >> word;) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) return std::nullopt;
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "pid") pid = ParseUnsigned(value);
    if (key == "start") start = ParseUnsigned(value);
    if (key == "boot") owner.boot_id = value;  // other keys: from a later version, ignored
  }
  // pid_t is 32 bits; pid 0 is no process.
  if (!pid || *pid == 0 || *pid > 0x7fffffff || !start) return std::nullopt;
  owner.pid = static_cast<int64_t>(*pid);
  owner.start_ticks = *start;
  return owner;
}

std::optional<ProcessStat> ParseProcessStat(std::string_view text) {
  const size_t name_end = text.rfind(')');
  if (name_end == std::string_view::npos) return std::nullopt;
  std::istringstream fields{std::string(text.substr(name_end + 1))};
  std::string field;
  ProcessStat stat;
  for (int number = 3; number <= 22; ++number) {
    if (!(fields >> field)) return std::nullopt;
    if (number == 3) {
      if (field.size() != 1) return std::nullopt;
      stat.state = field[0];
    }
  }
  auto start = ParseUnsigned(field);
  if (!start) return std::nullopt;
  stat.start_ticks = *start;
  return stat;
}

bool OwnerIsRunning(const JournalOwner& owner, const std::optional<std::string>& stat_now,
                    std::string_view boot_id_now) {
  if (!owner.boot_id.empty() && !boot_id_now.empty() && owner.boot_id != boot_id_now) return false;
  if (!stat_now) return false;
  std::optional<ProcessStat> stat = ParseProcessStat(*stat_now);
  if (!stat) return true;
  if (stat->state == 'Z' || stat->state == 'X') return false;
  return stat->start_ticks == owner.start_ticks;
}

bool OwnerIsRunning(const JournalOwner& owner) {
  const SystemFiles real;
  return OwnerIsRunning(owner, real.Read("/proc/" + std::to_string(owner.pid) + "/stat"),
                        real.ReadLine("/proc/sys/kernel/random/boot_id").value_or(""));
}

JournalOwner ThisProcess() {
  const SystemFiles real;
  JournalOwner self;
  self.pid = getpid();
  auto stat = ParseProcessStat(real.Read("/proc/self/stat").value_or(""));
  self.start_ticks = stat ? stat->start_ticks : 0;
  self.boot_id = real.ReadLine("/proc/sys/kernel/random/boot_id").value_or("");
  return self;
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

bool Tuner::JournalExists() const {
  struct stat st;
  return lstat(journal_path_.c_str(), &st) == 0;
}

Tuner::Lock Tuner::TakeLock(std::string* message) {
  if (lock_.valid()) return Lock::kTaken;
  if (size_t slash = journal_path_.rfind('/'); slash != std::string::npos && slash > 0) {
    mkdir(journal_path_.substr(0, slash).c_str(), 0700);  // root-only home of the journal
  }
  const std::string lock_path = journal_path_ + ".lock";
  UniqueFd fd(open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    *message = "cannot lock the tunings journal: " + SysError("open(" + lock_path + ")");
    return Lock::kFailed;
  }
  std::ifstream in(journal_path_);
  std::ostringstream text;
  text << in.rdbuf();
  const std::optional<JournalOwner> owner = ParseJournalOwner(text.str());
  auto busy = [&](int64_t pid) {
    *message = "another mapbench " +
               (pid > 0 ? "(pid " + std::to_string(pid) + ") " : std::string()) +
               "holds the tunings journal " + journal_path_;
    return Lock::kBusy;
  };
  struct flock whole {};
  whole.l_type = F_WRLCK;
  whole.l_whence = SEEK_SET;
  if (fcntl(fd.get(), F_SETLK, &whole) != 0) {
    if (errno != EAGAIN && errno != EACCES) {
      *message =
          "cannot lock the tunings journal: " + SysError("fcntl(" + lock_path + ", F_SETLK)");
      return Lock::kFailed;
    }
    struct flock holder {};
    holder.l_type = F_WRLCK;
    holder.l_whence = SEEK_SET;
    // l_pid is 0 for a holder in another pid namespace: the journal may name it.
    if (fcntl(fd.get(), F_GETLK, &holder) == 0 && holder.l_type != F_UNLCK && holder.l_pid > 0) {
      return busy(holder.l_pid);
    }
    return busy(owner ? owner->pid : 0);
  }
  // The lock file may have been removed under a running mapbench: its journal still names it.
  if (owner && !(*owner == self_) && OwnerIsRunning(*owner)) return busy(owner->pid);
  lock_ = std::move(fd);
  return Lock::kTaken;
}

std::string Tuner::WriteJournal() const {
  // Written (and synced) before each change, so a kill -9 at any point can be undone.
  std::string temporary = journal_path_ + ".tmp";
  std::vector<JournalEntry> entries;
  for (const AppliedTuning& t : applied_) entries.push_back({t.path, t.before});
  std::ofstream out(temporary, std::ios::trunc);
  out << FormatTuningsJournal(entries, self_);
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
  if (std::string busy; TakeLock(&busy) != Lock::kTaken) {
    *error = busy;
    return restored;
  }
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

std::string Tuner::Check(const std::vector<TuningRequest>& requests,
                         const std::vector<KnobInfo>& knobs) const {
  for (const TuningRequest& request : requests) {
    if (std::string e = CheckRequest(request, knobs, system_, nullptr); !e.empty()) return e;
  }
  return "";
}

std::string Tuner::Apply(const std::vector<TuningRequest>& requests,
                         const std::vector<KnobInfo>& knobs) {
  std::vector<const KnobInfo*> chosen;
  for (const TuningRequest& request : requests) {
    const KnobInfo* knob = nullptr;
    if (std::string e = CheckRequest(request, knobs, system_, &knob); !e.empty()) return e;
    chosen.push_back(knob);
  }
  if (requests.empty()) return "";
  if (std::string busy; TakeLock(&busy) != Lock::kTaken) return busy + "; nothing was changed";
  if (applied_.empty() && JournalExists()) {
    return "the tunings journal " + journal_path_ +
           " holds a killed run's settings, not restored yet; nothing was changed";
  }
  CopyText(saved_journal, journal_path_);
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

std::string Tuner::Switch(const TuningRequest& request, const std::vector<KnobInfo>& knobs) {
  auto find = [&] {
    return std::find_if(applied_.begin(), applied_.end(), [&](const AppliedTuning& t) { return t.knob == request.knob; });
  };
  auto earlier = find();
  if (earlier == applied_.end()) {
    if (std::string e = Apply({request}, knobs); !e.empty()) return e;
    earlier = find();
  } else {
    const KnobInfo* knob = nullptr;
    if (std::string e = CheckRequest(request, knobs, system_, &knob); !e.empty()) return e;
    if (std::string failure = WriteSetting(earlier->path, request.value); !failure.empty()) {
      return request.knob + "=" + request.value + ": " + failure;
    }
    earlier->requested = request.value;
    earlier->after = CurrentValue(system_, knob->path);
  }
  // A row labelled with a value the kernel did not take would be mislabelled.
  if (earlier->after != request.value) {
    return request.knob + " asked " + request.value + ", the kernel set " + earlier->after;
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
