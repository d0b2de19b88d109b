#include "harness/measure/file_content.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "harness/run/scratch.h"

namespace mapbench {
namespace {

TEST(GenerationWord, GenerationZeroIsTheScratchContentAndGenerationsDiffer) {
  std::set<uint64_t> seen;
  for (uint64_t i = 0; i < 1000; ++i) {
    EXPECT_EQ(GenerationWord(0, i), ScratchWord(i));
    for (uint64_t g : {0, 1, 2, 1000}) seen.insert(GenerationWord(g, i));
  }
  EXPECT_EQ(seen.size(), 4000u);  // no generation repeats another's word at any index
  std::vector<uint64_t> words(512);
  for (size_t i = 0; i < words.size(); ++i) words[i] = GenerationWord(0, i);
  EXPECT_EQ(SumWords(words.data(), 4096), ExpectedChecksum(4096));
}

TEST(CheckRegion, AcceptsStampedPagesAndNamesAStaleWord) {
  std::vector<uint64_t> words(4 * 512);
  const Expected old_gen{3, 512, 0};
  for (size_t i = 0; i < words.size(); ++i) words[i] = GenerationWord(0, 1024 + i);
  StampWords(words.data(), words.size() * 8, 1024, old_gen);
  EXPECT_FALSE(CheckRegion(words.data(), words.size() * 8, 1024, old_gen));

  const Expected next{4, 512, 0};
  StampWords(words.data(), 3 * 4096, 1024, next);  // the last page's write went missing
  auto wrong = CheckRegion(words.data(), words.size() * 8, 1024, next);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(*wrong, "word 2560 (byte 20480) holds generation 3 (expected generation 4)");
  // Only the first word of each page was written: the rest still hold generation 0.
  EXPECT_EQ(words[1], GenerationWord(0, 1025));
}

TEST(CheckRegion, StampingMidPageStartsAtTheNextStride) {
  std::vector<uint64_t> words(1024, 7);
  StampWords(words.data() + 100, (1024 - 100) * 8, 100, Expected{5, 512, std::nullopt});
  EXPECT_EQ(words[512], GenerationWord(5, 512));
  EXPECT_EQ(words[100], 7u);
  EXPECT_EQ(words[0], 7u);
}

TEST(CheckRegion, WrittenOnlySkipsTheBackground) {
  std::vector<uint64_t> words(2048, 0);
  Expected quick{2, 512, std::nullopt, true};
  StampWords(words.data(), words.size() * 8, 0, quick);
  words[7] = 99;  // background damage: only the full check sees it
  EXPECT_FALSE(CheckRegion(words.data(), words.size() * 8, 0, quick));
  EXPECT_TRUE(CheckRegion(words.data(), words.size() * 8, 0, Expected{2, 512, std::nullopt}));
  words[1536] = GenerationWord(1, 1536);  // a stale written word: both see it
  auto wrong = CheckRegion(words.data(), words.size() * 8, 0, quick);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(*wrong, "word 1536 (byte 12288) holds generation 1 (expected generation 2)");
  // A region that starts mid-page checks from the next written word.
  EXPECT_EQ(*CheckRegion(words.data() + 1000, 1048 * 8, 1000, quick), *wrong);
}

TEST(CheckRegion, ZeroBackgroundForAnonymousMemoryAndLeakedWrites) {
  std::vector<uint64_t> words(1024, 0);
  const Expected anon{1, 512, std::nullopt};
  StampWords(words.data(), 8192, 0, anon);
  EXPECT_FALSE(CheckRegion(words.data(), 8192, 0, anon));
  words[3] = GenerationWord(1, 3);  // a word that should have stayed zero
  auto wrong = CheckRegion(words.data(), 8192, 0, anon);
  ASSERT_TRUE(wrong);
  EXPECT_NE(wrong->find("word 3 "), std::string::npos);
  EXPECT_NE(wrong->find("holds generation 1 (expected zero)"), std::string::npos);
  words[3] = 0;
  words[512] = 0;  // a write that never happened
  EXPECT_NE(CheckRegion(words.data(), 8192, 0, anon)->find("holds zero (expected generation 1)"),
            std::string::npos);
}

TEST(GenerationFile, StartsAtGenerationZeroAndIsUnlinked) {
  std::string error;
  auto file = MakeGenerationFile(".", 64 << 10, 4096, &error);
  ASSERT_TRUE(file) << error;
  EXPECT_FALSE(CheckFile(file->check.get(), 0, file->size, Expected{0, 1, 0}));
  char link[64], target[4096];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", file->fd.get());
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(target, n).find("(deleted)"), std::string::npos);
}

// The validation a sharing or msync case relies on, on a real file and real mappings.
TEST(GenerationFile, SharedWritesReachTheFileAndPrivateWritesDoNot) {
  std::string error;
  auto file = MakeGenerationFile(".", 16 * 4096, 1 << 20, &error);
  ASSERT_TRUE(file) << error;
  const size_t size = file->size;
  const Expected pages_gen1{1, 512, 0};

  void* priv = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, file->fd.get(), 0);
  ASSERT_NE(priv, MAP_FAILED);
  StampWords(priv, size, 0, pages_gen1);
  EXPECT_FALSE(CheckRegion(priv, size, 0, pages_gen1));
  munmap(priv, size);
  EXPECT_FALSE(CheckFile(file->check.get(), 0, size, Expected{0, 1, 0}));  // never reached it
  auto wrong = CheckFile(file->check.get(), 0, size, pages_gen1);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(*wrong, "file word 0 (byte 0) holds generation 0 (expected generation 1)");

