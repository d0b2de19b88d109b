// Performance counters: event names encoded by libpfm4, read with perf_event_open as
// one group per kind (hardware, software) around a benchmark run. Unavailable events
// degrade to an empty column and one warning, never to an aborted run.
#pragma once

#include <linux/perf_event.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/resources.h"

namespace mapbench {

struct CounterSpec {
  std::string column;  // stem of the CSV columns, e.g. "instructions_kernel"
  std::string event;   // any event name libpfm4 knows, e.g. "instructions:k"
};

// cycles and instructions split by privilege level, dTLB load misses, faults, switches.
std::vector<CounterSpec> DefaultCounters();
std::vector<CounterSpec> SoftwareFallbackCounters();

// "default", "none", or a comma list of "event" or "column=event" entries.
// Returns nullopt and sets *error for a malformed list.
std::optional<std::vector<CounterSpec>> ParseCounterList(const std::string& list,
                                                         std::string* error);

// "instructions:k" -> "instructions_k": a column stem from an event name.
std::string ColumnStemFor(const std::string& event);

using PerfOpenFn = std::function<int(perf_event_attr*, pid_t, int, int, unsigned long)>;
PerfOpenFn RealPerfOpen();

// Encodes an event name with libpfm4. Returns nullopt with *error naming the event.
std::optional<perf_event_attr> EncodeEvent(const std::string& event, std::string* error);

// All event names libpfm4 offers for the PMUs present here (for --list_counters).
std::vector<std::string> ListKnownEvents();

struct CounterStatus {
  CounterSpec spec;
  bool available = false;
  bool hardware = false;
  // Kernel-mode counting was refused (perf_event_paranoid): the event is unavailable if it
  // counts only in kernel mode (cycles:k, context switches), else it is user_only.
  bool kernel_refused = false;
  bool user_only = false;  // asked for user and kernel mode; counts user mode only
  std::string modes;       // what the column counts: "user+kernel", "user", "kernel"; "" if none
  std::string detail;      // why unavailable or user mode only; "ok"
};

// "2" -> 2, "-1" -> -1 (/proc/sys/kernel/perf_event_paranoid); nullopt when malformed.
std::optional<int> ParseParanoid(std::string_view text);

// Scaled result of one group read: value * time_enabled / time_running.
struct ScaledGroup {
  std::vector<double> values;
  double run_fraction = 0;  // time_running / time_enabled; 0 when never scheduled
};
// Parses a PERF_FORMAT_GROUP|TOTAL_TIME_ENABLED|TOTAL_TIME_RUNNING read buffer:
// {nr, time_enabled, time_running, value[nr]}. nullopt if the buffer is malformed.
std::optional<ScaledGroup> ScaleGroupRead(const uint64_t* words, size_t word_count);

// The counters of a run, resolved once at startup: which requested events work here.
class CounterSet {
 public:
  CounterSet() = default;
  // Probes every spec with a real open; unavailable ones are kept with the reason.
  // If none of the requested counters works, falls back to the software counters.
  // An event refused kernel-mode counting falls back to user mode only when it counts
  // user mode too; `paranoid` (perf_event_paranoid, when known) goes into the reason.
  static CounterSet Resolve(const std::vector<CounterSpec>& requested, const PerfOpenFn& open,
                            std::vector<std::string>* warnings,
                            std::optional<int> paranoid = std::nullopt);

  const std::vector<CounterStatus>& statuses() const { return statuses_; }
  // "hardware+software", "software", or "none": which kinds really count.
  std::string Mode() const;
  // The row's counters_kernel: "1" no counter lost kernel mode, "0" kernel counting was
  // refused for some (kernel-only ones are empty, the others user-only), "" none counts.
  std::string KernelCounting() const;
  // The row's counters_user_only: the columns that count user mode only although their
  // event asks for kernel mode too, space-separated; "" when none.
  std::string UserOnlyColumns() const;
  const PerfOpenFn& opener() const { return open_; }

 private:
  std::vector<CounterStatus> statuses_;
  std::vector<perf_event_attr> attrs_;  // parallel to statuses_ (valid where available)
  PerfOpenFn open_;
  friend class CounterGroup;
};

// One benchmark run's counters for the calling thread. Counts only between
// Enable() and Disable(); reading scales each group by its own running time.
class CounterGroup {
 public:
  explicit CounterGroup(const CounterSet& set);
  void Reset();
  void Enable();
  void Disable();
  struct Readings {
    std::vector<std::optional<double>> values;  // parallel to CounterSet::statuses()
    double min_run_fraction = 1;                // over the groups that opened
    bool any = false;
  };
  Readings Read() const;

 private:
  struct Group {
    UniqueFd leader;
    std::vector<UniqueFd> members;
    std::vector<size_t> status_index;  // which status each value belongs to
  };
  const CounterSet& set_;
  Group hardware_, software_;
  void Ioctl(unsigned long request) const;
};

}  // namespace mapbench
