// mapbench: parses the suite's flags, resolves counters, captures the environment,
// registers the selected cases and runs them through Google Benchmark.
#include <benchmark/benchmark.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "harness/kernel/memory_cgroup.h"
#include "harness/process/isolation.h"
#include "harness/run/csv_reporter.h"
#include "harness/run/environment.h"
#include "harness/run/flags.h"
#include "harness/run/interleave.h"
#include "harness/run/registry.h"
#include "harness/run/scratch.h"
#include "harness/run/series.h"
#include "harness/run/tunings.h"

namespace mapbench {
namespace {

constexpr int kExitBadInput = 2;

void OnSignal(int signal_number) {
  const int saved_errno = errno;  // the raise below is delivered after this handler returns
  // Let the running case's process clean up its scratch files first.
  if (pid_t child = CurrentChild(); child > 0) {
    kill(child, signal_number);
    waitpid(child, nullptr, 0);
  }
  RemoveCaseCgroupFromSignalHandler();
  Tuner::RestoreFromSignalHandler();
  ScratchDir::RemoveAllFromSignalHandler();
  std::signal(signal_number, SIG_DFL);
  errno = saved_errno;
  std::raise(signal_number);
}

std::string NewRunId(Suite suite) {
  std::time_t now = std::time(nullptr);
  std::tm local;
  localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &local);
  std::random_device random;
  char suffix[8];
  std::snprintf(suffix, sizeof(suffix), "%04x", random() & 0xffff);
  return std::string(stamp) + "-" + (suite == Suite::kQuick ? "quick" : "full") + "-" + suffix;
}

// Creates the run folder; refuses one that already holds results. Error text or empty.
std::string PrepareOutDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create results directory '" + dir + "': " + ec.message();
  if (std::filesystem::exists(dir + "/results.csv")) {
    return "results directory '" + dir + "' already holds a run; choose a new --out_dir";
  }
  if (access(dir.c_str(), W_OK) != 0) return "results directory '" + dir + "' is not writable";
  return "";
}

void PointLatestAt(const std::string& run_id) {
  std::error_code ec;
  std::filesystem::create_symlink(run_id, "results/.latest.tmp", ec);
  if (!ec) std::filesystem::rename("results/.latest.tmp", "results/latest", ec);
  if (ec) std::filesystem::remove("results/.latest.tmp", ec);
}

void PrintCases(const std::vector<CaseInfo>& cases) {
  for (const Family& family : Families()) {
    size_t count = 0;
    for (const CaseInfo& c : cases) count += c.family == family.name;
    if (count > 0) std::cout << "# " << family.name << ": " << family.summary << " (" << count << " cases)\n";
  }
  for (const CaseInfo& c : cases) std::cout << c.name << "\n";
}

// Restores what a killed run left in the journal, under the journal's lock (taken here
// when the journal exists, or always for a run that will tune). False with *error on a
// failure, or with *busy too when a running mapbench holds the journal (left alone).
bool RecoverKilledRun(Tuner& tuner, bool will_tune, bool* busy, std::string* error) {
  error->clear();
  if (!will_tune && !tuner.JournalExists()) return true;
  switch (tuner.TakeLock(error)) {
    case Tuner::Lock::kTaken:
      break;
    case Tuner::Lock::kBusy:
      *busy = true;
      return false;
    case Tuner::Lock::kFailed:
      return false;
  }
  for (const std::string& line : tuner.RecoverFromJournal(error)) {
    std::cerr << "mapbench: restored from a previous run's journal: " << line << "\n";
  }
  return error->empty();
}

