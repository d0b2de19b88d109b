#include "harness/kernel/direct_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "harness/measure/checksum.h"
#include "harness/run/scratch.h"

namespace mapbench {
namespace {

TEST(DirectIo, ParsesOnlyPlausibleBlockSizes) {
  EXPECT_EQ(ParseBlockSize("512\n"), 512u);
  EXPECT_EQ(ParseBlockSize("4096"), 4096u);
  EXPECT_FALSE(ParseBlockSize(""));
  EXPECT_FALSE(ParseBlockSize("0"));
  EXPECT_FALSE(ParseBlockSize("256"));   // below a sector
  EXPECT_FALSE(ParseBlockSize("1000"));  // not a power of two
  EXPECT_FALSE(ParseBlockSize("4k"));
}

// The sysfs fallback, on a fixture tree shaped like sysfs: a whole disk and a partition
// (whose queue/ is its parent disk's), reached through /sys/dev/block/MAJ:MIN symlinks.
TEST(DirectIo, BlockDeviceAlignmentFromSysfs) {
  char pattern[] = "/tmp/direct_io_sysfs.XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::filesystem::path root(pattern);
  std::filesystem::create_directories(root / "sys/block/sda/queue");
  std::filesystem::create_directories(root / "sys/block/sda/sda1");
  std::filesystem::create_directories(root / "sys/dev/block");
  std::ofstream(root / "sys/block/sda/queue/logical_block_size") << "4096\n";
  std::filesystem::create_directory_symlink("../../block/sda", root / "sys/dev/block/8:0");
  std::filesystem::create_directory_symlink("../../block/sda/sda1", root / "sys/dev/block/8:1");
  SystemFiles system(root.string());
  auto disk = BlockDeviceAlignment(8, 0, system);
  ASSERT_TRUE(disk);
  EXPECT_EQ(disk->offset, 4096u);
  EXPECT_EQ(disk->memory, 4096u);
  EXPECT_EQ(disk->source, "/sys/dev/block/8:0/queue/logical_block_size");
  auto partition = BlockDeviceAlignment(8, 1, system);
  ASSERT_TRUE(partition);
  EXPECT_EQ(partition->offset, 4096u);
  EXPECT_EQ(partition->source, "/sys/dev/block/8:1/../queue/logical_block_size");
  EXPECT_FALSE(BlockDeviceAlignment(8, 2, system));
  std::filesystem::remove_all(root);
}

TEST(DirectIo, AlignedBufferIsAligned) {
  for (size_t alignment : {512, 4096, 65536}) {
    AlignedBuffer buffer(3 * alignment, alignment);
    ASSERT_TRUE(buffer.valid());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.data()) % alignment, 0u);
    EXPECT_EQ(buffer.size(), 3 * alignment);
    AlignedBuffer moved = std::move(buffer);
    EXPECT_FALSE(buffer.valid());
    EXPECT_TRUE(moved.valid());
  }
  EXPECT_FALSE(AlignedBuffer(0, 4096).valid());
  EXPECT_FALSE(AlignedBuffer(4096, 3).valid());  // not a power of two
}

// A real scratch file (the test runs in the build tree, on a disk filesystem): opened with
// O_DIRECT, its probed alignment works for reads, and every byte read matches its checksum.
TEST(DirectIo, ReadsAScratchFileDirectly) {
  std::string error;
  auto scratch = ScratchDir::Create(".", &error);
  ASSERT_TRUE(scratch) << error;
  const ScratchFile* file = scratch->File(1 << 20, &error);
  ASSERT_NE(file, nullptr) << error;
  SystemFiles system;
  std::string why;
  auto direct = OpenDirectFile(file->path, system, 4096, &why);
  if (!direct) GTEST_SKIP() << "no direct reads on the build tree's filesystem: " << why;
  const DirectAlignment& a = direct->alignment;
  EXPECT_FALSE(a.source.empty());
  EXPECT_GT(a.memory, 0u);
  EXPECT_EQ(a.offset & (a.offset - 1), 0u) << a.offset;
  EXPECT_LE(a.offset, 4096u);
  AlignedBuffer buffer(64 << 10, std::max<uint64_t>(a.memory, 4096));
  ASSERT_TRUE(buffer.valid());
  uint64_t sum = 0;
  for (uint64_t offset = 0; offset < file->size; offset += buffer.size()) {
    ASSERT_EQ(pread(direct->fd.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(buffer.size()));
    sum += SumWords(buffer.data(), buffer.size());
  }
  EXPECT_EQ(sum, file->checksum);
  EXPECT_TRUE(fcntl(direct->fd.get(), F_GETFL) & O_DIRECT);
  // A block the device's alignment does not divide is refused before any read.
  EXPECT_FALSE(OpenDirectFile(file->path, system, a.offset + a.offset / 2, &why));
  EXPECT_NE(why.find("not a multiple of the O_DIRECT alignment"), std::string::npos) << why;
}

// tmpfs: refused at open (EINVAL, kernels before 6.6) or accepted with nothing read from a
// device (6.6+): either way no direct read to measure, and the reason says which.
TEST(DirectIo, TmpfsIsASkipWithTheReason) {
  if (access("/dev/shm", W_OK) != 0) GTEST_SKIP() << "no writable /dev/shm";
  char path[] = "/dev/shm/direct_io_test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 1 << 16), 0);
  close(fd);
  std::string why;
  EXPECT_FALSE(OpenDirectFile(path, SystemFiles(), 4096, &why));
  unlink(path);
  const bool refused = why.find("the filesystem refuses O_DIRECT") != std::string::npos;
  const bool in_memory = why.find("O_DIRECT accepted, but tmpfs keeps files in memory") != std::string::npos;
  EXPECT_TRUE(refused || in_memory) << why;
}

TEST(DirectIo, MissingFileSaysWhy) {
  std::string why;
  EXPECT_FALSE(OpenDirectFile("/nonexistent/direct_io", SystemFiles(), 0, &why));
  EXPECT_NE(why.find("open(/nonexistent/direct_io, O_DIRECT): No such file"), std::string::npos) << why;
}

}  // namespace
}  // namespace mapbench
