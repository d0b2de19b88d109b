// db_commit — what making a transaction durable costs a database, by the write path it
// takes, per committed transaction, with `group` transactions made durable by one sync.
// Methods (each transaction is one record of record_bytes, numbered and checksummed,
// appended to a 4 MiB log file preallocated by writing it whole and fdatasync: an
// overwrite needs no block allocation, as in PostgreSQL's recycled WAL segments):
//   wal_fdatasync: pwrite of each record at the log's end, then one fdatasync per group;
//   mmap_msync: memcpy of each record into a MAP_SHARED mapping of the log, then one
//     msync(MS_SYNC) over the group's page-aligned dirty range;
//   pwrite_sync_file_range: pwrite of each record, then sync_file_range(WAIT_BEFORE|WRITE|
//     WAIT_AFTER) over the group's range and fdatasync for the device flush and what
//     metadata needs (what PostgreSQL and RocksDB do).
// op:commit — Timed (manual time, one benchmark iteration = one transaction, so ns_per_op
//   is per transaction): the record's append, plus the group's sync for the transaction
//   that closes a group. Untimed: encoding the records (the transaction's content exists
//   before its commit), the checks below. When a group does not fit before the log's end
//   the log wraps to offset 0 (a segment switch).
//   Verified after every sync, before any other sync: the log's page state (cachestat,
//   else kpageflags or smaps: --page_state) shows no page dirty or under writeback; an
//   O_DIRECT read of the group's pages through a separate descriptor equals what the log
//   must hold byte for byte and every record in it checks (header, checksum); on a device
//   with a write-back cache a cache flush completed during the sync (/sys/block stat),
//   else not_effective. A failed check makes the row invalid.
// op:crash — a forked writer commits numbered, checksummed transactions in groups and
//   reports each group's last sequence number through a pipe only after its sync
//   returned; the parent SIGKILLs it after a seeded number of reports plus a seeded delay
//   (so the kill lands anywhere in a write or a sync), reads the log back with O_DIRECT
//   and scans it as a recovery would: every transaction reported synced must be there
//   whole and in order (else invalid), torn records after the intact prefix are counted,
//   stray writes beyond make the row invalid. What this proves: the commit path's
//   ordering and torn-record detection after a process crash. What it cannot prove:
//   survival of power loss — a SIGKILL does not lose the page cache, so the O_DIRECT read
//   (which first writes back what the kernel still held dirty) shows the page cache's
//   content; dropping the cache (POSIX_FADV_DONTNEED after a sync) would not change
//   that. Per-sync durability on the device is what op:commit checks. Timed: one trial,
//   fork to reap (ns_per_op is per trial).
// Skipped where the log lives in memory (tmpfs: a sync reaches no device; use
//   --scratch_dir on a disk) or the filesystem refuses O_DIRECT.
// Kernel paths: ext4 buffered write / write-protect fault + page_mkwrite, file_write_and_
//   wait_range, ext4_sync_file (jbd2 commit or blkdev_issue_flush), block-layer flush.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "harness/kernel/resources.h"
#include "harness/kernel/writeback.h"
#include "harness/measure/file_content.h"
#include "harness/measure/log_record.h"
#include "harness/process/child_process.h"
#include "harness/process/fork.h"
#include "harness/run/scratch.h"
#include "harness/workload.h"

