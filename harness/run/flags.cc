#include "harness/run/flags.h"

#include <charconv>
#include <cstdlib>
#include <regex>

#include "harness/kernel/system_files.h"
#include "harness/kernel/writeback.h"

namespace mapbench {
namespace {

struct FlagDef {
  const char* name;
  const char* value;  // nullptr for a boolean flag
  const char* help;
};

const FlagDef kFlags[] = {
    {"suite", "quick|full", "which parameter space to run (default quick)"},
    {"filter", "REGEX", "run only cases whose name matches, e.g. 'read_vs_mmap/method:mmap'"},
    {"out_dir", "DIR", "run folder for results.csv and environment.json (default results/<run-id>)"},
    {"counters", "LIST", "'default', 'none', or comma list of libpfm4 event names [COLUMN=]EVENT"},
    {"scratch_dir", "DIR", "where the private scratch directory is made (default .); use a disk "
                           "filesystem, not tmpfs, for cold-cache cases"},
    {"processes", "N", "run every case in N separate processes (default 1): the noise between "
                        "processes goes into the data"},
    {"case_timeout", "SECONDS", "kill a case that runs longer and record it as an error (default 600)"},
    {"tune", "KNOB=VALUE", "apply a kernel tuning for this run and restore it after (root; "
                           "repeatable; see --list_tunings)"},
    {"interleave", "KNOB=A,B[,...]", "alternate a runtime knob's values case by case and process by "
                                     "process in a seeded balanced order (root; rows say the value in "
                                     "'variant'; compare with `mapbench compare RUN`)"},
    {"seed", "N", "seed of the --interleave order (default: from the clock, recorded in environment.json)"},
    {"machine_class", "LABEL", "a label for this kind of machine, written in every row and in "
                               "environment.json (printable, no comma, at most 64 characters)"},
    {"list", nullptr, "list the selected cases with their parameters, then exit"},
    {"list_tunings", nullptr, "list the tunable knobs with their allowed values, then exit"},
    {"restore_tunings", nullptr, "restore settings left by a run that was killed (never a running "
                                 "one's), then exit"},
    {"tune_journal", "PATH", "journal of applied tunings, locked through PATH.lock "
                             "(default /var/lib/mapbench/tunings.journal)"},
    {"system_root", "DIR", "read /proc and /sys (and tune) under DIR instead of / (for tests)"},
    {"page_state", "auto|cachestat|kpageflags|smaps",
     "how a file's dirty and writeback pages are read (default auto: the first that works "
     "of cachestat (Linux 6.5+), kpageflags (root), smaps (dirty only))"},
    {"list_counters", nullptr, "list the event names libpfm4 knows on this machine, then exit"},
    {"help", nullptr, "this text, then Google Benchmark's flags"},
};

const FlagDef* Find(const std::string& name) {
  for (const FlagDef& flag : kFlags) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

// A finite number of seconds in (0, max], the whole string; nullopt otherwise.
std::optional<double> ParseSeconds(const std::string& text, double max) {
  double seconds = 0;  // from_chars: no leading space, no hex, the whole text
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || !(seconds > 0) || seconds > max) return std::nullopt;
  return seconds;
}

// Google Benchmark takes 0 or negative repetitions and min_time silently; the suite's
// defaults and statistics rely on them, so their values are checked here.
std::string CheckBenchmarkFlag(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos) return "";
  const std::string name = arg.substr(0, eq), value = arg.substr(eq + 1);
  if (name == "--benchmark_repetitions") {
    auto n = ParseUnsigned(value);
    if (!n || *n < 1 || *n > 100000) return name + " takes a whole number from 1 to 100000, not '" + value + "'";
  } else if (name == "--benchmark_min_time" && !ParseSeconds(value, 3600)) {
    return name + " takes seconds between 0 and 3600, not '" + value + "'";
  }
  return "";
}

// A --machine_class label: printable ASCII, no comma (it names a CSV column's value and
// a report column), at most 64 characters. Error text or empty.
std::string CheckMachineClass(const std::string& label) {
  if (label.size() > 64) return "--machine_class takes at most 64 characters, not " + std::to_string(label.size());
  for (unsigned char c : label) {
    if (c < 0x20 || c > 0x7e) return "--machine_class takes printable characters only (no tab, newline or non-ASCII)";
    if (c == ',') return "--machine_class takes no comma, not '" + label + "'";
  }
  return "";
}

}  // namespace

