// mapbench's own command-line flags; everything else goes to Google Benchmark.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/measure/run_context.h"

namespace mapbench {

struct Flags {
  RunConfig config;
  bool list_cases = false;
  bool list_counters = false;
  bool list_tunings = false;
  bool restore_tunings = false;
  bool help = false;
  bool out_dir_given = false;
  std::vector<std::string> benchmark_args;  // argv[0] plus the flags Google Benchmark parses
};

// Parses argv. Returns nullopt with *error set (one line) for bad input.
std::optional<Flags> ParseFlags(const std::vector<std::string>& args, std::string* error);

std::string HelpText();

// Google Benchmark flags implied by the suite, unless the user set them.
std::vector<std::string> SuiteBenchmarkDefaults(Suite suite,
                                                const std::vector<std::string>& user_args);

// Google Benchmark's own JSON is kept in every run folder (benchmark.json) unless the user
// chose an output (--benchmark_out or --benchmark_out_format): each case's process writes
// `case_path` (the flags returned point Google Benchmark at it), merged into `path` at the end.
struct BenchmarkOut {
  std::string case_path;           // what each case's process writes; empty: no JSON is kept
  std::string path;                // the run's merged document
  std::vector<std::string> flags;  // to add to Google Benchmark's arguments
};
BenchmarkOut BenchmarkOutFor(const std::string& out_dir, const std::vector<std::string>& user_args);

}  // namespace mapbench