namespace mapbench {
namespace {

constexpr uint64_t kLogBytes = 4 << 20;
constexpr uint64_t kCrashLogBytes = 1 << 20;
constexpr int kReportTimeoutMs = 30 * 1000;
constexpr uint64_t kSeed = 0x64625f636f6d6d69ull;  // fixed: a row's kill points are reproducible

uint64_t PageBytes() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

enum class Method { kWalFdatasync, kMmapMsync, kPwriteSyncFileRange };
enum class Op { kCommit, kCrash };

const char* MethodName(Method m) {
  switch (m) {
    case Method::kWalFdatasync:
      return "wal_fdatasync";
    case Method::kMmapMsync:
      return "mmap_msync";
    case Method::kPwriteSyncFileRange:
      return "pwrite_sync_file_range";
  }
  return "?";
}

struct Config {
  Op op;
  Method method;
  uint64_t group;         // transactions per sync
  uint64_t record_bytes;  // one transaction's record
  int iterations;         // transactions (commit, a multiple of group) or trials (crash)
};

const std::vector<std::string> kDeviceKeys = {"sectors_written", "writes", "flushes"};

// A page-aligned buffer for O_DIRECT reads.
Mapping AlignedBuffer(uint64_t bytes) {
  return Mapping(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                 bytes);
}

uint64_t RoundDown(uint64_t v, uint64_t to) { return v / to * to; }
uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

std::string Range(uint64_t lo, uint64_t hi) {
  std::string text = std::to_string(lo);
  if (hi != lo) text.append("-").append(std::to_string(hi));
  return text;
}

// The log file and what reads it, shared by both ops.
struct Log {
  GenerationFile file;
  UniqueFd direct;
  std::optional<FilePageState> page_state;
  std::optional<std::string> device_stat;
  std::string device_error;
  std::optional<bool> volatile_cache;
  std::string cache_error;
  std::vector<char> before;  // the content before any record was written
  Mapping map;               // mmap_msync: the whole log, read-faulted
};

// nullopt and *why when the case cannot run here.
std::optional<Log> OpenLog(const RunContext& ctx, uint64_t size, bool mapped, std::string* why) {
  if (auto no = CheckMemory(ctx, 3 * size)) {  // page cache, the copy before, read-back
    *why = *no;
    return std::nullopt;
  }
  std::string error;
  auto file = MakeGenerationFile(ctx.scratch->path(), size, PageBytes(), &error);
  if (!file) {
    *why = error;
    return std::nullopt;
  }
  Log log;
  log.file = std::move(*file);
  const int fd = log.file.fd.get();
  if (auto mem = InMemoryFilesystem(fd)) {
    *why = "a sync reaches no device here (" + *mem +
           "): nothing to make durable; give --scratch_dir a disk";
    return std::nullopt;
  }
  log.direct = OpenDirect(fd, &error);
  if (!log.direct.valid()) {
    *why = "durability cannot be shown: " + error;
    return std::nullopt;
  }
  log.page_state =
      FilePageState::Open(fd, size, ctx.system, ParsePageStateMethod(ctx.config.page_state), &error);
  if (!log.page_state) {
    *why = error;
    return std::nullopt;
  }
  log.device_stat = BlockStatPathFor(fd, ctx.system, &log.device_error);
  log.volatile_cache = VolatileWriteCacheFor(fd, ctx.system, &log.cache_error);
  log.before.resize(size);
  if (auto wrong = PreadExact(log.file.check.get(), log.before.data(), size, 0)) {
    *why = *wrong;
    return std::nullopt;
  }
  if (mapped) {
    log.map = MapSharedAndTouch(fd, size);
    if (!log.map.valid()) {
      *why = SysError("mmap(MAP_SHARED, len=" + std::to_string(size) + ")");
      return std::nullopt;
    }
  }
  return log;
}

CounterValues ReadDevice(const RunContext& ctx, const Log& log) {
  if (!log.device_stat) return {};
  return ParseBlockStat(ctx.system.Read(*log.device_stat).value_or("")).value_or(CounterValues{});
}

// One group's sync, by the method; 0 or -1 with errno, and the call that failed.
int Sync(Method m, int fd, char* map, uint64_t begin, uint64_t end, const char** call) {
  switch (m) {
    case Method::kWalFdatasync:
      *call = "fdatasync";
      return fdatasync(fd);
    case Method::kMmapMsync: {
      *call = "msync(MS_SYNC)";
      const uint64_t first = RoundDown(begin, PageBytes());
      return msync(map + first, end - first, MS_SYNC);
    }
    case Method::kPwriteSyncFileRange:
      *call = "sync_file_range";
      if (sync_file_range(fd, static_cast<off_t>(begin), static_cast<off_t>(end - begin),
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                              SYNC_FILE_RANGE_WAIT_AFTER) != 0)
        return -1;
      *call = "fdatasync";
      return fdatasync(fd);
  }
  return -1;
}

// One record appended at `offset`, by the method's write.
std::optional<std::string> Append(Method m, int fd, char* map, const char* record, uint64_t bytes,
                                  uint64_t offset) {
  if (m == Method::kMmapMsync) {
    std::memcpy(map + offset, record, bytes);
    return std::nullopt;
  }
  return PwriteAll(fd, record, bytes, offset);
}

std::string FlushWords(const Log& log, uint64_t counted, uint64_t syncs, uint64_t unflushed,
                       uint64_t lo, uint64_t hi) {
  if (!log.volatile_cache) return "device cache flushes not checked: " + log.cache_error;
  if (counted < syncs) {
    return "device cache flushes not counted: " +
           (log.device_stat ? std::string("the stat file has no flush fields (Linux 5.5+)")
                            : log.device_error);
  }
  if (!*log.volatile_cache) return "the device's write cache is write-through: no flush needed";
  if (unflushed == 0) {
    return "the device's write-back cache was flushed during every sync (" + Range(lo, hi) +
           " flush(es))";
  }
  return std::to_string(unflushed) + " of " + std::to_string(syncs) +
         " syncs completed no device cache flush on a write-back cache";
}

void RunCommit(benchmark::State& state, const RunContext& ctx, const Config& c) {
  const uint64_t page = PageBytes();
  const uint64_t rec = c.record_bytes;
  const uint64_t group_bytes = c.group * rec;
  std::string why;
  auto opened = OpenLog(ctx, kLogBytes, c.method == Method::kMmapMsync, &why);
  if (!opened) return Skip(state, why);
  Log& log = *opened;
  const int fd = log.file.fd.get();
  char* map = log.map.valid() ? log.map.data() : nullptr;
  std::vector<char> shadow = log.before;  // what the log must hold
  std::vector<char> staged(group_bytes);  // the group's records, encoded untimed
  Mapping read_back = AlignedBuffer(RoundUp(group_bytes, page) + page);
  if (!read_back.valid()) return Skip(state, SysError("mmap(read-back buffer)"));

  DeltaSeries device;
  uint64_t transactions = 0, syncs = 0, sequence = 0;
  uint64_t append_ns = 0, sync_ns = 0;
  uint64_t offset = 0, group_begin = 0, wraps = 0;
  uint64_t flush_counted = 0, unflushed = 0, flushes_lo = UINT64_MAX, flushes_hi = 0;
  uint64_t dirty_left_max = 0;
  double dirty_left_sum = 0;
  bool writeback_seen = true;
  std::string failure, error;
  CounterValues dev1;
  auto fail = [&](const std::string& what) {
    if (failure.empty()) failure = "transaction " + std::to_string(sequence) + ": " + what;
  };

  // After a group's sync, before any other: page state, O_DIRECT read-back, device flush.
  auto after_sync = [&]() {
    const auto deltas = CounterDeltas(dev1, ReadDevice(ctx, log), kDeviceKeys);
    device.Add(deltas);
    auto left = log.page_state->Read(map, &error);
    if (!left) return fail(error);
    dirty_left_sum += static_cast<double>(left->dirty);
    dirty_left_max = std::max(dirty_left_max, left->dirty);
    if (!left->writeback) writeback_seen = false;
    std::memcpy(shadow.data() + group_begin, staged.data(), group_bytes);
    SyncEvidence evidence;
    evidence.promise = Durability::kDurable;
    evidence.after = *left;
    evidence.volatile_cache = log.volatile_cache;
    if (auto f = deltas.find("flushes"); f != deltas.end()) {
      evidence.flushes = f->second;
      ++flush_counted;
      const auto n = static_cast<uint64_t>(std::max<int64_t>(0, f->second));
      flushes_lo = std::min(flushes_lo, n);
      flushes_hi = std::max(flushes_hi, n);
    }
    // The group's pages as the device holds them (a clean range: no writeback first).
    const uint64_t first = RoundDown(group_begin, page), last = RoundUp(offset, page);
    evidence.read_back_error = PreadExact(log.direct.get(), read_back.data(), last - first, first);
    if (!evidence.read_back_error) {
      const char* got = read_back.data();
      if (std::memcmp(got, shadow.data() + first, last - first) != 0) {
        uint64_t at = 0;
        while (got[at] == shadow[first + at]) ++at;
        evidence.read_back_error = "the device holds other bytes at log byte " +
                                   std::to_string(first + at) + " than were committed";
      }
      for (uint64_t j = 0; j < c.group && !evidence.read_back_error; ++j) {
        const uint64_t at = group_begin + j * rec - first;
        std::string wrong = CheckLogRecord(got + at, rec, sequence - c.group + 1 + j);
        if (!wrong.empty()) evidence.read_back_error = "record read back: " + wrong;
      }
    }
    const SyncVerdict verdict = JudgeSync(evidence);
    if (!verdict.valid) fail(verdict.problem);
    if (!verdict.flushed) ++unflushed;
    if ((left->dirty > 0 || left->writeback.value_or(0) > 0) && fdatasync(fd) != 0)
      fail(SysError("fdatasync"));
  };

  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      if (!failure.empty()) {  // the log's state is unknown after a failed check: stop
        state.SetIterationTime(0);
        continue;
      }
      const uint64_t in_group = transactions % c.group;
      if (in_group == 0) {
        measure.Pause();
        if (offset + group_bytes > kLogBytes) {
          offset = 0;
          ++wraps;
        }
        group_begin = offset;
        for (uint64_t j = 0; j < c.group; ++j)
          EncodeLogRecord(staged.data() + j * rec, rec, sequence + 1 + j);
        dev1 = ReadDevice(ctx, log);
        measure.Resume();
      }
      const uint64_t start = MonotonicNs();
      auto wrong = Append(c.method, fd, map, staged.data() + in_group * rec, rec, offset);
      const uint64_t appended = MonotonicNs();
      uint64_t took = appended - start;
      append_ns += took;
      if (wrong) fail(*wrong);
      offset += rec;
      ++sequence;
      ++transactions;
      const bool closes = in_group + 1 == c.group;
      if (closes) {
        const char* call = "";
        const int rc = Sync(c.method, fd, map, group_begin, offset, &call);
        const uint64_t synced = MonotonicNs();
        sync_ns += synced - appended;
        took = synced - start;
        ++syncs;
        if (rc != 0) fail(SysError(call));
      }
      state.SetIterationTime(static_cast<double>(took) * 1e-9);
      if (closes) {
        measure.Pause();
        after_sync();
        measure.Resume();
      }
    }
    measure.Stop();
  }
  if (transactions == 0) return Skip(state, "no transactions ran");
  if (transactions % c.group != 0 && failure.empty())
    fail("the row ran " + std::to_string(transactions) + " transactions, not whole groups of " +
         std::to_string(c.group));