// Google Benchmark writes one JSON document per case process; the run keeps one.
// Spliced as text: its JSON may hold NaN, which strict parsers refuse but its own
// tools (Python's json) read.
struct BenchmarkOutMerger {
  std::string head;                 // up to and including '"benchmarks": ['
  std::vector<std::string> bodies;  // each case's entries
  void Add(const std::string& path) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string key = "\"benchmarks\": [";
    size_t open = text.find(key), close = text.rfind(']');
    if (open == std::string::npos || close == std::string::npos || close < open) return;  // crashed case
    if (head.empty()) head = text.substr(0, open + key.size());
    std::string body = text.substr(open + key.size(), close - open - key.size());
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.pop_back();
    if (!body.empty()) bodies.push_back(body);
  }
  void Write(const std::string& path) const {
    if (head.empty()) return;
    std::ofstream out(path, std::ios::trunc);
    out << head;
    for (size_t i = 0; i < bodies.size(); ++i) out << (i ? "," : "") << bodies[i];
    out << "\n  ]\n}\n";
  }
};

// --interleave: the knob, its values, and the order of the values per process and case.
struct Interleaving {
  InterleaveRequest request;  // no values: not an interleaved run
  uint64_t seed = 0;
  std::vector<std::vector<std::vector<int>>> orders;  // [process][case] -> arms in run order
};

// Every case, in every process repetition (and under every interleaved value), runs in
// its own child process: a crash or a hang becomes an error row and the suite goes on.
// Returns why the run stopped early (a knob that could not be switched), or empty.
std::string RunCases(const RunContext& context, const std::vector<CaseInfo>& cases, CsvReporter& reporter,
                     const BenchmarkOut& benchmark_out, Tuner& tuner, const std::vector<KnobInfo>& knobs,
                     const Interleaving& interleaving) {
  BenchmarkOutMerger merged_out;
  const double timeout = context.config.case_timeout_s;
  const Calibrator calibrator;  // faulted in here once: every case reads the same pages
  auto run_case = [&](const CaseInfo& info, int process, int arm) {
    if (!benchmark_out.case_path.empty()) std::remove(benchmark_out.case_path.c_str());
    ChildResult result = RunInChild(
        [&](int result_fd) {
          reporter.ResetCounts();  // report this case's rows only
          if (calibrator.ok()) reporter.CalibrateWith(&calibrator);
          BeginCaseSeries(context.config.out_dir + "/series.csv", context.config.run_id, info.family,
                          info.name, process, arm);
          const std::string only_this = "^" + RegexEscape(info.name) +
                                        "(/(min_time|iterations|repeats|threads):[^/]+|/real_time|/manual_time)*$";
          benchmark::RunSpecifiedBenchmarks(&reporter, only_this);
          std::string counts = reporter.CountsText();
          return write(result_fd, counts.data(), counts.size()) == static_cast<ssize_t>(counts.size()) ? 0 : 3;
        },
        timeout);
    reporter.AddCounts(result.output);
    reporter.MarkContextPrinted();
    for (const std::string& left : RemoveCaseCgroups(getpid())) {
      std::cerr << "mapbench: warning: a case's memory cgroup is left: " << left << "\n";
    }
    if (result.end != ChildResult::End::kExited || result.exit_code != 0) {
      std::string why = "case process " + result.Describe(timeout);
      std::cerr << "mapbench: " << info.name << ": " << why << "\n";
      reporter.WriteFailureRow(info, why);
    }
    if (!benchmark_out.case_path.empty()) merged_out.Add(benchmark_out.case_path);
  };
  const InterleaveRequest& knob = interleaving.request;
  std::string stopped;
  for (int process = 0; process < context.config.processes && stopped.empty(); ++process) {
    reporter.SetProcess(process);
    for (size_t c = 0; c < cases.size() && stopped.empty(); ++c) {
      if (knob.values.empty()) {
        run_case(cases[c], process, -1);
        continue;
      }
      const std::vector<int>& arms = interleaving.orders[process][c];
      for (size_t position = 0; position < arms.size(); ++position) {
        const std::string& value = knob.values[arms[position]];
        if (stopped = tuner.Switch({knob.knob, value}, knobs); !stopped.empty()) break;
        reporter.SetArm(arms[position], knob.knob + "=" + value, static_cast<int>(position));
        run_case(cases[c], process, arms[position]);
      }
    }
  }
  if (!benchmark_out.case_path.empty()) {
    if (benchmark_out.case_path != benchmark_out.path) std::remove(benchmark_out.case_path.c_str());
    merged_out.Write(benchmark_out.path);
  }
  return stopped.empty() ? "" : "--interleave stopped the run: " + stopped;
}

