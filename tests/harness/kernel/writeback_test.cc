#include "harness/kernel/writeback.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/kernel/page_backing.h"
#include "harness/kernel/smaps.h"
#include "harness/kernel/system_files.h"
#include "harness/measure/file_content.h"

namespace mapbench {
namespace {

const char kVmstatBefore[] = R"(nr_free_pages 5474211
nr_dirty 47
nr_writeback 0
nr_dirtied 616940
nr_written 587567
pgfault 10127272
)";
const char kVmstatAfter[] = R"(nr_free_pages 5474000
nr_dirty 12
nr_writeback 0
nr_dirtied 617196
nr_written 587823
pgfault 10127300
thp_fault_alloc 3
)";

TEST(CounterDeltas, VmstatCountersAndGauges) {
  auto deltas =
      CounterDeltas(ParseKeyValues(kVmstatBefore), ParseKeyValues(kVmstatAfter),
                    {"nr_dirtied", "nr_written", "nr_dirty", "thp_fault_alloc", "absent"});
  EXPECT_EQ(deltas.at("nr_dirtied"), 256);
  EXPECT_EQ(deltas.at("nr_written"), 256);
  EXPECT_EQ(deltas.at("nr_dirty"), -35);           // a gauge can go down
  EXPECT_EQ(deltas.count("thp_fault_alloc"), 0u);  // missing before: no delta, not a bogus one
  EXPECT_EQ(deltas.count("absent"), 0u);
}

TEST(BlockStat, ParsesEveryKernelLayout) {
  // 17 fields (Linux 5.5+), as in /sys/block/vda/stat.
  auto full = ParseBlockStat(
      "   14630     5231  1275830    11650    43390    31027  2541818   139071        0    "
      "93632   169813        0        0        0        0     8779    19091\n");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->at("writes"), 43390u);
  EXPECT_EQ(full->at("sectors_written"), 2541818u);
  EXPECT_EQ(full->at("flushes"), 8779u);
  auto old = ParseBlockStat("1 2 3 4 5 6 7 8 9 10 11");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->at("time_in_queue"), 11u);
  EXPECT_EQ(old->count("flushes"), 0u);
  EXPECT_FALSE(ParseBlockStat("1 2 3"));
  EXPECT_FALSE(ParseBlockStat("1 2 3 4 5 6 7 8 9 10 x"));
  EXPECT_FALSE(ParseBlockStat(""));
}

TEST(BlockStat, PathComesFromTheFileSystemDevice) {
  SystemFiles fixture("/nonexistent-root");
  std::string error;
  UniqueFd fd(open(".", O_RDONLY | O_DIRECTORY));
  EXPECT_FALSE(BlockStatPathFor(fd.get(), fixture, &error));
  EXPECT_NE(error.find("/sys/dev/block/"), std::string::npos);
  EXPECT_FALSE(BlockStatPathFor(-1, SystemFiles(), &error));
}

TEST(DeltaSeries, MedianIgnoresABurstFromElsewhere) {
  DeltaSeries series;
  for (int64_t written : {256, 256, 70000, 256, 250}) series.Add({{"nr_written", written}});
  series.Add({{"nr_dirtied", 1}});
  EXPECT_EQ(series.Median("nr_written"), 256.0);
  EXPECT_EQ(series.samples("nr_written"), 5u);
  EXPECT_EQ(series.Median("nr_dirtied"), 1.0);
  EXPECT_FALSE(series.Median("pgfault"));
  series.Add({{"nr_dirtied", 4}});
  EXPECT_EQ(series.Median("nr_dirtied"), 2.5);
}