  const double n = static_cast<double>(transactions);
  Outcome outcome;
  outcome.bytes_per_op = static_cast<double>(rec);
  outcome.pages_per_op = static_cast<double>(rec) / static_cast<double>(page);
  outcome.valid = failure.empty();
  const PageStateMethod psm = log.page_state->method();
  const std::string state_words =
      psm == PageStateMethod::kSmaps ? "smaps, which cannot see writeback" : PageStateMethodName(psm);
  const std::string flush_words =
      FlushWords(log, flush_counted, syncs, unflushed, flushes_lo, flushes_hi);
  if (!failure.empty()) {
    outcome.validation = failure;
  } else {
    outcome.validation = "durable after each of " + std::to_string(syncs) + " sync(s) (" +
                         std::to_string(transactions) + " transactions), checked before any other "
                         "sync: no page of the log dirty" +
                         (writeback_seen ? " or under writeback" : "") + " (" + state_words +
                         "), an O_DIRECT read of the group's pages equal to what was committed "
                         "and every record's header and checksum intact; " + flush_words;
  }
  outcome.config_ok = unflushed == 0 && syncs * c.group == transactions;
  outcome.config = std::to_string(transactions) + " transactions of " + std::to_string(rec) +
                   " B in " + std::to_string(syncs) + " sync(s) of " + std::to_string(c.group) +
                   "; log " + std::to_string(kLogBytes >> 20) +
                   " MiB preallocated (written and fdatasync'd), wrapped " + std::to_string(wraps) +
                   " time(s); page state: " + log.page_state->description();
  if (log.volatile_cache) {
    outcome.config += std::string("; device write cache: ") +
                      (*log.volatile_cache ? "write back" : "write through");
  }
  if (!log.device_stat) outcome.config += "; device counters: " + log.device_error;
  if (unflushed > 0) outcome.config = flush_words + "; " + outcome.config;