int Main(int argc, char** argv) {
  std::string error;
  std::optional<Flags> flags = ParseFlags(std::vector<std::string>(argv, argv + argc), &error);
  if (!flags) {
    std::cerr << "mapbench: " << error << "\n";
    return kExitBadInput;
  }
  if (flags->help) {
    std::cout << HelpText() << "\nGoogle Benchmark flags:\n";
    std::vector<char*> help_args = {argv[0], const_cast<char*>("--help")};
    int help_argc = 2;
    benchmark::Initialize(&help_argc, help_args.data());  // prints its usage and exits
    return 0;
  }
  if (flags->list_counters) {
    for (const std::string& name : ListKnownEvents()) std::cout << name << "\n";
    return 0;
  }

  RunContext context;
  context.config = flags->config;
  context.system = SystemFiles(context.config.system_root);

  Tuner tuner(context.system, context.config.tune_journal);
  // Memory cgroups are real kernel objects even under --system_root: always the real /proc.
  PrepareCaseCgroups(SystemFiles());
  for (const std::string& left : RemoveCaseCgroups(std::nullopt)) {
    std::cerr << "mapbench: warning: a killed run's memory cgroup is left: " << left << "\n";
  }
  if (flags->restore_tunings) {
    bool busy = false;
    if (!RecoverKilledRun(tuner, false, &busy, &error)) {
      std::cerr << "mapbench: " << error << (busy ? "; not restoring it" : "") << "\n";
      return kExitBadInput;
    }
    std::cout << "mapbench: no tunings left to restore\n";
    return 0;
  }
  const std::vector<KnobInfo> knobs =
      ListKnobs(context.system, BlockDeviceSysfs(context.config.scratch_dir));
  if (flags->list_tunings) {
    for (const KnobInfo& knob : knobs) {
      std::cout << knob.name << "  [" << knob.allowed << "]  " << knob.help
                << (knob.runtime ? "" : " (whole run only: not with --interleave)") << "\n";
    }
    return 0;
  }
  std::vector<CaseInfo> cases = SelectCases(context.config.suite, context.config.filter);
  if (flags->list_cases) {
    PrintCases(cases);
    return 0;
  }
  if (cases.empty()) {
    std::cerr << "mapbench: no case matches --filter '" << context.config.filter
              << "' (see --list)\n";
    return kExitBadInput;
  }

  std::optional<std::vector<CounterSpec>> specs = ParseCounterList(context.config.counters, &error);
  if (!specs) {
    std::cerr << "mapbench: " << error << "\n";
    return kExitBadInput;
  }
  for (const CounterSpec& spec : *specs) {  // an unknown name is bad input, not a fallback
    if (!EncodeEvent(spec.event, &error)) {
      std::cerr << "mapbench: --counters: " << error << "\n";
      return kExitBadInput;
    }
  }
  std::vector<std::string> warnings;
  context.counters = CounterSet::Resolve(
      *specs, RealPerfOpen(), &warnings,
      ParseParanoid(context.system.Read("/proc/sys/kernel/perf_event_paranoid").value_or("")));
  for (const std::string& warning : warnings) std::cerr << "mapbench: warning: " << warning << "\n";
  std::cerr << "mapbench: counters: " << context.counters.Mode();
  if (context.counters.KernelCounting() == "0") {
    const std::string user_only = context.counters.UserOnlyColumns();
    std::cerr << "; kernel mode refused";
    if (!user_only.empty()) std::cerr << ", user mode only: " << user_only;
  }
  std::cerr << "\n";

  std::vector<TuningRequest> requests;
  for (const std::string& text : context.config.tunings) {
    auto request = ParseTuning(text, &error);
    if (!request) {
      std::cerr << "mapbench: " << error << "\n";
      return kExitBadInput;
    }
    requests.push_back(*request);
  }
  if (error = tuner.Check(requests, knobs); !error.empty()) {
    std::cerr << "mapbench: " << error << "\n";
    return kExitBadInput;
  }
  Interleaving interleaving;
  if (!context.config.interleave.empty()) {
    std::optional<InterleaveRequest> request = ParseInterleave(context.config.interleave, &error);
    if (request) error = CheckInterleave(*request, knobs, requests);
    for (size_t i = 0; request && error.empty() && i < request->values.size(); ++i) {
      error = tuner.Check({{request->knob, request->values[i]}}, knobs);  // writable: root
    }
    if (!error.empty()) {
      std::cerr << "mapbench: " << error << "\n";
      return kExitBadInput;
    }
    interleaving.request = *request;
    interleaving.seed = context.config.seed.value_or(std::random_device()());
  }
  const bool will_tune = !requests.empty() || !interleaving.request.values.empty();
  // Settings a killed run left changed are restored before the run; a tuned run keeps
  // the journal's lock to the end, an untuned one lets it go at once. Listing (above)
  // never touches the journal.
  bool busy = false;
  if (!RecoverKilledRun(tuner, will_tune, &busy, &error)) {
    if (!busy || will_tune) {
      std::cerr << "mapbench: " << error << (busy ? "; not starting a tuned run" : "") << "\n";
      return kExitBadInput;
    }
    std::cerr << "mapbench: warning: " << error << "; its tunings stay applied during this run\n";
  }
  if (!will_tune) tuner.Unlock();
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) std::signal(signal_number, OnSignal);
  if (error = tuner.Apply(requests, knobs); !error.empty()) {
    std::cerr << "mapbench: " << error << "\n";
    return kExitBadInput;
  }
  for (const AppliedTuning& t : tuner.applied()) {
    std::cerr << "mapbench: tuned " << t.knob << ": " << t.before << " -> " << t.after << "\n";
    if (t.after != t.requested) {
      std::cerr << "mapbench: warning: " << t.knob << " asked " << t.requested << ", the kernel set "
                << t.after << "\n";
    }
  }

  context.config.run_id = NewRunId(context.config.suite);
  if (!flags->out_dir_given) context.config.out_dir = "results/" + context.config.run_id;
  if (error = PrepareOutDir(context.config.out_dir); !error.empty()) {
    std::cerr << "mapbench: " << error << "\n";
    return kExitBadInput;
  }
  std::unique_ptr<ScratchDir> scratch = ScratchDir::Create(context.config.scratch_dir, &error);
  if (!scratch) {
    std::cerr << "mapbench: " << error << "\n";
    return kExitBadInput;
  }
  context.scratch = scratch.get();

  std::vector<std::string> gb_args = flags->benchmark_args;
  for (const std::string& arg : SuiteBenchmarkDefaults(context.config.suite, gb_args)) {
    gb_args.push_back(arg);
  }
  const BenchmarkOut benchmark_out = BenchmarkOutFor(context.config.out_dir, gb_args);
  for (const std::string& arg : benchmark_out.flags) gb_args.push_back(arg);
  std::vector<char*> gb_argv;
  for (std::string& arg : gb_args) gb_argv.push_back(arg.data());
  int gb_argc = static_cast<int>(gb_argv.size());
  benchmark::Initialize(&gb_argc, gb_argv.data());
  if (benchmark::ReportUnrecognizedArguments(gb_argc, gb_argv.data())) return kExitBadInput;

  std::vector<CaseInfo> registered = RegisterCases(context);
  CsvLayout layout = LayoutFor(registered, context.counters);
  layout.interleaved = !interleaving.request.values.empty();
  if (layout.interleaved) {
    interleaving.orders = ArmOrders(static_cast<int>(interleaving.request.values.size()),
                                    context.config.processes, static_cast<int>(registered.size()),
                                    interleaving.seed);
  }
  if (error = ValidateLayout(layout); error.empty()) error = CheckHeadlines(registered);
  if (!error.empty()) {
    std::cerr << "mapbench: a family declares a bad column: " << error << "\n";
    return kExitBadInput;
  }

  const std::string env_path = context.config.out_dir + "/environment.json";
  nlohmann::json env = CaptureEnvironment(context, scratch->path());
  env["run"]["complete"] = false;  // a run killed midway says so
  env["families"] = FamiliesJson(registered);
  for (const AppliedTuning& t : tuner.applied()) {
    env["tunings_applied"].push_back(
        {{"knob", t.knob}, {"path", t.path}, {"before", t.before}, {"requested", t.requested}, {"after", t.after}});
  }
  if (layout.interleaved) {
    env["interleave"] = {{"knob", interleaving.request.knob},
                         {"values", interleaving.request.values},
                         {"seed", interleaving.seed},
                         {"mode", "interleaved"},
                         {"unit", "case process: each (case, process, value) in its own child, "
                                  "the values of one case and process run back to back"}};
  }
  if (error = WriteJsonFile(env_path, env); !error.empty()) {
    std::cerr << "mapbench: " << error << "\n";
    return kExitBadInput;
  }
  if (!flags->out_dir_given) PointLatestAt(context.config.run_id);

  const std::string csv_path = context.config.out_dir + "/results.csv";
  CsvReporter reporter(csv_path, registered, layout,
                       RowContext{.run_id = context.config.run_id,
                                  .counters_mode = context.counters.Mode(),
                                  .counters_kernel = context.counters.KernelCounting(),
                                  .counters_user_only = context.counters.UserOnlyColumns(),
                                  .host = HostName(),
                                  .kernel_release = KernelRelease(),
                                  .machine_class = context.config.machine_class});
  if (!reporter.ok()) {
    std::cerr << "mapbench: " << reporter.error() << "\n";
    return kExitBadInput;
  }
  const std::string stopped =
      RunCases(context, registered, reporter, benchmark_out, tuner, knobs, interleaving);
  benchmark::Shutdown();
  if (!stopped.empty()) {
    std::cerr << "mapbench: " << stopped << "\n";
    env["run"]["stopped"] = stopped;
  }
  for (const AppliedTuning& t : tuner.applied()) {
    if (t.knob == interleaving.request.knob) env["interleave"]["before"] = t.before;
  }

  if (std::string failure = tuner.Restore(); !failure.empty()) {
    std::cerr << "mapbench: cannot restore a tuning (the journal " << context.config.tune_journal
              << " keeps it for the next start): " << failure << "\n";
  }
  env["run"]["complete"] = reporter.error().empty() && stopped.empty();
  env["run"]["end_time"] = UtcTimestamp();
  env["run"]["row_status_counts"] = reporter.status_counts();
  env["run"]["processes"] = context.config.processes;
  if (error = WriteJsonFile(env_path, env); !error.empty()) std::cerr << "mapbench: " << error << "\n";

  int bad = 0;
  for (const auto& [status, count] : reporter.status_counts()) {
    std::cerr << "mapbench: " << count << " rows " << status << "\n";
    if (status == "invalid" || status == "error" || status == "unvalidated") bad += count;
  }
  std::cout << "results: " << csv_path << "\nenvironment: " << env_path << "\n";
  return bad > 0 || !reporter.error().empty() || !stopped.empty() ? 1 : 0;
}

}  // namespace
}  // namespace mapbench

int main(int argc, char** argv) { return mapbench::Main(argc, argv); }
