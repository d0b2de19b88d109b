// scaling — page faults, mmap/munmap churn and TLB shootdowns on 1 … all CPUs.
// One op:
//   fault: a worker maps region_kib of anonymous private memory (MADV_NOHUGEPAGE: base
//     pages), writes one word per page, reads the words back, unmaps.
//   churn: a worker maps region_kib (16 KiB), writes and reads its first page, unmaps:
//     mmap_lock taken for write twice, one fault, one TLB flush per op.
//   shootdown: the benchmark thread maps `pages` pages and writes them; helper threads
//     pinned to the other CPUs read every page and keep spinning in this address space;
//     the benchmark thread unmaps, so the kernel must flush the helpers' TLBs.
// space:shared: `workers` Google Benchmark threads in one address space. space:separate:
//   each benchmark thread drives a forked worker process that runs exactly that thread's
//   iterations (one request at the first iteration, one reply at the last): the same ops
//   and timing as threads, with no per-op messages.
// Timed: the ops; ns_per_op is wall time per op of all workers together (iterations are
//   summed over threads), so ops_per_second and pages_per_second are aggregate rates.
//   Steady state: memory is unmapped and reused at once, never left idle for the balloon.
// Counters: each benchmark thread counts itself; worker processes and helper threads
//   count themselves and their totals are added, so a row counts all workers.
// Verified: every op reads back what it wrote; each worker's faults (getrusage) >= pages
//   it touched; ops of all workers = iterations; TLB shootdowns from /proc/interrupts
//   "TLB" deltas summed over CPUs (system-wide: other processes add noise) and vmstat
//   nr_tlb_* where present; where neither exists (arm64: broadcast TLBI, no IPI) the
//   columns are empty and the note says the count is not available here. config_ok: workers fit the
//   CPUs, they waited for a CPU at most 10% of the time (schedstat; more means other load, not the
//   parallelism the row claims), and a shootdown row with more than one CPU saw shootdowns.
// Kernel paths: do_anonymous_page, per-VMA locks and mmap_lock, zone/memcg/LRU locks,
//   flush_tlb_mm_range and its IPIs (native or paravirt).
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "harness/kernel/resources.h"
#include "harness/kernel/tlb_counts.h"
#include "harness/measure/counters.h"
#include "harness/measure/parallel.h"
#include "harness/process/workers.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

constexpr int kReplyTimeoutMs = 600 * 1000;  // a worker runs one whole repetition
// Above this share of their time spent waiting for a CPU, workers did not really run in
// parallel (other load on the machine): the row is marked not effective.
constexpr double kMaxWaitFraction = 0.10;

enum class Workload { kFault, kChurn, kShootdown };
enum class Space { kShared, kSeparate };

struct Config {
  Workload workload;
  Space space;
  int workers;
  uint64_t region_kib;  // fault, churn
  uint64_t pages;       // shootdown
};

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kFault:
      return "fault";
    case Workload::kChurn:
      return "churn";
    case Workload::kShootdown:
      return "shootdown";
  }
  return "?";
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

