#include "harness/measure/log_record.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace mapbench {
namespace {

std::vector<char> Background(size_t bytes) {
  std::vector<char> data(bytes);
  for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(i * 131 + 7);
  return data;
}

TEST(LogRecord, EncodedRecordChecksAndNamesWhatIsWrong) {
  std::vector<char> rec(256);
  EncodeLogRecord(rec.data(), rec.size(), 42);
  EXPECT_EQ(CheckLogRecord(rec.data(), rec.size(), 42), "");
  EXPECT_EQ(CheckLogRecord(rec.data(), rec.size(), 43), "sequence 42 (expected 43)");
  EXPECT_EQ(CheckLogRecord(rec.data(), 128, 42), "length 256 (expected 128)");
  std::vector<char> other(256);
  EncodeLogRecord(other.data(), other.size(), 41);
  EXPECT_NE(std::memcmp(rec.data() + 32, other.data() + 32, 224), 0);  // payloads differ
  rec[200] ^= 1;
  EXPECT_EQ(CheckLogRecord(rec.data(), rec.size(), 42), "checksum mismatch");
  std::vector<char> zero(256, 0);
  EXPECT_EQ(CheckLogRecord(zero.data(), zero.size(), 1), "no record header");
}

TEST(LogRecord, ChecksumSeesOrderOfWords) {
  uint64_t a[2] = {1, 2}, b[2] = {2, 1};
  EXPECT_NE(LogChecksum(a, 16), LogChecksum(b, 16));
}

TEST(ScanLog, FindsTheIntactPrefixATornRecordAndStrayWrites) {
  const size_t rec = 128, slots = 16;
  const std::vector<char> before = Background(rec * slots);
  std::vector<char> log = before;
  for (uint64_t s = 0; s < 5; ++s) EncodeLogRecord(log.data() + s * rec, rec, 10 + s);
  LogScan clean = ScanLog(log.data(), before.data(), log.size(), rec, 10);
  EXPECT_EQ(clean.intact, 5u);
  EXPECT_EQ(clean.end_offset, 5 * rec);
  EXPECT_EQ(clean.torn, 0u);
  EXPECT_EQ(clean.stray, 0u);
  EXPECT_EQ(clean.stop, "record 15 at byte 640: no record header");

  // Record 15 written half (a copy killed midway): torn, not intact.
  std::vector<char> whole(rec);
  EncodeLogRecord(whole.data(), rec, 15);
  std::memcpy(log.data() + 5 * rec, whole.data(), rec / 2);
  LogScan torn = ScanLog(log.data(), before.data(), log.size(), rec, 10);
  EXPECT_EQ(torn.intact, 5u);
  EXPECT_EQ(torn.torn, 1u);
  EXPECT_EQ(torn.stray, 0u);
  EXPECT_EQ(torn.stop, "record 15 at byte 640: checksum mismatch");

  // A record of the wrong number after a gap: the chain stops at the gap, the rest is stray.
  std::memcpy(log.data() + 5 * rec, before.data() + 5 * rec, rec);
  EncodeLogRecord(log.data() + 7 * rec, rec, 17);
  LogScan gap = ScanLog(log.data(), before.data(), log.size(), rec, 10);
  EXPECT_EQ(gap.intact, 5u);
  EXPECT_EQ(gap.torn, 0u);
  EXPECT_EQ(gap.stray, 1u);

  // A lost middle record (old content where record 12 was) ends the chain there.
  std::memcpy(log.data() + 2 * rec, before.data() + 2 * rec, rec);
  EXPECT_EQ(ScanLog(log.data(), before.data(), log.size(), rec, 10).intact, 2u);
}

TEST(ScanLog, AFullLogEndsWithoutAReason) {
  const size_t rec = 64;
  const std::vector<char> before = Background(rec * 4 + 10);  // a partial slot at the end
  std::vector<char> log = before;
  for (uint64_t s = 0; s < 4; ++s) EncodeLogRecord(log.data() + s * rec, rec, 1 + s);
  LogScan scan = ScanLog(log.data(), before.data(), log.size(), rec, 1);
  EXPECT_EQ(scan.intact, 4u);
  EXPECT_EQ(scan.stop, "");
  EXPECT_EQ(scan.torn, 0u);
}

}  // namespace
}  // namespace mapbench