TEST(FileCacheStat, SeesDirtyPagesUntilSynced) {
  std::string error;
  auto file = MakeGenerationFile(".", 16 * 4096, 4096, &error);
  ASSERT_TRUE(file) << error;
  auto clean = FileCacheStat(file->fd.get(), 0, 0, &error);
  if (!clean && errno == ENOSYS) GTEST_SKIP() << error;
  ASSERT_TRUE(clean) << error;
  EXPECT_EQ(clean->dirty, 0u);
  EXPECT_EQ(clean->cached, 16u);
  const uint64_t word = GenerationWord(1, 512);
  ASSERT_EQ(pwrite(file->fd.get(), &word, 8, 4096), 8);
  auto dirty = FileCacheStat(file->fd.get(), 0, 0, &error);
  ASSERT_TRUE(dirty) << error;
  EXPECT_GE(dirty->dirty, 1u);  // one page, or a whole folio where folios are large
  auto outside = FileCacheStat(file->fd.get(), 8 * 4096, 8 * 4096, &error);
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->dirty, 0u);  // the range counts: 4 KiB folios here (4 KiB writes)
  ASSERT_EQ(fdatasync(file->fd.get()), 0);
  EXPECT_EQ(FileCacheStat(file->fd.get(), 0, 0, &error)->dirty, 0u);
  EXPECT_FALSE(FileCacheStat(-1, 0, 0, &error));
}

// ---- device write cache -------------------------------------------------------------

TEST(WriteCache, ParsesTheQueueFile) {
  EXPECT_EQ(ParseWriteCache("write back\n"), true);
  EXPECT_EQ(ParseWriteCache("write through\n"), false);
  EXPECT_FALSE(ParseWriteCache(""));
  EXPECT_FALSE(ParseWriteCache("writeback"));
}

// A fake /sys for the device holding ".": a whole disk, then a partition whose queue
// is its disk's (sysfs puts the partition's directory inside the disk's).
TEST(WriteCache, FoundForADiskAndForAPartition) {
  char pattern[] = "/tmp/writeback_test.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string root = pattern;
  UniqueFd fd(open(".", O_RDONLY | O_DIRECTORY));
  struct stat st;
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  const std::string dev = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  namespace fs = std::filesystem;
  std::string error;
  EXPECT_FALSE(VolatileWriteCacheFor(fd.get(), SystemFiles(root), &error));
  EXPECT_NE(error.find("/sys/dev/block/" + dev + "/queue/write_cache"), std::string::npos) << error;

  fs::create_directories(root + "/sys/devices/vda/queue");
  fs::create_directories(root + "/sys/dev/block");
  std::ofstream(root + "/sys/devices/vda/queue/write_cache") << "write back\n";
  fs::create_symlink("../../devices/vda", root + "/sys/dev/block/" + dev);
  EXPECT_EQ(VolatileWriteCacheFor(fd.get(), SystemFiles(root), &error), true) << error;

  fs::remove(root + "/sys/dev/block/" + dev);
  fs::create_directories(root + "/sys/devices/vda/vda1");
  fs::create_symlink("../../devices/vda/vda1", root + "/sys/dev/block/" + dev);
  std::ofstream(root + "/sys/devices/vda/queue/write_cache") << "write through\n";
  EXPECT_EQ(VolatileWriteCacheFor(fd.get(), SystemFiles(root), &error), false) << error;

  std::ofstream(root + "/sys/devices/vda/queue/write_cache") << "sometimes\n";
  EXPECT_FALSE(VolatileWriteCacheFor(fd.get(), SystemFiles(root), &error));
  EXPECT_NE(error.find("says 'sometimes'"), std::string::npos) << error;
  fs::remove_all(root);
}

// ---- page state: parsers and the choice of method -------------------------------------

constexpr uint64_t kPresent = 1ull << 63;
constexpr uint64_t kDirtyBit = 1ull << 4;                     // KPF_DIRTY
constexpr uint64_t kWritebackBit = 1ull << 8;                 // KPF_WRITEBACK
constexpr uint64_t kLruUptodate = (1ull << 5) | (1ull << 3);  // KPF_LRU | KPF_UPTODATE

