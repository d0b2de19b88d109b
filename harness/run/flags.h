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

}  // namespace mapbench
