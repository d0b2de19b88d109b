// Kernel tunings for a run: an allowlist of knobs, applied with a journal written
// before each change, restored in reverse order on exit, on signals, and - after a
// crash or kill -9 - from the journal at the next start or by --restore_tunings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/system_files.h"

namespace mapbench {

struct KnobInfo {
  std::string name;     // "thp.enabled", "vm.swappiness", "mthp.64kB.enabled", ...
  std::string path;     // under the system root
  std::string allowed;  // "always|madvise|never" or "integer 0..200"
  std::string help;
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
// order they were applied.
struct JournalEntry {
  std::string path;
  std::string value;
  bool operator==(const JournalEntry&) const = default;
};
std::string FormatTuningsJournal(const std::vector<JournalEntry>& entries);
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

class Tuner {
 public:
  Tuner(SystemFiles system, std::string journal_path)
      : system_(std::move(system)), journal_path_(std::move(journal_path)) {}
  ~Tuner();  // restores whatever is still applied

  // Restores settings left by a run that died (the journal exists). Returns what was
  // restored as lines of text; *error on failure (the journal is then kept).
  std::vector<std::string> RecoverFromJournal(std::string* error);

  // Validates every request first (unknown knob, bad value, not permitted: nothing is
  // changed), then applies them in order, journalling each old value before writing.
  // On a failure midway the ones applied are restored. Error text or empty.
  std::string Apply(const std::vector<TuningRequest>& requests,
                    const std::vector<KnobInfo>& knobs);

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
};

}  // namespace mapbench
