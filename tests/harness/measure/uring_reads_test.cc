#include "harness/measure/uring_reads.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "harness/kernel/direct_io.h"
#include "harness/kernel/resources.h"
#include "harness/measure/checksum.h"
#include "harness/run/scratch.h"

namespace mapbench {
namespace {

constexpr uint64_t kBlock = 4096;
constexpr uint64_t kSize = 1 << 20;

class UringReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    scratch_ = ScratchDir::Create(".", &error);
    ASSERT_TRUE(scratch_) << error;
    file_ = scratch_->File(kSize, &error);
    ASSERT_NE(file_, nullptr) << error;
    // Where io_uring is disabled (kernel.io_uring_disabled, seccomp) the family skips its
    // rows; so do these tests.
    if (!UringReads::Create(1, SystemFiles(), &error)) GTEST_SKIP() << error;
  }

  std::unique_ptr<UringReads> Ring(unsigned depth) {
    std::string error;
    auto ring = UringReads::Create(depth, SystemFiles(), &error);
    if (!ring) ADD_FAILURE() << error;
    return ring;
  }

  // Reads every block once, in a shuffled order; the sum over the completions.
  std::optional<std::string> ReadAll(UringReads& ring, int fd, char* buffers, uint64_t* sum, uint64_t* count) {
    std::vector<uint64_t> order(kSize / kBlock);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(3));
    size_t next = 0;
    return ring.Read(
        fd, kBlock, buffers,
        [&](uint64_t* offset) {
          if (next == order.size()) return false;
          *offset = order[next++] * kBlock;
          return true;
        },
        [&](uint64_t offset, const char* data) {
          EXPECT_EQ(offset % kBlock, 0u);
          *sum += SumWords(data, kBlock);
          ++*count;
        });
  }

  std::unique_ptr<ScratchDir> scratch_;
  const ScratchFile* file_ = nullptr;
};

TEST_F(UringReadsTest, BufferedReadsAtDepthOneAndThirtyTwoMatchTheChecksum) {
  UniqueFd fd(open(file_->path.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  for (unsigned depth : {1u, 32u}) {
    auto ring = Ring(depth);
    if (!ring) return;
    EXPECT_EQ(ring->depth(), depth);
    std::vector<char> buffers(depth * kBlock);
    uint64_t sum = 0, count = 0;
    auto failure = ReadAll(*ring, fd.get(), buffers.data(), &sum, &count);
    EXPECT_FALSE(failure) << *failure;
    EXPECT_EQ(count, kSize / kBlock);
    EXPECT_EQ(sum, file_->checksum) << "depth " << depth;
  }
}

TEST_F(UringReadsTest, DirectReadsMatchTheChecksum) {
  std::string why;
  auto direct = OpenDirectFile(file_->path, SystemFiles(), kBlock, &why);
  if (!direct) GTEST_SKIP() << why;
  auto ring = Ring(32);
  if (!ring) return;
  AlignedBuffer buffers(32 * kBlock, std::max<uint64_t>(direct->alignment.memory, 4096));
  ASSERT_TRUE(buffers.valid());
  uint64_t sum = 0, count = 0;
  auto failure = ReadAll(*ring, direct->fd.get(), buffers.data(), &sum, &count);
  EXPECT_FALSE(failure) << *failure;
  EXPECT_EQ(count, kSize / kBlock);
  EXPECT_EQ(sum, file_->checksum);
}

// A read past the end completes short: the loop stops and says where.
TEST_F(UringReadsTest, ShortReadIsAnError) {
  UniqueFd fd(open(file_->path.c_str(), O_RDONLY | O_CLOEXEC));
  auto ring = Ring(4);
  if (!ring) return;
  std::vector<char> buffers(4 * kBlock);
  const std::vector<uint64_t> offsets = {0, kSize - kBlock / 2, kBlock};
  size_t next = 0, done = 0;
  auto failure = ring->Read(
      fd.get(), kBlock, buffers.data(),
      [&](uint64_t* offset) { return next < offsets.size() ? (*offset = offsets[next++], true) : false; },
      [&](uint64_t, const char*) { ++done; });
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->find("off=" + std::to_string(kSize - kBlock / 2)), std::string::npos) << *failure;
  EXPECT_NE(failure->find("short read of 2048 bytes"), std::string::npos) << *failure;
  EXPECT_LE(done, 2u);
  // The ring is reusable after a failure: nothing is left in flight.
  next = 0;
  const std::vector<uint64_t> good = {0};
  auto again = ring->Read(
      fd.get(), kBlock, buffers.data(), [&](uint64_t* offset) { return next < 1 ? (*offset = good[next++], true) : false; },
      [&](uint64_t, const char*) {});
  EXPECT_FALSE(again) << *again;
}

TEST_F(UringReadsTest, FailedCompletionIsAnError) {
  auto ring = Ring(2);
  if (!ring) return;
  std::vector<char> buffers(2 * kBlock);
  bool given = false;
  auto failure = ring->Read(
      1 << 20, kBlock, buffers.data(), [&](uint64_t* offset) { return given ? false : (*offset = 0, given = true); },
      [&](uint64_t, const char*) { ADD_FAILURE() << "no read can succeed on a bad fd"; });
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->find("Bad file descriptor"), std::string::npos) << *failure;
}

TEST(UringReads, CreateFailureSaysWhichCall) {
  std::string error;
  EXPECT_EQ(UringReads::Create(0, SystemFiles(), &error), nullptr);  // zero entries: EINVAL
  EXPECT_NE(error.find("io_uring_queue_init(entries=0)"), std::string::npos) << error;
}

}  // namespace
}  // namespace mapbench