  const double per_group = static_cast<double>(c.group);
  outcome.metrics = {{"syncs_per_op", static_cast<double>(syncs) / n},
                     {"append_ns_per_op", static_cast<double>(append_ns) / n},
                     {"sync_ns_per_op", static_cast<double>(sync_ns) / n},
                     {"ns_per_sync", syncs ? static_cast<double>(sync_ns) / static_cast<double>(syncs) : 0},
                     {"file_dirty_pages_after_sync", syncs ? dirty_left_sum / static_cast<double>(syncs) : 0}};
  if (auto v = device.Median("sectors_written"))
    outcome.metrics.emplace_back("device_kib_written_per_op", *v / 2 / per_group);
  if (auto v = device.Median("writes"))
    outcome.metrics.emplace_back("device_writes_per_op", *v / per_group);
  if (auto v = device.Median("flushes"))
    outcome.metrics.emplace_back("device_flushes_per_op", *v / per_group);
  Report(state, outcome);
}

// ---- op:crash ---------------------------------------------------------------------------

struct Trial {
  uint64_t reported = 0;  // highest sequence number reported synced
  uint64_t reports = 0;
  uint64_t kill_after = 0, delay_us = 0;
  LogScan scan;
  uint64_t dirty_at_kill = 0;
  uint64_t ns = 0;
};