TEST(PageState, FromKpageflagsWords) {
  PageFrames frames;
  frames.pfns_visible = true;
  // Words as /proc/kpageflags gives them for a page-cache file: clean, dirty, under
  // writeback, dirty again (a folio may be both while being redirtied), not present.
  frames.pagemap = {kPresent | 0x1000, kPresent | 0x1001, kPresent | 0x1002, kPresent | 0x2000, 0};
  frames.flags = {kLruUptodate, kLruUptodate | kDirtyBit, kLruUptodate | kWritebackBit,
                  kLruUptodate | kDirtyBit | kWritebackBit, 0};
  PageState state = PageStateFromFrames(frames);
  EXPECT_EQ(state.pages, 5u);
  EXPECT_EQ(state.dirty, 2u);
  EXPECT_EQ(state.writeback, 2u);
  EXPECT_EQ(state.unseen, 1u);  // not present: its flags say nothing

  frames.pfns_visible = false;  // no CAP_SYS_ADMIN: PFNs read as 0, nothing can be seen
  EXPECT_EQ(PageStateFromFrames(frames).unseen, 5u);
  EXPECT_EQ(PageStateFromFrames(frames).dirty, 0u);
}

const char kFileMappingSmaps[] =
    R"(7f1000000000-7f1000100000 rw-s 00000000 fe:00 1234                       /scratch/file (deleted)
Size:               1024 kB
Rss:                1024 kB
Shared_Clean:       1016 kB
Shared_Dirty:          8 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
VmFlags: rd wr sh mr mw me ms
7f1000100000-7f1000200000 r--s 00000000 fe:00 1235                       /scratch/other
Size:               1024 kB
Rss:                 512 kB
Shared_Dirty:          4 kB
Private_Dirty:         4 kB
VmFlags: rd sh mr mw me ms
)";

TEST(PageState, FromSmapsOfTheMapping) {
  auto fields = SmapsForRange(kFileMappingSmaps, 0x7f1000000000, 0x7f1000100000);
  ASSERT_TRUE(fields);
  PageState state = PageStateFromSmaps(*fields, 1 << 20, 4096);
  EXPECT_EQ(state.pages, 256u);
  EXPECT_EQ(state.dirty, 2u);
  EXPECT_EQ(state.unseen, 0u);
  EXPECT_FALSE(state.writeback);  // smaps cannot see writeback: unknown, never "0"
  auto half = SmapsForRange(kFileMappingSmaps, 0x7f1000100000, 0x7f1000200000);
  ASSERT_TRUE(half);
  PageState partly = PageStateFromSmaps(*half, 1 << 20, 4096);
  EXPECT_EQ(partly.dirty, 2u);
  EXPECT_EQ(partly.unseen, 128u);  // not mapped in: a dirty page there would not show
}

TEST(PageState, FromCachestatCountsEveryPage) {
  CacheStat stat;
  stat.cached = 10;
  stat.dirty = 3;
  stat.writeback = 1;
  PageState state = PageStateFromCacheStat(stat, 256);
  EXPECT_EQ(state.pages, 256u);
  EXPECT_EQ(state.dirty, 3u);
  EXPECT_EQ(state.writeback, 1u);
  EXPECT_EQ(state.unseen, 0u);
}

TEST(PageState, MethodNamesAndRequests) {
  for (auto m :
       {PageStateMethod::kCachestat, PageStateMethod::kKpageflags, PageStateMethod::kSmaps}) {
    EXPECT_EQ(ParsePageStateMethod(PageStateMethodName(m)), m);
    EXPECT_TRUE(ValidPageStateRequest(PageStateMethodName(m)));
  }
  EXPECT_FALSE(ParsePageStateMethod("auto"));
  EXPECT_TRUE(ValidPageStateRequest("auto"));
  EXPECT_FALSE(ValidPageStateRequest("mincore"));
  EXPECT_FALSE(ValidPageStateRequest(""));
}