std::optional<Flags> ParseFlags(const std::vector<std::string>& args, std::string* error) {
  Flags flags;
  flags.config.command_line = args;
  flags.config.scratch_dir = ".";
  flags.benchmark_args.push_back(args.empty() ? "mapbench" : args[0]);
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--benchmark_", 0) == 0) {
      if (std::string bad = CheckBenchmarkFlag(arg); !bad.empty()) {
        *error = bad;
        return std::nullopt;
      }
      flags.benchmark_args.push_back(arg);
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      *error = "unexpected argument '" + arg + "' (see --help)";
      return std::nullopt;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagDef* def = Find(name);
    if (def == nullptr) {
      *error = "unknown flag '--" + name + "' (see --help)";
      return std::nullopt;
    }
    if (def->value == nullptr) {
      if (value) {
        *error = "--" + name + " takes no value";
        return std::nullopt;
      }
      if (name == "list") flags.list_cases = true;
      if (name == "list_counters") flags.list_counters = true;
      if (name == "help") flags.help = true;
      if (name == "list_tunings") flags.list_tunings = true;
      if (name == "restore_tunings") flags.restore_tunings = true;
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0) {
        *error = "--" + name + " needs a value: " + def->value;
        return std::nullopt;
      }
      value = args[++i];
    }
    if (value->empty()) {
      *error = "--" + name + " needs a non-empty value: " + def->value;
      return std::nullopt;
    }
    if (name == "suite") {
      if (*value == "quick") {
        flags.config.suite = Suite::kQuick;
      } else if (*value == "full") {
        flags.config.suite = Suite::kFull;
      } else {
        *error = "--suite must be quick or full, not '" + *value + "'";
        return std::nullopt;
      }
    } else if (name == "filter") {
      try {
        std::regex check(*value);
      } catch (const std::regex_error& e) {
        *error = "--filter '" + *value + "' is not a valid regular expression: " + e.what();
        return std::nullopt;
      }
      flags.config.filter = *value;
    } else if (name == "out_dir") {
      flags.config.out_dir = *value;
      flags.out_dir_given = true;
    } else if (name == "counters") {
      flags.config.counters = *value;
    } else if (name == "scratch_dir") {
      flags.config.scratch_dir = *value;
    } else if (name == "processes") {
      auto n = ParseUnsigned(*value);
      if (!n || *n < 1 || *n > 1000) {
        *error = "--processes takes a whole number from 1 to 1000, not '" + *value + "'";
        return std::nullopt;
      }
      flags.config.processes = static_cast<int>(*n);
    } else if (name == "case_timeout") {
      auto seconds = ParseSeconds(*value, 86400);
      if (!seconds) {
        *error = "--case_timeout takes seconds between 0 and 86400, not '" + *value + "'";
        return std::nullopt;
      }
      flags.config.case_timeout_s = *seconds;
    } else if (name == "tune") {
      flags.config.tunings.push_back(*value);
    } else if (name == "interleave") {
      if (!flags.config.interleave.empty()) {
        *error = "--interleave takes one knob; give the others to --tune";
        return std::nullopt;
      }
      flags.config.interleave = *value;
    } else if (name == "seed") {
      auto n = ParseUnsigned(*value);
      if (!n) {
        *error = "--seed takes a whole number, not '" + *value + "'";
        return std::nullopt;
      }
      flags.config.seed = *n;
    } else if (name == "machine_class") {
      if (std::string bad = CheckMachineClass(*value); !bad.empty()) {
        *error = bad;
        return std::nullopt;
      }
      flags.config.machine_class = *value;
    } else if (name == "tune_journal") {
      flags.config.tune_journal = *value;
    } else if (name == "system_root") {
      flags.config.system_root = *value;
    } else if (name == "page_state") {
      if (!ValidPageStateRequest(*value)) {
        *error = "--page_state must be auto, cachestat, kpageflags or smaps, not '" + *value + "'";
        return std::nullopt;
      }
      flags.config.page_state = *value;
    }
  }
  return flags;
}

std::string HelpText() {
  std::string text =
      "mapbench: what Linux memory mapping really costs, under performance counters.\n\n"
      "usage: mapbench [mapbench flags] [--benchmark_* flags]\n\n";
  for (const FlagDef& flag : kFlags) {
    std::string left = std::string("  --") + flag.name + (flag.value ? std::string("=") + flag.value : "");
    if (left.size() < 28) left.resize(28, ' ');
    text += left + " " + flag.help + "\n";
  }
  text +=
      "\nResults: <out_dir>/results.csv (one row per repetition, schema in docs/results-schema.md)\n"
      "and <out_dir>/environment.json; results/latest points at the newest run.\n"
      "Exit status: 0 no row invalid, failed or unvalidated; 1 some row was; 2 bad input.\n"
      "The suite sets --benchmark_repetitions and --benchmark_min_time unless you do.\n";
  return text;
}

std::vector<std::string> SuiteBenchmarkDefaults(Suite suite,
                                                const std::vector<std::string>& user_args) {
  auto given = [&](const std::string& flag) {
    for (const std::string& arg : user_args) {
      if (arg.rfind("--" + flag, 0) == 0) return true;
    }
    return false;
  };
  std::vector<std::string> defaults;
  // Five in both suites: the full suite adds parameters, not repetitions, to stay
  // within 45 minutes; processes (--processes) say more about noise than repetitions.
  if (!given("benchmark_repetitions")) defaults.push_back("--benchmark_repetitions=5");
  if (!given("benchmark_min_time")) {
    defaults.push_back(suite == Suite::kQuick ? "--benchmark_min_time=0.1"
                                              : "--benchmark_min_time=0.2");
  }
  return defaults;
}

BenchmarkOut BenchmarkOutFor(const std::string& out_dir, const std::vector<std::string>& user_args) {
  BenchmarkOut out;
  const std::string given = "--benchmark_out=";
  for (const std::string& arg : user_args) {
    if (arg.rfind(given, 0) == 0) {
      out.case_path = out.path = arg.substr(given.size());  // the user's file, as they asked
      return out;
    }
    if (arg.rfind("--benchmark_out", 0) == 0) return out;  // a format without a file: theirs to say
  }
  out.case_path = out_dir + "/.benchmark-case.json";
  out.path = out_dir + "/benchmark.json";
  out.flags = {"--benchmark_out=" + out.case_path, "--benchmark_out_format=json"};
  return out;
}

}  // namespace mapbench