  void* shared = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file->fd.get(), 0);
  ASSERT_NE(shared, MAP_FAILED);
  StampWords(shared, size, 0, pages_gen1);
  munmap(shared, size);
  EXPECT_FALSE(CheckFile(file->check.get(), 0, size, pages_gen1));
  EXPECT_TRUE(CheckFile(file->check.get(), 0, size, Expected{0, 1, 0}));
}

TEST(GenerationFile, ReadErrorsAndShortFilesAreReported) {
  std::string error;
  auto file = MakeGenerationFile(".", 4096, 4096, &error);
  ASSERT_TRUE(file) << error;
  auto beyond = CheckFile(file->check.get(), 0, 8192, Expected{0, 1, 0});
  ASSERT_TRUE(beyond);
  EXPECT_EQ(*beyond, "file ends at byte 4096");
  EXPECT_TRUE(CheckFile(-1, 0, 8, Expected{}));
  EXPECT_FALSE(MakeGenerationFile("/nonexistent-dir", 4096, 4096, &error));
  EXPECT_FALSE(MakeGenerationFile(".", 4095, 4096, &error));
}

TEST(MapSharedAndTouch, MapsTheFileSharedAndEveryPageIsResident) {
  std::string error;
  auto file = MakeGenerationFile(".", 4 * 4096, 4096, &error);
  ASSERT_TRUE(file) << error;
  Mapping map = MapSharedAndTouch(file->fd.get(), 4 * 4096);
  ASSERT_TRUE(map.valid());
  std::vector<unsigned char> resident(4);
  ASSERT_EQ(mincore(map.data(), 4 * 4096, resident.data()), 0);
  for (unsigned char r : resident) EXPECT_TRUE(r & 1);
  map.data()[0] = 'z';  // shared: the store reaches the file
  char back = 0;
  ASSERT_EQ(pread(file->check.get(), &back, 1, 0), 1);
  EXPECT_EQ(back, 'z');
  EXPECT_FALSE(MapSharedAndTouch(-1, 4096).valid());
}

TEST(PwriteAll, WritesEveryByteAtItsOffsetAndSaysWhyNot) {
  std::string error;
  auto file = MakeGenerationFile(".", 8192, 4096, &error);
  ASSERT_TRUE(file) << error;
  const std::string text(5000, 'x');
  EXPECT_FALSE(PwriteAll(file->fd.get(), text.data(), text.size(), 1000));
  std::string back(5000, '\0');
  ASSERT_EQ(pread(file->check.get(), back.data(), back.size(), 1000), 5000);
  EXPECT_EQ(back, text);
  auto bad = PwriteAll(-1, text.data(), 8, 0);
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->find("pwrite(off=0)"), std::string::npos) << *bad;
}

}  // namespace
}  // namespace mapbench