TEST(PageState, ChoiceFollowsTheProbe) {
  std::string why;
  PageStateProbe all_work;
  EXPECT_EQ(ChoosePageStateMethod(std::nullopt, all_work, &why), PageStateMethod::kCachestat);
  // Linux 5.15 / 6.1 as root: no cachestat, kpageflags readable.
  PageStateProbe lts_root;
  lts_root.cachestat = "cachestat(fd=3): Function not implemented (needs Linux 6.5)";
  EXPECT_EQ(ChoosePageStateMethod(std::nullopt, lts_root, &why), PageStateMethod::kKpageflags);
  // ... and as a user: PFNs hidden.
  PageStateProbe lts_user = lts_root;
  lts_user.kpageflags = "PFNs hidden (needs root)";
  EXPECT_EQ(ChoosePageStateMethod(std::nullopt, lts_user, &why), PageStateMethod::kSmaps);
  // A forced method is used when it works, never replaced by another one.
  EXPECT_EQ(ChoosePageStateMethod(PageStateMethod::kSmaps, all_work, &why),
            PageStateMethod::kSmaps);
  EXPECT_FALSE(ChoosePageStateMethod(PageStateMethod::kCachestat, lts_root, &why));
  EXPECT_EQ(why,
            "--page_state=cachestat: cachestat(fd=3): Function not implemented (needs Linux 6.5)");
  PageStateProbe none = lts_user;
  none.smaps = "no VMA";
  EXPECT_FALSE(ChoosePageStateMethod(std::nullopt, none, &why));
  EXPECT_NE(why.find("kpageflags: PFNs hidden"), std::string::npos) << why;
  EXPECT_NE(why.find("smaps: no VMA"), std::string::npos) << why;
}

// ---- the verdict on one sync call -----------------------------------------------------

PageState Clean(std::optional<uint64_t> writeback = 0) {
  PageState s;
  s.pages = 256;
  s.writeback = writeback;
  return s;
}

TEST(JudgeSync, DurableNeedsCleanPagesTheBytesAndAFlush) {
  SyncEvidence e;
  e.promise = Durability::kDurable;
  e.after = Clean();
  e.volatile_cache = true;
  e.flushes = 1;
  SyncVerdict ok = JudgeSync(e);
  EXPECT_TRUE(ok.valid);
  EXPECT_TRUE(ok.flushed);
  EXPECT_EQ(ok.problem, "");

  // The bytes read back fine, but only because the read wrote the dirty page first: the
  // page state after the call alone decides, so this is invalid (the old check synced
  // and evicted before reading, and passed it).
  SyncEvidence dirty = e;
  dirty.after.dirty = 1;
  SyncVerdict v = JudgeSync(dirty);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.problem, "the call returned with 1 page(s) dirty");
  SyncEvidence writeback = e;
  writeback.after.writeback = 3;
  EXPECT_FALSE(JudgeSync(writeback).valid);
  SyncEvidence unseen = e;
  unseen.after.unseen = 2;
  EXPECT_FALSE(JudgeSync(unseen).valid);
  SyncEvidence wrong = e;
  wrong.read_back_error = "word 0 (byte 0) holds generation 2 (expected generation 3)";
  v = JudgeSync(wrong);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.problem,
            "O_DIRECT read-back: word 0 (byte 0) holds generation 2 (expected generation 3)");

  // No flush on a write-back cache: the bytes are on the device, but maybe only in its
  // volatile cache. The number is real, the durability claimed is not: not "flushed".
  SyncEvidence unflushed = e;
  unflushed.flushes = 0;
  v = JudgeSync(unflushed);
  EXPECT_TRUE(v.valid);
  EXPECT_FALSE(v.flushed);
  EXPECT_EQ(v.problem, "no device cache flush during the call on a write-back cache");
  unflushed.volatile_cache = false;  // write-through: nothing to flush
  EXPECT_TRUE(JudgeSync(unflushed).flushed);
  unflushed.volatile_cache = true;
  unflushed.flushes.reset();  // a kernel without flush counters: not checkable
  EXPECT_TRUE(JudgeSync(unflushed).flushed);

  SyncEvidence blind = e;  // smaps: writeback unknown, dirty pages still seen
  blind.after = Clean(std::nullopt);
  EXPECT_TRUE(JudgeSync(blind).valid);
  blind.after.dirty = 4;
  EXPECT_FALSE(JudgeSync(blind).valid);
}

