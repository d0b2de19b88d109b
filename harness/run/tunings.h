// Kernel tunings for a run: an allowlist of knobs, applied with a journal written
// before each change, restored in reverse order on exit, on signals, and - after a
// crash or kill -9 - from the journal at the next start or by --restore_tunings.
// A tuned run holds the journal's lock for its whole life, and the journal names its
// writer, so no other start replays (undoes) the settings of a run that still runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/resources.h"
#include "harness/kernel/system_files.h"

namespace mapbench {

struct KnobInfo {
  std::string name;     // "thp.enabled", "vm.swappiness", "mthp.64kB.enabled", ...
  std::string path;     // under the system root
  std::string allowed;  // "always|madvise|never" or "integer 0..200"
  std::string help;
  bool runtime = true;  // may change between cases (--interleave); false: whole run only
};

// Every knob this machine offers (mTHP sizes and the scratch device are discovered).
// `scratch_device_sysfs` is /sys/dev/block/M:m of the scratch filesystem, or empty.
std::vector<KnobInfo> ListKnobs(const SystemFiles& system, const std::string& scratch_device_sysfs);

struct TuningRequest {
  std::string knob;
  std::string value;
};
// "knob=value" -> request; nullopt with *error for malformed text.
std::optional<TuningRequest> ParseTuning(const std::string& text, std::string* error);

// Checks a value against a knob's allowed values. Error text or empty.
std::string CheckValue(const KnobInfo& knob, const std::string& value);

// The journal: one "path<TAB>value before the change" line per applied setting, in the
// order they were applied, after a first line naming its writer.
struct JournalEntry {
  std::string path;
  std::string value;
  bool operator==(const JournalEntry&) const = default;
};

// The process that wrote a journal. A pid alone is reused: the start time tells the
// process apart, the boot id a pid from before a reboot.
struct JournalOwner {
  int64_t pid = 0;
  uint64_t start_ticks = 0;  // field 22 of /proc/PID/stat (clock ticks after boot)
  std::string boot_id;       // /proc/sys/kernel/random/boot_id; empty when unknown
  bool operator==(const JournalOwner&) const = default;
};

// "owner pid=N start=T boot=ID" first (no tab: an earlier version's reader skips it),
// then the entries.
std::string FormatTuningsJournal(const std::vector<JournalEntry>& entries,
                                 const std::optional<JournalOwner>& owner = std::nullopt);
// The owner line of journal text; nullopt for a journal without one (written by an
// earlier version) or with a malformed one: such a journal's writer counts as gone.
std::optional<JournalOwner> ParseJournalOwner(std::string_view text);

// /proc/PID/stat text -> state (field 3) and start time (field 22). The name (field 2)
// may hold spaces and ')', so fields count from the last ')'. nullopt if malformed.
struct ProcessStat {
  char state = '?';
  uint64_t start_ticks = 0;
};
std::optional<ProcessStat> ParseProcessStat(std::string_view text);

// Whether a journal's writer still runs, from its pid's /proc/PID/stat text now
// (nullopt: no such process) and this boot's id. A process with another start time
// reused the pid; a zombie will never restore anything; another boot id means the
// machine rebooted since. An unreadable stat of a live pid counts as running: undoing
// a live run's settings is the worse mistake.
bool OwnerIsRunning(const JournalOwner& owner, const std::optional<std::string>& stat_now,
                    std::string_view boot_id_now);
// The same on the running kernel. Processes are real even under --system_root, so
// these read the real /proc, never the fixture tree.
bool OwnerIsRunning(const JournalOwner& owner);
JournalOwner ThisProcess();
// Reads journal text (lines without a tab are skipped). Root replays it, so only paths
// this tool can write are accepted: ones that stay, after "." and ".." are resolved, under
// the system root's /sys/ or /proc/sys/ (sysfs symlinks lead only within sysfs). nullopt
// with *error naming the first other path.
std::optional<std::vector<JournalEntry>> ParseTuningsJournal(std::string_view text,
                                                             const SystemFiles& system,
                                                             std::string* error);

struct AppliedTuning {
  std::string knob, path, before, requested, after;  // after: read back once applied
};

// One Tuner per journal in a process: the lock is a POSIX record lock, which the process
// loses when it closes any descriptor of the lock file.
class Tuner {
 public:
  Tuner(SystemFiles system, std::string journal_path)
      : system_(std::move(system)), journal_path_(std::move(journal_path)) {}
  ~Tuner();  // restores whatever is still applied, then lets the lock go

  bool JournalExists() const;

  // Takes the journal's lock, held until Unlock() or destruction: an fcntl record lock
  // on "<journal>.lock", not flock, because record locks belong to this process alone
  // (the case processes it forks do not inherit them), so the lock is free the moment
  // a kill -9'd run is gone. kBusy when another process holds it or the journal's
  // writer still runs; *message then says so in one line naming the journal and pid.
  // kFailed with *message when the lock file cannot be opened.
  enum class Lock { kTaken, kBusy, kFailed };
  Lock TakeLock(std::string* message);
  void Unlock() { lock_.reset(); }

  // Restores settings left by a run that died (the journal exists), under the lock
  // (taken here if not yet held). Returns what was restored as lines of text; *error on
  // failure or when a running mapbench holds the journal (which is then kept).
  std::vector<std::string> RecoverFromJournal(std::string* error);

  // Validates every request (unknown knob, bad value, not permitted). Error text or empty.
  std::string Check(const std::vector<TuningRequest>& requests,
                    const std::vector<KnobInfo>& knobs) const;

  // Checks every request first (nothing is changed on an error), takes the lock if not
  // held, then applies them in order, journalling each old value before writing.
  // Refuses while a killed run's journal is left to restore. On a failure midway the
  // ones applied are restored. Error text or empty.
  std::string Apply(const std::vector<TuningRequest>& requests,
                    const std::vector<KnobInfo>& knobs);

  // Sets one knob to `value` for the cases that follow (--interleave). The first change
  // of a knob is journalled as Apply does; later ones rewrite it in place, so the journal
  // and the restore keep the value from before the run. Error text or empty, also when
  // the kernel read back another value than the one asked.
  std::string Switch(const TuningRequest& request, const std::vector<KnobInfo>& knobs);

  // Restores in reverse order and removes the journal. Error text or empty.
  std::string Restore();

  const std::vector<AppliedTuning>& applied() const { return applied_; }

  // Async-signal-safe restore of the applied settings, for a signal handler.
  static void RestoreFromSignalHandler();

 private:
  std::string WriteJournal() const;
  SystemFiles system_;
  std::string journal_path_;
  std::vector<AppliedTuning> applied_;
  JournalOwner self_ = ThisProcess();
  UniqueFd lock_;
};

}  // namespace mapbench