double CpuSeconds(const rusage& r) {
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

// What one worker did; the same in threads and processes (sent back through a pipe).
struct Tally {
  uint64_t ops = 0;
  uint64_t pages = 0;
  uint64_t bad = 0;     // ops whose read-back did not match
  uint64_t faults = 0;  // getrusage minor faults over the ops
  double cpu_seconds = 0;
  double wait_seconds = -1;  // runnable but not running (schedstat); -1: unknown
  WorkerCounts counts;       // the worker's own counters (processes only)
  char failure[160] = {};
};

void NoteFailure(Tally& t, const std::string& what) {
  if (t.failure[0] == '\0') std::snprintf(t.failure, sizeof(t.failure), "%s", what.c_str());
}

// Words written into each page, then read back (the barrier keeps the reads real).
uint64_t WriteAndReadBack(char* region, size_t pages, uint64_t seq) {
  const size_t page = PageSize();
  for (size_t i = 0; i < pages; ++i) *reinterpret_cast<uint64_t*>(region + i * page) = seq + i;
  asm volatile("" ::: "memory");
  uint64_t sum = 0;
  for (size_t i = 0; i < pages; ++i)
    sum += *reinterpret_cast<volatile uint64_t*>(region + i * page);
  return sum;
}

uint64_t ExpectedSum(size_t pages, uint64_t seq) { return seq * pages + pages * (pages - 1) / 2; }

void Op(const Config& c, uint64_t seq, Tally& t) {
  const size_t bytes = c.region_kib << 10;
  const size_t pages = c.workload == Workload::kFault ? bytes / PageSize() : 1;
  char* region = static_cast<char*>(
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (region == MAP_FAILED) {
    NoteFailure(t, SysError("mmap(len=" + std::to_string(bytes) + ")"));
    ++t.bad;
    return;
  }
  // Base pages whatever THP and mTHP settings say, so a fault is a page.
  if (c.workload == Workload::kFault) madvise(region, bytes, MADV_NOHUGEPAGE);
  if (WriteAndReadBack(region, pages, seq) != ExpectedSum(pages, seq)) ++t.bad;
  if (munmap(region, bytes) != 0) {
    NoteFailure(t, SysError("munmap"));
    ++t.bad;
  }
  ++t.ops;
  t.pages += pages;
}

// Faults, CPU time and runqueue wait of the calling thread (or single-threaded process).
struct Usage {
  rusage self;
  std::optional<SchedStat> sched;
};
Usage SampleUsage(const RunContext& ctx, int who) {
  Usage u;
  getrusage(who, &u.self);
  u.sched = ReadThreadSchedstat(ctx.system);
  return u;
}
void AddUsage(Tally& t, const Usage& before, const Usage& after) {
  t.faults = after.self.ru_minflt - before.self.ru_minflt;
  t.cpu_seconds = CpuSeconds(after.self) - CpuSeconds(before.self);
  if (before.sched && after.sched) {
    t.cpu_seconds = (after.sched->cpu_ns - before.sched->cpu_ns) * 1e-9;
    t.wait_seconds = (after.sched->wait_ns - before.sched->wait_ns) * 1e-9;
  }
}

// Runs `ops` ops, counting faults and CPU time of the calling process.
void RunOps(const RunContext& ctx, const Config& c, uint64_t ops, uint64_t seq, Tally& t) {
  Usage before = SampleUsage(ctx, RUSAGE_SELF);
  for (uint64_t i = 0; i < ops; ++i) Op(c, seq + i * 4096, t);
  AddUsage(t, before, SampleUsage(ctx, RUSAGE_SELF));
}

struct Request {
  uint64_t ops;
  uint64_t seq;
};

// A worker process: runs the requested ops under its own counters and reports.
int ServeOps(int channel, const RunContext& ctx, const Config& c) {
  CounterGroup group(ctx.counters);
  for (;;) {
    Request request;
    bool closed = false;
    std::string error = ReceiveAll(channel, &request, sizeof(request), -1, &closed);
    if (closed) return 0;
    if (!error.empty()) return 2;
    Tally tally;
    group.Reset();
    group.Enable();
    RunOps(ctx, c, request.ops, request.seq, tally);
    group.Disable();
    tally.counts = ToWorkerCounts(group.Read());
    if (!SendAll(channel, &tally, sizeof(tally)).empty()) return 3;
  }
}

std::string Fixed(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof(text), "%.*f", digits, value);
  return text;
}

// Adds thread 0's TLB delta to the totals, so every thread reports the same numbers.
void AddTlb(std::map<std::string, double>& values, const TlbCounts& delta) {
  if (delta.shootdowns) values["tlb"] = static_cast<double>(*delta.shootdowns);
  if (delta.remote_flushes) values["tlb_remote"] = static_cast<double>(*delta.remote_flushes);
  for (size_t cpu = 0; cpu < delta.shootdowns_per_cpu.size(); ++cpu) {
    values["tlb_cpu" + std::to_string(cpu)] = static_cast<double>(delta.shootdowns_per_cpu[cpu]);
  }
  values["tlb_countable"] = delta.countable ? 1 : 0;
  values["tlb_known"] = delta.shootdowns ? 1 : 0;
  values["tlb_remote_known"] = delta.remote_flushes ? 1 : 0;
  values["tlb_cpus"] = static_cast<double>(delta.shootdowns_per_cpu.size());
}

std::string DescribeTlb(const SharedTotals& totals, double ops) {
  if (totals.Get("tlb_countable") == 0) return kTlbCountNotAvailable;
  if (totals.Get("tlb_known") == 0) {
    return std::string(
               "TLB shootdowns (/proc/interrupts): not counted; vmstat nr_tlb_remote_flush: ") +
           (totals.Get("tlb_remote_known") ? Fixed(totals.Get("tlb_remote"), 0) : "absent");
  }
  std::string text =
      "TLB shootdowns (/proc/interrupts, all processes): " + Fixed(totals.Get("tlb"), 0) + " = " +
      Fixed(totals.Get("tlb") / ops, 3) + " per op [";
  for (int cpu = 0; cpu < static_cast<int>(totals.Get("tlb_cpus")); ++cpu) {
    text += (cpu ? " cpu" : "cpu") + std::to_string(cpu) + ":" +
            Fixed(totals.Get("tlb_cpu" + std::to_string(cpu)), 0);
  }
  text += "]; vmstat nr_tlb_remote_flush: ";
  text += totals.Get("tlb_remote_known") ? Fixed(totals.Get("tlb_remote"), 0) : "absent";
  return text;
}

// Every benchmark thread reports the same totals (Report averages over threads).
void ReportTotals(benchmark::State& state, const Config& c, const SharedTotals& totals,
                  uint64_t expected_ops, double wall_seconds, size_t cpus_allowed) {
  const double ops = totals.Get("ops"), pages = totals.Get("pages");
  const double faults = totals.Get("faults"), bad = totals.Get("bad");
  std::string failures = totals.Failures();
  if (bad > 0)
    failures += (failures.empty() ? "" : "; ") + Fixed(bad, 0) + " ops read back wrong data";
  if (ops != static_cast<double>(expected_ops)) {
    failures += (failures.empty() ? "" : "; ") + Fixed(ops, 0) + " ops done, " +
                std::to_string(expected_ops) + " timed";
  }
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(c.region_kib << 10);
  outcome.pages_per_op = ops > 0 ? pages / ops : 0;
  outcome.valid = failures.empty();
  outcome.validation = failures.empty() ? std::to_string(c.workers) + " workers: " + Fixed(ops, 0) +
                                              " ops = iterations, " + Fixed(pages, 0) +
                                              " pages written and read back, " + Fixed(faults, 0) +
                                              " faults (getrusage, every worker >= its pages)"
                                        : failures;
  const double busy = wall_seconds > 0 ? totals.Get("cpu_seconds") / wall_seconds : 0;
  outcome.metrics = {{"busy_cpus", busy},
                     {"rusage_minor_faults_per_op", ops > 0 ? faults / ops : 0}};
  const ParallelismCheck parallel =
      CheckParallelism(totals.Get("wait_unknown") > 0 ? -1 : totals.Get("wait_seconds"),
                       wall_seconds, c.workers, kMaxWaitFraction);
  if (totals.Get("wait_unknown") == 0) {
    outcome.metrics.emplace_back("runqueue_wait_fraction", parallel.wait_fraction);
  }
  outcome.config_ok = static_cast<size_t>(c.workers) <= cpus_allowed && parallel.ok;
  outcome.config = std::to_string(c.workers) + " workers, " + std::to_string(cpus_allowed) +
                   " CPUs allowed, " + Fixed(busy, 2) + " CPUs busy, " + parallel.note + "; " +
                   DescribeTlb(totals, ops);
  if (totals.Get("tlb_known") && ops > 0) {
    outcome.metrics.emplace_back("tlb_shootdowns_per_op", totals.Get("tlb") / ops);
  }
  if (totals.Get("tlb_remote_known") && ops > 0) {
    outcome.metrics.emplace_back("tlb_remote_flushes_per_op", totals.Get("tlb_remote") / ops);
  }
  Report(state, outcome);
}

// fault and churn, in threads of one process or in one worker process per thread.
void RunParallel(benchmark::State& state, const RunContext& ctx, const Config& c,
                 SharedTotals& totals) {
  const bool first = state.thread_index() == 0;
  const uint64_t seq = static_cast<uint64_t>(state.thread_index()) << 40;
  // Thread 0 decides for all: threads that disagreed would wait for each other forever.
  if (first) {
    auto why = CheckMemory(ctx, static_cast<uint64_t>(c.workers) * (c.region_kib << 10) * 2);
    totals.SetNote("skip", why.value_or(""));
    totals.SetNote("cpus", std::to_string(AllowedCpus().size()));
  }
  totals.Arrive();
  if (std::string why = totals.Note("skip"); !why.empty()) return Skip(state, why);
  const size_t cpus_allowed = std::stoul(totals.Note("cpus"));

  std::unique_ptr<ForkedWorker> worker;
  std::string failure;
  if (c.space == Space::kSeparate) {
    worker =
        ForkedWorker::Start([&](int channel) { return ServeOps(channel, ctx, c); }, {}, &failure);
  }
  totals.Arrive();  // every worker exists before the TLB count starts
  TlbCounts tlb_before;
  if (first) {
    totals.Reset();
    tlb_before = ReadTlbCounts(ctx.system);
  }

  Tally tally;
  uint64_t started_ns = 0, ended_ns = 0;
  {
    Measurement measure(state, ctx);
    if (c.space == Space::kShared) {
      Usage before = SampleUsage(ctx, RUSAGE_THREAD);
      uint64_t i = 0;
      for (auto _ : state) {
        if (i == 0) started_ns = NowNs();
        Op(c, seq + (i++) * 4096, tally);
      }
      ended_ns = NowNs();
      AddUsage(tally, before, SampleUsage(ctx, RUSAGE_THREAD));
    } else {
      // The worker runs the whole repetition: asked at the first iteration, answered
      // at the last; this thread sleeps in between.
      const uint64_t n = state.max_iterations;
      uint64_t i = 0;
      for (auto _ : state) {
        if (i == 0) {
          started_ns = NowNs();
          if (worker) failure = worker->Send(Request{n, seq});
        }
        if (++i == n && worker && failure.empty())
          failure = worker->Receive(&tally, kReplyTimeoutMs);
      }
      ended_ns = NowNs();
    }
    measure.Stop();
  }
  if (worker) {
    std::string ended = worker->Finish(10000);
    if (failure.empty() && !ended.empty()) failure = "worker process " + ended;
    AddWorkerCounts(state.counters, state.thread_index(), ctx.counters, tally.counts);
  }
  if (failure.empty()) failure = tally.failure;
  if (failure.empty() && tally.faults < tally.pages) {
    failure = "worker " + std::to_string(state.thread_index()) + ": " +
              std::to_string(tally.faults) + " faults for " + std::to_string(tally.pages) +
              " fresh pages";
  }

  std::map<std::string, double> values = {{"ops", static_cast<double>(tally.ops)},
                                          {"pages", static_cast<double>(tally.pages)},
                                          {"faults", static_cast<double>(tally.faults)},
                                          {"bad", static_cast<double>(tally.bad)},
                                          {"cpu_seconds", tally.cpu_seconds},
                                          {"wall_seconds", (ended_ns - started_ns) * 1e-9},
                                          {"wait_seconds", std::max(0.0, tally.wait_seconds)},
                                          {"wait_unknown", tally.wait_seconds < 0 ? 1.0 : 0.0}};
  if (first) AddTlb(values, TlbDelta(tlb_before, ReadTlbCounts(ctx.system)));
  totals.Add(values, failure);
  totals.Arrive();

  ReportTotalRate(state.counters, "ops_per_second", static_cast<double>(tally.ops));
  ReportTotalRate(state.counters, "pages_per_second", static_cast<double>(tally.pages));
  ReportTotals(state, c, totals, state.max_iterations * static_cast<uint64_t>(state.threads()),
               totals.Get("wall_seconds") / state.threads(), cpus_allowed);
}

// The shootdown helpers: pinned to their CPU, they read each new region and spin.
struct Shared {
  std::atomic<uint64_t> generation{0};
  std::atomic<char*> region{nullptr};
  std::atomic<int> acks{0};
  std::atomic<bool> stop{false};
  size_t pages = 0;
};

struct HelperResult {
  uint64_t reads = 0;
  uint64_t bad = 0;
  double wait_seconds = -1;
  int cpu = -1;
  std::string pin_error;
  WorkerCounts counts;
};

void Helper(const RunContext& ctx, Shared& shared, int cpu, HelperResult& result) {
  ScopedPin pin(cpu);
  result.pin_error = pin.error();
  result.cpu = sched_getcpu();
  CounterGroup group(ctx.counters);
  group.Reset();
  group.Enable();
  const std::optional<SchedStat> started = ReadThreadSchedstat(ctx.system);
  const size_t page = PageSize();
  uint64_t seen = 0;
  while (!shared.stop.load(std::memory_order_acquire)) {
    const uint64_t generation = shared.generation.load(std::memory_order_acquire);
    if (generation == seen) {
      CpuRelax();
      continue;
    }
    seen = generation;
    const char* region = shared.region.load(std::memory_order_acquire);
    uint64_t sum = 0;
    for (size_t i = 0; i < shared.pages; ++i) {
      sum += *reinterpret_cast<const volatile uint64_t*>(region + i * page);
    }
    if (sum != ExpectedSum(shared.pages, generation)) ++result.bad;
    ++result.reads;
    shared.acks.fetch_add(1, std::memory_order_release);
  }
  group.Disable();
  result.counts = ToWorkerCounts(group.Read());
  const std::optional<SchedStat> ended = ReadThreadSchedstat(ctx.system);
  if (started && ended) result.wait_seconds = (ended->wait_ns - started->wait_ns) * 1e-9;
}

void RunShootdown(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const std::vector<int> cpus = AllowedCpus();
  if (cpus.size() < static_cast<size_t>(c.workers)) {
    return Skip(state, "needs " + std::to_string(c.workers) + " CPUs to touch the region from, " +
                           std::to_string(cpus.size()) + " allowed");
  }
  const size_t bytes = c.pages * PageSize();
  ScopedPin main_pin(cpus[0]);
  Shared shared;
  shared.pages = c.pages;
  const int helpers = c.workers - 1;
  std::vector<HelperResult> results(helpers);
  std::vector<std::thread> threads;
  for (int h = 0; h < helpers; ++h) {
    threads.emplace_back(Helper, std::cref(ctx), std::ref(shared), cpus[h + 1],
                         std::ref(results[h]));
  }
  auto stop_helpers = [&] {
    shared.stop.store(true, std::memory_order_release);
    for (std::thread& t : threads) t.join();
    threads.clear();
  };

  TlbCounts tlb_before = ReadTlbCounts(ctx.system);
  const std::optional<SchedStat> main_before = ReadThreadSchedstat(ctx.system);
  const uint64_t helpers_started_ns = NowNs();  // helpers count from their start: close enough
  uint64_t munmap_ns = 0, ops = 0, bad = 0;
  std::string failure;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      char* region = static_cast<char*>(
          mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
      if (region == MAP_FAILED) {
        if (failure.empty()) failure = SysError("mmap(len=" + std::to_string(bytes) + ")");
        continue;
      }
      madvise(region, bytes, MADV_NOHUGEPAGE);
      const uint64_t generation = shared.generation.load(std::memory_order_relaxed) + 1;
      if (WriteAndReadBack(region, c.pages, generation) != ExpectedSum(c.pages, generation)) ++bad;
      shared.region.store(region, std::memory_order_relaxed);
      shared.acks.store(0, std::memory_order_relaxed);
      shared.generation.store(generation, std::memory_order_release);
      while (shared.acks.load(std::memory_order_acquire) < helpers) CpuRelax();
      const uint64_t before = NowNs();
      if (munmap(region, bytes) != 0 && failure.empty()) failure = SysError("munmap");
      munmap_ns += NowNs() - before;
      ++ops;
    }
    measure.Stop();
  }
  TlbCounts delta = TlbDelta(tlb_before, ReadTlbCounts(ctx.system));
  const std::optional<SchedStat> main_after = ReadThreadSchedstat(ctx.system);
  const double wall_seconds = (NowNs() - helpers_started_ns) * 1e-9;
  stop_helpers();
  double wait_seconds =
      main_before && main_after ? (main_after->wait_ns - main_before->wait_ns) * 1e-9 : -1;

  uint64_t reads = 0;
  std::string pins = "main on cpu" + std::to_string(sched_getcpu());
  if (!main_pin.error().empty()) pins += " (" + main_pin.error() + ")";
  for (const HelperResult& r : results) {
    reads += r.reads;
    bad += r.bad;
    wait_seconds = wait_seconds < 0 || r.wait_seconds < 0 ? -1 : wait_seconds + r.wait_seconds;
    AddWorkerCounts(state.counters, state.thread_index(), ctx.counters, r.counts);
    pins += ", helper on cpu" + std::to_string(r.cpu);
    if (!r.pin_error.empty()) pins += " (" + r.pin_error + ")";
  }
  if (bad > 0 && failure.empty()) failure = std::to_string(bad) + " reads saw wrong data";
  if (reads != ops * static_cast<uint64_t>(helpers) && failure.empty()) {
    failure = std::to_string(reads) + " helper reads for " + std::to_string(ops) + " ops";
  }

  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(bytes);
  outcome.pages_per_op = static_cast<double>(c.pages);
  outcome.valid = failure.empty() && ops == static_cast<uint64_t>(state.iterations());
  outcome.validation = failure.empty()
                           ? std::to_string(ops) + " regions written, read by " +
                                 std::to_string(helpers) + " helper(s) on other CPUs (" +
                                 std::to_string(reads) + " reads verified), unmapped"
                           : failure;
  const double shootdowns = delta.shootdowns ? static_cast<double>(*delta.shootdowns) : 0;
  const ParallelismCheck parallel =
      CheckParallelism(wait_seconds, wall_seconds, c.workers, kMaxWaitFraction);
  const ShootdownCheck seen = CheckShootdowns(delta, c.workers);
  outcome.config_ok = seen.ok && parallel.ok;
  outcome.config = pins + "; " + parallel.note + "; " + DescribeTlbDelta(delta);
  if (!seen.ok) outcome.config += "; " + seen.note;
  outcome.metrics = {{"munmap_ns_per_op", ops ? static_cast<double>(munmap_ns) / ops : 0}};
  if (wait_seconds >= 0)
    outcome.metrics.emplace_back("runqueue_wait_fraction", parallel.wait_fraction);
  if (delta.shootdowns && ops)
    outcome.metrics.emplace_back("tlb_shootdowns_per_op", shootdowns / ops);
  if (delta.remote_flushes && ops) {
    outcome.metrics.emplace_back("tlb_remote_flushes_per_op",
                                 static_cast<double>(*delta.remote_flushes) / ops);
  }
  ReportTotalRate(state.counters, "ops_per_second", static_cast<double>(ops));
  ReportTotalRate(state.counters, "pages_per_second", static_cast<double>(ops * c.pages));
  Report(state, outcome);
}