TEST(JudgeSync, SyncFileRangeIsWrittenButNeedsNoFlush) {
  SyncEvidence e;
  e.promise = Durability::kWrittenNoFlush;
  e.after = Clean();
  e.volatile_cache = true;
  e.flushes = 0;
  SyncVerdict v = JudgeSync(e);
  EXPECT_TRUE(v.valid);
  EXPECT_TRUE(v.flushed);
  e.after.dirty = 1;
  EXPECT_FALSE(JudgeSync(e).valid);  // it promises the data is written: a dirty page fails it
}

TEST(JudgeSync, NoPromiseIsJudgedOnTheBytesOnly) {
  SyncEvidence e;
  e.promise = Durability::kNone;
  e.after = Clean();
  e.after.dirty = 256;  // MS_ASYNC leaves everything dirty: allowed, it promised nothing
  e.volatile_cache = true;
  e.flushes = 0;
  EXPECT_TRUE(JudgeSync(e).valid);
  EXPECT_TRUE(JudgeSync(e).flushed);
  e.read_back_error = "short read";
  EXPECT_FALSE(JudgeSync(e).valid);
}

TEST(JudgeSync, Names) {
  EXPECT_STREQ(DurabilityName(Durability::kDurable), "durable");
  EXPECT_STREQ(DurabilityName(Durability::kWrittenNoFlush), "written_no_flush");
  EXPECT_STREQ(DurabilityName(Durability::kNone), "none");
}

// ---- on the running kernel -------------------------------------------------------------

// What makes the order matter: an O_DIRECT read of a dirty page writes it back first,
// so the read alone would "prove" any call durable. Each method that works here sees
// the page dirty before that read and clean after it.
TEST(FilePageState, ODirectReadWritesADirtyPageBackFirst) {
  std::string error;
  auto file = MakeGenerationFile(".", 16 * 4096, 4096, &error);
  ASSERT_TRUE(file) << error;
  if (auto why = InMemoryFilesystem(file->fd.get())) GTEST_SKIP() << *why;
  UniqueFd direct = OpenDirect(file->fd.get(), &error);
  if (!direct.valid()) GTEST_SKIP() << error;
  const size_t size = file->size;
  Mapping map(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file->fd.get(), 0), size);
  ASSERT_TRUE(map.valid());
  Mapping buffer(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                 4096);
  ASSERT_TRUE(buffer.valid());
  int tried = 0;
  uint64_t generation = 0;
  for (auto method :
       {PageStateMethod::kCachestat, PageStateMethod::kKpageflags, PageStateMethod::kSmaps}) {
    auto reader = FilePageState::Open(file->fd.get(), size, SystemFiles(), method, &error);
    if (!reader) continue;  // cachestat before 6.5, kpageflags without root
    ++tried;
    ++generation;
    StampWords(map.data() + 4096, 4096, 512, Expected{generation, 1, 0});
    auto before = reader->Read(map.data(), &error);
    ASSERT_TRUE(before) << error;
    EXPECT_EQ(before->dirty, 1u) << PageStateMethodName(method);
    ASSERT_FALSE(PreadExact(direct.get(), buffer.data(), 4096, 4096));
    EXPECT_FALSE(CheckRegion(buffer.data(), 4096, 512, Expected{generation, 1, 0}));
    auto after = reader->Read(map.data(), &error);
    ASSERT_TRUE(after) << error;
    EXPECT_EQ(after->dirty, 0u) << PageStateMethodName(method) << ": the read wrote it back";
  }
  EXPECT_GE(tried, 1);  // smaps works everywhere
}

