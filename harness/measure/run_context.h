// The run context: built once in main, handed (const) to every workload body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/kernel/system_files.h"
#include "harness/measure/counters.h"

namespace mapbench {

class ScratchDir;

enum class Suite { kQuick, kFull };

struct RunConfig {
  Suite suite = Suite::kQuick;
  std::string filter;       // regex over case names; empty = all
  std::string out_dir;      // the run folder
  std::string scratch_dir;  // parent of the private scratch directory
  std::string run_id;
  std::string counters = "default";
  int processes = 1;              // the whole suite, repeated in this many processes
  double case_timeout_s = 600;    // a case running longer is killed and recorded
  std::vector<std::string> tunings;  // KNOB=VALUE, applied for the run and restored
  std::string interleave;            // KNOB=A,B[,...]: values alternating between cases
  std::optional<uint64_t> seed;      // of the interleaved order
  std::string tune_journal = "/var/lib/mapbench/tunings.journal";
  std::string system_root = "/";     // tests point /proc and /sys at a fixture tree
  std::string page_state = "auto";   // how dirty/writeback pages are read (writeback.h)
  std::vector<std::string> command_line;
  std::string machine_class;         // --machine_class: the user's label for this machine, in every row
};

struct RunContext {
  RunConfig config;
  SystemFiles system;          // /proc and /sys, through a root prefix for tests
  CounterSet counters;         // resolved once: which events count here
  ScratchDir* scratch = nullptr;  // files shared by the cases (created on first use)
};

}  // namespace mapbench