Case MakeCase(const Config& c) {
  std::vector<Param> params = {{"space", c.space == Space::kShared ? "shared" : "separate"},
                               {"workers", std::to_string(c.workers)}};
  if (c.workload == Workload::kShootdown) {
    params.push_back({"pages", std::to_string(c.pages)});
  } else {
    params.push_back({"region_kib", std::to_string(c.region_kib)});
  }
  Case out;
  out.workload = WorkloadName(c.workload);
  out.params = params;
  if (c.workload == Workload::kShootdown) {
    out.body = [c](benchmark::State& s, const RunContext& ctx) { RunShootdown(s, ctx, c); };
    return out;
  }
  auto totals = std::make_shared<SharedTotals>(c.workers);  // one per case, for its threads
  out.body = [c, totals](benchmark::State& s, const RunContext& ctx) {
    RunParallel(s, ctx, c, *totals);
  };
  const int threads = c.workers;
  out.configure = [threads](benchmark::internal::Benchmark* b) { b->Threads(threads); };
  return out;
}

// Worker counts: 1 and 2 in the quick suite; the full suite doubles up to all CPUs.
std::vector<int> WorkerSteps(Suite suite) {
  std::vector<int> counts = {1, 2};
  if (suite == Suite::kQuick) return counts;
  const int cpus = static_cast<int>(std::max<long>(1, sysconf(_SC_NPROCESSORS_ONLN)));
  for (int n = 4; n < cpus; n *= 2) counts.push_back(n);
  if (cpus > 2) counts.push_back(cpus);
  return counts;
}