// The family's sequence: MS_ASYNC leaves the page dirty (a durable claim would fail);
// MS_SYNC leaves it clean and the device holds it, with nothing synced in between.
TEST(FilePageState, MsyncSequenceWithoutAnOwnSync) {
  std::string error;
  auto file = MakeGenerationFile(".", 8 * 4096, 4096, &error);
  ASSERT_TRUE(file) << error;
  if (auto why = InMemoryFilesystem(file->fd.get())) GTEST_SKIP() << *why;
  UniqueFd direct = OpenDirect(file->fd.get(), &error);
  if (!direct.valid()) GTEST_SKIP() << error;
  auto reader =
      FilePageState::Open(file->fd.get(), file->size, SystemFiles(), std::nullopt, &error);
  ASSERT_TRUE(reader) << error;
  const size_t size = file->size;
  Mapping map(mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file->fd.get(), 0), size);
  ASSERT_TRUE(map.valid());
  Mapping buffer(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                 4096);
  ASSERT_TRUE(buffer.valid());
  for (int flags : {MS_ASYNC, MS_SYNC}) {
    const uint64_t generation = flags == MS_ASYNC ? 1 : 2;
    StampWords(map.data() + 4096, 4096, 512, Expected{generation, 1, 0});
    ASSERT_EQ(msync(map.data(), size, flags), 0);
    SyncEvidence e;
    e.promise = Durability::kDurable;
    auto left = reader->Read(map.data(), &error);
    ASSERT_TRUE(left) << error;
    e.after = *left;
    if (auto why = PreadExact(direct.get(), buffer.data(), 4096, 4096)) {
      e.read_back_error = why;
    } else {
      e.read_back_error = CheckRegion(buffer.data(), 4096, 512, Expected{generation, 1, 0});
    }
    SyncVerdict v = JudgeSync(e);
    // MS_ASYNC starts no writeback on current kernels: claimed durable, it is caught.
    EXPECT_EQ(v.valid, flags == MS_SYNC) << v.problem;
    EXPECT_FALSE(e.read_back_error) << *e.read_back_error;  // the read itself passes both
  }
}

TEST(FilePageState, PwrittenPagesSeenWithoutTheCallersMapping) {
  std::string error;
  auto file = MakeGenerationFile(".", 8 * 4096, 4096, &error);
  ASSERT_TRUE(file) << error;
  for (auto method :
       {PageStateMethod::kCachestat, PageStateMethod::kKpageflags, PageStateMethod::kSmaps}) {
    auto reader = FilePageState::Open(file->fd.get(), file->size, SystemFiles(), method, &error);
    if (!reader) continue;
    EXPECT_EQ(reader->description(), PageStateMethodName(method));  // forced: no reasons
    const uint64_t word = GenerationWord(1, 1024);
    ASSERT_EQ(pwrite(file->fd.get(), &word, 8, 8192), 8);
    auto dirty = reader->Read(nullptr, &error);
    ASSERT_TRUE(dirty) << error;
    EXPECT_EQ(dirty->dirty, 1u) << PageStateMethodName(method);
    EXPECT_EQ(dirty->unseen, 0u);
    ASSERT_EQ(fdatasync(file->fd.get()), 0);
    EXPECT_EQ(reader->Read(nullptr, &error)->dirty, 0u);
  }
}

TEST(Durability, InMemoryFilesAndODirect) {
  std::string error;
  auto disk = MakeGenerationFile(".", 4096, 4096, &error);
  ASSERT_TRUE(disk) << error;
  UniqueFd direct = OpenDirect(disk->fd.get(), &error);  // the file is already unlinked
  if (!InMemoryFilesystem(disk->fd.get())) {
    EXPECT_TRUE(direct.valid()) << error;
  }
  EXPECT_FALSE(OpenDirect(-1, &error).valid());
  EXPECT_NE(error.find("/proc/self/fd/-1"), std::string::npos);
  if (access("/dev/shm", W_OK) == 0) {
    auto shm = MakeGenerationFile("/dev/shm", 4096, 4096, &error);
    ASSERT_TRUE(shm) << error;
    auto why = InMemoryFilesystem(shm->fd.get());
    ASSERT_TRUE(why);  // tmpfs accepts O_DIRECT since 6.6, yet nothing reaches a device
    EXPECT_NE(why->find("tmpfs"), std::string::npos);
  }
}

}  // namespace
}  // namespace mapbench
