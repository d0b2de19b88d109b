#include "harness/measure/stream_checksum.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <thread>
#include <vector>

#include "harness/kernel/resources.h"
#include "harness/run/scratch.h"

namespace mapbench {
namespace {

std::vector<uint64_t> Words(size_t count) {
  std::vector<uint64_t> words(count);
  for (size_t i = 0; i < count; ++i) words[i] = ScratchWord(i);
  return words;
}

TEST(StreamChecksum, AnyChunkingGivesTheWholeSum) {
  std::vector<uint64_t> words = Words(4096);
  const uint64_t expected = SumWords(words.data(), words.size() * 8);
  const char* bytes = reinterpret_cast<const char*>(words.data());
  std::mt19937 random(7);
  for (int trial = 0; trial < 50; ++trial) {
    StreamChecksum sum;
    size_t at = 0;
    while (at < words.size() * 8) {
      size_t chunk = std::min<size_t>(random() % 300 + 1, words.size() * 8 - at);
      sum.Add(bytes + at, chunk);  // odd lengths and odd addresses
      at += chunk;
    }
    EXPECT_EQ(sum.sum(), expected);
    EXPECT_EQ(sum.bytes(), words.size() * 8);
  }
}

TEST(StreamChecksum, TrailingPartialWordIsZeroPadded) {
  const unsigned char bytes[] = {1, 2, 3};
  StreamChecksum sum;
  sum.Add(bytes, 3);
  EXPECT_EQ(sum.sum(), 0x030201u);
  EXPECT_EQ(sum.bytes(), 3u);
  StreamChecksum empty;
  EXPECT_EQ(empty.sum(), 0u);
}

TEST(ReceiveAndSum, OverASocketInOddChunks) {
  int ends[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  UniqueFd reader(ends[0]), writer(ends[1]);
  std::vector<uint64_t> words = Words(100000);
  const size_t total = words.size() * 8;
  std::thread sender([&] {
    const char* bytes = reinterpret_cast<const char*>(words.data());
    for (size_t at = 0; at < total;) {
      size_t chunk = std::min<size_t>(4093, total - at);
      ssize_t sent = send(writer.get(), bytes + at, chunk, MSG_NOSIGNAL);
      if (sent <= 0) return;
      at += static_cast<size_t>(sent);
    }
  });
  std::vector<char> buffer(65536 + 5);
  uint64_t sum = 0, received = 0;
  std::string error =
      ReceiveAndSum(reader.get(), total, buffer.data() + 5, 65536, 10000, &sum, &received);
  sender.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(received, total);
  EXPECT_EQ(sum, SumWords(words.data(), total));
}

TEST(ReceiveAndSum, EarlyCloseAndCleanCloseAreTold) {
  int ends[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  UniqueFd reader(ends[0]), writer(ends[1]);
  ASSERT_EQ(write(writer.get(), "12345678", 8), 8);
  writer.reset();
  char buffer[64];
  uint64_t sum = 0, received = 0;
  bool closed = true;
  std::string error =
      ReceiveAndSum(reader.get(), 16, buffer, sizeof(buffer), 1000, &sum, &received, &closed);
  EXPECT_NE(error.find("peer closed after 8 of 16"), std::string::npos) << error;
  EXPECT_EQ(received, 8u);
  EXPECT_FALSE(closed);  // it was mid-message
  error = ReceiveAndSum(reader.get(), 16, buffer, sizeof(buffer), 1000, &sum, &received, &closed);
  EXPECT_FALSE(error.empty());
  EXPECT_TRUE(closed);  // nothing at all: a clean end
}

TEST(ReceiveAndSum, SilentPeerTimesOut) {
  int ends[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, ends), 0);
  UniqueFd reader(ends[0]), writer(ends[1]);
  char buffer[64];
  uint64_t sum = 0;
  std::string error = ReceiveAndSum(reader.get(), 8, buffer, sizeof(buffer), 20, &sum);
  EXPECT_NE(error.find("no data within 20 ms"), std::string::npos) << error;
}

}  // namespace
}  // namespace mapbench