std::vector<Case> Cases(Suite suite) {
  const bool quick = suite == Suite::kQuick;
  std::vector<Case> cases;
  const std::vector<uint64_t> regions =
      quick ? std::vector<uint64_t>{1024} : std::vector<uint64_t>{1024, 16384};
  for (uint64_t region : regions) {
    for (Space space : {Space::kShared, Space::kSeparate}) {
      for (int n : WorkerSteps(suite))
        cases.push_back(MakeCase({Workload::kFault, space, n, region, 0}));
    }
  }
  for (Space space : {Space::kShared, Space::kSeparate}) {
    for (int n : WorkerSteps(suite)) cases.push_back(MakeCase({Workload::kChurn, space, n, 16, 0}));
  }
  const std::vector<uint64_t> pages =
      quick ? std::vector<uint64_t>{64} : std::vector<uint64_t>{1, 64, 512};
  for (uint64_t p : pages) {
    for (int n : WorkerSteps(suite))
      cases.push_back(MakeCase({Workload::kShootdown, Space::kShared, n, 0, p}));
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "scaling",
    "page faults, mmap/munmap churn and TLB shootdowns, threads vs processes, 1..all CPUs",
    {"ops_per_second", "pages_per_second", "busy_cpus", "rusage_minor_faults_per_op",
     "runqueue_wait_fraction", "tlb_shootdowns_per_op", "tlb_remote_flushes_per_op",
     "munmap_ns_per_op"},
    Cases});

}  // namespace
}  // namespace mapbench
