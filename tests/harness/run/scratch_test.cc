#include "harness/run/scratch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "harness/kernel/cache_control.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/system_files.h"
#include "harness/measure/access.h"

namespace mapbench {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

TEST(Checksum, SumWordsMatchesExpectedAndSeesChanges) {
  std::vector<uint64_t> words(1000);
  for (size_t i = 0; i < words.size(); ++i) words[i] = ScratchWord(i);
  EXPECT_EQ(SumWords(words.data(), words.size() * 8), ExpectedChecksum(words.size() * 8));
  words[517] ^= 1;  // one flipped bit changes the sum
  EXPECT_NE(SumWords(words.data(), words.size() * 8), ExpectedChecksum(words.size() * 8));
  words[517] ^= 1;
  words[3] = words[4];  // a block read twice instead of another
  EXPECT_NE(SumWords(words.data(), words.size() * 8), ExpectedChecksum(words.size() * 8));
}

TEST(Access, RandomOrderIsAFixedPermutationWithTheSameSum) {
  auto order = BlockOrder(64, Pattern::kRandom);
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, BlockOrder(64, Pattern::kSequential));
  EXPECT_NE(order, sorted);
  EXPECT_EQ(order, BlockOrder(64, Pattern::kRandom));  // reproducible
  std::vector<uint64_t> words(64 * 512);
  for (size_t i = 0; i < words.size(); ++i) words[i] = ScratchWord(i);
  const char* base = reinterpret_cast<const char*>(words.data());
  EXPECT_EQ(SumBlocks(base, 4096, order), ExpectedChecksum(words.size() * 8));
}

TEST(ScratchDir, FilesHaveKnownContentAndAreRemoved) {
  std::string error;
  std::string dir_path, file_path;
  {
    auto scratch = ScratchDir::Create(".", &error);
    ASSERT_TRUE(scratch) << error;
    dir_path = scratch->path();
    struct stat st;
    ASSERT_EQ(stat(dir_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    const ScratchFile* file = scratch->File(1 << 20, &error);
    ASSERT_NE(file, nullptr) << error;
    EXPECT_EQ(file->checksum, ExpectedChecksum(1 << 20));
    EXPECT_EQ(scratch->File(1 << 20, &error), file);  // created once, reused
    file_path = file->path;
    UniqueFd fd(open(file_path.c_str(), O_RDONLY));
    std::vector<char> bytes(1 << 20);
    ASSERT_EQ(read(fd.get(), bytes.data(), bytes.size()), 1 << 20);
    EXPECT_EQ(SumWords(bytes.data(), bytes.size()), file->checksum);
  }
  EXPECT_FALSE(Exists(file_path));
  EXPECT_FALSE(Exists(dir_path));
}

TEST(ScratchDir, SignalPathRemovesFiles) {
  std::string error;
  auto scratch = ScratchDir::Create(".", &error);
  ASSERT_TRUE(scratch) << error;
  const ScratchFile* file = scratch->File(4096, &error);
  ASSERT_NE(file, nullptr);
  ScratchDir::RemoveAllFromSignalHandler();
  EXPECT_FALSE(Exists(file->path));
  EXPECT_FALSE(Exists(scratch->path()));
}

TEST(ScratchDir, RefusesImpossibleSizesBeforeWriting) {
  std::string error;
  auto scratch = ScratchDir::Create(".", &error);
  ASSERT_TRUE(scratch);
  EXPECT_EQ(scratch->File(1ull << 60, &error), nullptr);
  EXPECT_NE(error.find("not enough disk"), std::string::npos) << error;
  EXPECT_EQ(SystemFiles().List(scratch->path()), std::vector<std::string>{"owner.pid"});  // nothing written
  EXPECT_EQ(scratch->File(12, &error), nullptr);
  EXPECT_EQ(scratch->File(0, &error), nullptr);
}

TEST(ScratchDir, RefusesMissingParent) {
  std::string error;
  EXPECT_FALSE(ScratchDir::Create("/no/such/dir", &error));
  EXPECT_NE(error.find("/no/such/dir"), std::string::npos);
}

TEST(CacheControl, EvictionReallyEvictsAndWarmingWarms) {
  std::string error;
  auto scratch = ScratchDir::Create(".", &error);
  ASSERT_TRUE(scratch);
  const uint64_t size = 8 << 20;
  const ScratchFile* file = scratch->File(size, &error);
  ASSERT_NE(file, nullptr) << error;
  UniqueFd fd(open(file->path.c_str(), O_RDONLY));
  ASSERT_FALSE(WarmCache(fd.get(), size));
  EXPECT_DOUBLE_EQ(ResidentFraction(fd.get(), size, &error).value_or(-1), 1.0);
  ASSERT_FALSE(EvictFromCache(fd.get()));
  double cold = ResidentFraction(fd.get(), size, &error).value_or(-1);
  if (cold > 0.5) GTEST_SKIP() << "scratch filesystem cannot drop its cache (tmpfs?)";
  EXPECT_LE(cold, 0.01);
}

}  // namespace
}  // namespace mapbench