// The writer: groups of records, each group synced, then its last number reported. It
// stops at the log's end and waits to be killed.
int Writer(const Config& c, int fd, char* map, uint64_t size, int report_fd) {
  std::vector<char> record(c.record_bytes);
  uint64_t sequence = 0, offset = 0;
  while (offset + c.group * c.record_bytes <= size) {
    const uint64_t begin = offset;
    for (uint64_t j = 0; j < c.group; ++j) {
      EncodeLogRecord(record.data(), c.record_bytes, ++sequence);
      if (Append(c.method, fd, map, record.data(), c.record_bytes, offset)) return 3;
      offset += c.record_bytes;
    }
    const char* call = "";
    if (Sync(c.method, fd, map, begin, offset, &call) != 0) return 4;
    if (write(report_fd, &sequence, sizeof(sequence)) != sizeof(sequence)) return 5;
  }
  for (;;) pause();
}

std::optional<std::string> RunTrial(const Config& c, Log& log, uint64_t trial, Trial* out) {
  const uint64_t size = log.before.size();
  const int fd = log.file.fd.get();
  char* map = log.map.valid() ? log.map.data() : nullptr;
  const uint64_t groups_fit = size / (c.group * c.record_bytes);
  std::mt19937_64 rng(kSeed ^ (static_cast<uint64_t>(c.method) << 56) ^ (c.group << 40) ^
                      (c.record_bytes << 16) ^ trial);
  out->kill_after = std::uniform_int_distribution<uint64_t>(1, std::min<uint64_t>(16, groups_fit))(rng);
  out->delay_us = std::uniform_int_distribution<uint64_t>(0, 3000)(rng);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return SysError("pipe2");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ForkOptions options;
  options.default_signals = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
  options.die_with_parent_exit_code = 2;
  options.close_fds = {read_end.get()};
  std::string error;
  const int wfd = write_end.get();
  const uint64_t start = MonotonicNs();
  const pid_t pid = ForkChild(options, [&] { return Writer(c, fd, map, size, wfd); }, &error);
  if (pid < 0) return error;
  write_end = UniqueFd();
  auto take = [&](uint64_t value) {
    ++out->reports;
    out->reported = std::max(out->reported, value);
  };
  std::optional<std::string> problem;
  while (out->reports < out->kill_after) {
    pollfd p{read_end.get(), POLLIN, 0};
    const int ready = poll(&p, 1, kReportTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      problem = "the writer reported nothing for " + std::to_string(kReportTimeoutMs / 1000) + " s";
      break;
    }
    uint64_t value = 0;
    const ssize_t got = read(read_end.get(), &value, sizeof(value));
    if (got == sizeof(value)) {
      take(value);
    } else {
      problem = "the writer ended before it was killed (after " + std::to_string(out->reports) +
                " reports)";
      break;
    }
  }
  if (!problem) usleep(static_cast<useconds_t>(out->delay_us));
  KillAndReap(pid);
  out->ns = MonotonicNs() - start;
  // Reports written before the kill are still in the pipe: each was sent after its sync.
  for (;;) {
    uint64_t value = 0;
    const ssize_t got = read(read_end.get(), &value, sizeof(value));
    if (got == sizeof(value)) {
      take(value);
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    break;
  }
  if (problem) return problem;
  // What a power loss now could still lose (informational: the kill itself loses nothing).
  if (auto s = log.page_state->Read(map, &error)) out->dirty_at_kill = s->dirty;
  Mapping buffer = AlignedBuffer(size);
  if (!buffer.valid()) return SysError("mmap(read-back buffer)");
  if (auto wrong = PreadExact(log.direct.get(), buffer.data(), size, 0)) return wrong;
  out->scan = ScanLog(buffer.data(), log.before.data(), size, c.record_bytes, 1);
  // The next trial starts from the same log.
  const uint64_t used = std::min<uint64_t>(
      size, RoundUp(out->scan.end_offset + (out->scan.torn + 1) * c.record_bytes, PageBytes()));
  if (auto wrong = PwriteAll(fd, log.before.data(), out->scan.stray ? size : used, 0)) return wrong;
  if (fdatasync(fd) != 0) return SysError("fdatasync");
  return std::nullopt;
}

void RunCrash(benchmark::State& state, const RunContext& ctx, const Config& c) {
  std::string why;
  auto opened = OpenLog(ctx, kCrashLogBytes, c.method == Method::kMmapMsync, &why);
  if (!opened) return Skip(state, why);
  Log& log = *opened;
  std::vector<Trial> trials;
  std::string failure;
  {
    Measurement measure(state, ctx);
    for (auto _ : state) {
      Trial t;
      if (failure.empty()) {
        if (auto wrong = RunTrial(c, log, trials.size(), &t)) {
          failure = "trial " + std::to_string(trials.size()) + ": " + *wrong;
        } else if (t.scan.intact < t.reported || t.scan.stray > 0) {
          failure = "trial " + std::to_string(trials.size()) + ": " +
                    std::to_string(t.reported) + " transactions reported synced, " +
                    std::to_string(t.scan.intact) + " found intact (" + t.scan.stop + "), " +
                    std::to_string(t.scan.stray) + " stray write(s) past the torn tail";
        }
      }
      state.SetIterationTime(static_cast<double>(t.ns) * 1e-9);
      trials.push_back(t);
    }
    measure.Stop();
  }
  if (trials.empty()) return Skip(state, "no trials ran");
  double reported = 0, intact = 0, torn = 0;
  uint64_t kill_lo = UINT64_MAX, kill_hi = 0, torn_max = 0, beyond_lo = UINT64_MAX, beyond_hi = 0;
  uint64_t dirty_hi = 0;
  for (const Trial& t : trials) {
    reported += static_cast<double>(t.reported);
    intact += static_cast<double>(t.scan.intact);
    torn += static_cast<double>(t.scan.torn);
    kill_lo = std::min(kill_lo, t.kill_after);
    kill_hi = std::max(kill_hi, t.kill_after);
    torn_max = std::max(torn_max, t.scan.torn);
    const uint64_t beyond = t.scan.intact > t.reported ? t.scan.intact - t.reported : 0;
    beyond_lo = std::min(beyond_lo, beyond);
    beyond_hi = std::max(beyond_hi, beyond);
    dirty_hi = std::max(dirty_hi, t.dirty_at_kill);
  }
  const double n = static_cast<double>(trials.size());
  Outcome outcome;
  outcome.valid = failure.empty();
  if (!failure.empty()) {
    outcome.validation = failure;
  } else {
    outcome.validation =
        "crash check, " + std::to_string(trials.size()) +
        " trial(s): the writer was SIGKILLed once the parent had read " + Range(kill_lo, kill_hi) +
        " report(s) plus a seeded delay of up to 3 ms; in the log read back with O_DIRECT every "
        "transaction reported synced was found whole and in order (header, checksum, "
        "payload), " + Range(beyond_lo, beyond_hi) +
        " more intact beyond the last report (written, not yet reported), up to " +
        std::to_string(torn_max) +
        " torn record(s) after them, no stray write. Proves ordering and torn-record "
        "detection after a process crash, not survival of power loss: a SIGKILL loses no page "
        "cache (up to " + std::to_string(dirty_hi) +
        " page(s) were still dirty at the kill and were written back by the read)";
  }
  outcome.config_ok = true;
  outcome.config = "log " + std::to_string(kCrashLogBytes >> 20) + " MiB preallocated; " +
                   std::to_string(c.group) + " transaction(s) of " +
                   std::to_string(c.record_bytes) + " B per sync; kill points seeded (0x" +
                   ChecksumText(kSeed) + " ^ case ^ trial: the same in every repetition)";
  outcome.metrics = {{"reported_synced", reported / n},
                     {"found_intact", intact / n},
                     {"torn_records", torn / n}};
  Report(state, outcome);
}

Case MakeCase(const Config& c) {
  std::vector<Param> params = {{"op", c.op == Op::kCommit ? "commit" : "crash"},
                               {"method", MethodName(c.method)},
                               {"group", std::to_string(c.group)},
                               {"record_bytes", std::to_string(c.record_bytes)}};
  const int iterations = c.iterations;
  const bool one_trial = c.op == Op::kCrash && iterations == 1;
  return Case{"", params,
              [c](benchmark::State& s, const RunContext& ctx) {
                if (c.op == Op::kCommit) {
                  RunCommit(s, ctx, c);
                } else {
                  RunCrash(s, ctx, c);
                }
              },
              // A sync costs milliseconds on a disk: a fixed count bounds the wall time,
              // and commit counts are whole groups.
              [iterations, one_trial](benchmark::internal::Benchmark* b) {
                b->Iterations(iterations);
                if (one_trial) b->Repetitions(1);
              },
              /*manual_time=*/true};
}

const std::vector<Method> kMethods = {Method::kWalFdatasync, Method::kMmapMsync,
                                      Method::kPwriteSyncFileRange};

// Transactions per row: whole groups, at least 16 transactions and two syncs.
int CommitTransactions(uint64_t group) { return static_cast<int>(std::max<uint64_t>(16, 2 * group)); }

// Quick: groups 1 and 16 of 4 KiB records by each method, one crash trial of the WAL.
// Full: groups 1, 4, 16, 64 of 256 B and 4 KiB records; five crash trials of each
// method at groups 1 and 16.
std::vector<Case> Cases(Suite suite) {
  std::vector<Case> cases;
  if (suite == Suite::kQuick) {
    for (Method m : kMethods) {
      for (uint64_t g : {1, 16}) cases.push_back(MakeCase({Op::kCommit, m, g, 4096, g == 1 ? 8 : 32}));
    }
    cases.push_back(MakeCase({Op::kCrash, Method::kWalFdatasync, 1, 4096, 1}));
    return cases;
  }
  for (Method m : kMethods) {
    for (uint64_t rec : {256, 4096}) {
      for (uint64_t g : {1, 4, 16, 64}) {
        cases.push_back(MakeCase({Op::kCommit, m, g, rec, CommitTransactions(g)}));
      }
    }
  }
  for (Method m : kMethods) {
    for (uint64_t rec : {256, 4096}) {
      for (uint64_t g : {1, 16}) cases.push_back(MakeCase({Op::kCrash, m, g, rec, 5}));
    }
  }
  return cases;
}

MAPBENCH_FAMILY(Family{
    "db_commit",
    "a transaction made durable: WAL pwrite+fdatasync vs mmap+msync vs pwrite+sync_file_range+"
    "fdatasync, group commit 1-64, and a SIGKILL crash check of the log",
    {"syncs_per_op", "append_ns_per_op", "sync_ns_per_op", "ns_per_sync",
     "file_dirty_pages_after_sync", "device_kib_written_per_op", "device_writes_per_op",
     "device_flushes_per_op", "reported_synced", "found_intact", "torn_records"},
    Cases});

}  // namespace
}  // namespace mapbench
