#include "harness/kernel/tlb_counts.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace mapbench {
namespace {

const char kInterrupts[] = R"(           CPU0       CPU1
  0:         22          0   IO-APIC   2-edge      timer
  9:          0          0   IO-APIC   9-fasteoi   acpi
NMI:          0          0   Non-maskable interrupts
LOC:     123456     654321   Local timer interrupts
TLB:       1761       1970   TLB shootdowns
ERR:          0
)";

const char kInterruptsLater[] = R"(           CPU0       CPU1
  0:         22          0   IO-APIC   2-edge      timer
TLB:       1800       2170   TLB shootdowns
)";

TEST(InterruptRow, ReadsOneCountPerCpuColumn) {
  auto tlb = ParseInterruptRow(kInterrupts, "TLB");
  ASSERT_TRUE(tlb);
  EXPECT_EQ(*tlb, (std::vector<uint64_t>{1761, 1970}));
  auto timer = ParseInterruptRow(kInterrupts, "0");
  ASSERT_TRUE(timer);
  EXPECT_EQ(*timer, (std::vector<uint64_t>{22, 0}));
}

TEST(InterruptRow, MissingRowShortRowOrHeaderIsNothing) {
  EXPECT_FALSE(ParseInterruptRow(kInterrupts, "XYZ"));
  EXPECT_FALSE(ParseInterruptRow(kInterrupts, "ERR"));                  // one count for two CPUs
  EXPECT_FALSE(ParseInterruptRow("TLB: 1 2 TLB shootdowns\n", "TLB"));  // no header
  EXPECT_FALSE(ParseInterruptRow("", "TLB"));
  EXPECT_FALSE(ParseInterruptRow("   CPU0 CPU1\nTLB: 5 x TLB shootdowns\n", "TLB"));
}

TEST(InterruptRow, CountsByDeviceNameSumCpusAndRows) {
  const char kVirtio[] = R"(           CPU0       CPU1
 31:          0       2484 PCI-MSIX-0000:00:01.0   3-edge      virtio0-stats
 32:       1449          7 PCI-MSIX-0000:00:01.0   4-edge      virtio0-reporting_vq
 44:          1          2 PCI-MSIX-0000:00:09.0   4-edge      virtio5-reporting_vq
TLB:        275        199   TLB shootdowns
)";
  EXPECT_EQ(InterruptCountNamed(kVirtio, "-reporting_vq"), 1449u + 7u + 1u + 2u);
  EXPECT_EQ(InterruptCountNamed(kVirtio, "virtio0-stats"), 2484u);
  EXPECT_FALSE(InterruptCountNamed(kVirtio, "-inflate"));
  EXPECT_FALSE(InterruptCountNamed(kInterrupts, "-reporting_vq"));
  EXPECT_FALSE(InterruptCountNamed("", "-reporting_vq"));
  EXPECT_FALSE(InterruptCountNamed("   CPU0 CPU1\n 32: 5 x PCI 4-edge virtio0-reporting_vq\n",
                                   "-reporting_vq"));
}

TEST(TlbCounts, SumsCpusAndReadsVmstatWhenPresent) {
  TlbCounts counts = ParseTlbCounts(kInterrupts,
                                    "nr_tlb_remote_flush 40\nnr_tlb_remote_flush_received 80\n"
                                    "nr_tlb_local_flush_all 3\nnr_tlb_local_flush_one 9\n");
  ASSERT_TRUE(counts.shootdowns);
  EXPECT_EQ(*counts.shootdowns, 1761u + 1970u);
  EXPECT_EQ(counts.remote_flushes, 40u);
  EXPECT_EQ(counts.remote_flushes_received, 80u);
  EXPECT_EQ(counts.local_flushes_all, 3u);
  EXPECT_EQ(counts.local_flushes_one, 9u);
}

TEST(TlbCounts, ASumThatDoesNotFitIsNoSum) {
  TlbCounts counts = ParseTlbCounts(
      "  CPU0 CPU1\nTLB: 18446744073709551615 1 TLB shootdowns\n", "");
  EXPECT_FALSE(counts.shootdowns);  // not a wrapped 0
  EXPECT_TRUE(counts.shootdowns_per_cpu.empty());
}

TEST(TlbCounts, KernelWithoutDebugTlbflushHasNoVmstatFields) {
  TlbCounts counts = ParseTlbCounts(kInterrupts, "nr_free_pages 100\npgfault 7\n");
  EXPECT_TRUE(counts.shootdowns);
  EXPECT_FALSE(counts.remote_flushes);
  EXPECT_FALSE(counts.remote_flushes_received);
}

TEST(TlbCounts, DeltaPerCpuAndTotal) {
  TlbCounts before = ParseTlbCounts(kInterrupts, "nr_tlb_remote_flush 40\n");
  TlbCounts after = ParseTlbCounts(kInterruptsLater, "nr_tlb_remote_flush 45\n");
  TlbCounts delta = TlbDelta(before, after);
  ASSERT_TRUE(delta.shootdowns);
  EXPECT_EQ(*delta.shootdowns, 39u + 200u);
  EXPECT_EQ(delta.shootdowns_per_cpu, (std::vector<uint64_t>{39, 200}));
  EXPECT_EQ(delta.remote_flushes, 5u);
  EXPECT_FALSE(delta.remote_flushes_received);  // absent on both sides
  std::string text = DescribeTlbDelta(delta);
  EXPECT_NE(text.find("239 [cpu0:39 cpu1:200]"), std::string::npos) << text;
  EXPECT_NE(text.find("nr_tlb_remote_flush: 5"), std::string::npos) << text;
}

TEST(TlbCounts, DeltaOfMissingOrBackwardsCountsIsEmpty) {
  TlbCounts later = ParseTlbCounts(kInterruptsLater, "");
  TlbCounts none = ParseTlbCounts("", "");
  EXPECT_FALSE(TlbDelta(none, later).shootdowns);
  EXPECT_FALSE(TlbDelta(later, none).shootdowns);
  EXPECT_FALSE(TlbDelta(later, ParseTlbCounts(kInterrupts, "")).shootdowns);  // went backwards
  // No reading on one side: nothing countable across the two, and the text says so.
  EXPECT_NE(DescribeTlbDelta(TlbDelta(none, later)).find("not available here"), std::string::npos);
  // Both countable, one went backwards: counted, but this delta is lost.
  EXPECT_NE(DescribeTlbDelta(TlbDelta(later, ParseTlbCounts(kInterrupts, ""))).find("unavailable"),
            std::string::npos);
}

TEST(TlbCounts, DeltaAcrossCpuHotplugKeepsTotalOnly) {
  TlbCounts before = ParseTlbCounts(kInterrupts, "");
  TlbCounts after = ParseTlbCounts("   CPU0 CPU1 CPU2\nTLB: 1800 2000 5 TLB shootdowns\n", "");
  TlbCounts delta = TlbDelta(before, after);
  ASSERT_TRUE(delta.shootdowns);
  EXPECT_EQ(*delta.shootdowns, 1800u + 2000u + 5u - 1761u - 1970u);
  EXPECT_TRUE(delta.shootdowns_per_cpu.empty());
}

TEST(CheckShootdowns, ZeroWithSeveralCpusIsNotTheClaimedConfiguration) {
  TlbCounts zero = TlbDelta(ParseTlbCounts(kInterrupts, ""), ParseTlbCounts(kInterrupts, ""));
  ASSERT_TRUE(zero.shootdowns);
  EXPECT_TRUE(CheckShootdowns(zero, 1).ok);  // one CPU: nothing to shoot down
  ShootdownCheck none = CheckShootdowns(zero, 2);
  EXPECT_FALSE(none.ok);
  EXPECT_NE(none.note.find("no TLB shootdown seen although 2 CPUs"), std::string::npos);
  TlbCounts some = TlbDelta(ParseTlbCounts(kInterrupts, ""), ParseTlbCounts(kInterruptsLater, ""));
  EXPECT_TRUE(CheckShootdowns(some, 2).ok);
  TlbCounts vmstat_only = TlbDelta(ParseTlbCounts("", "nr_tlb_remote_flush 1\n"),
                                   ParseTlbCounts("", "nr_tlb_remote_flush 9\n"));
  EXPECT_TRUE(CheckShootdowns(vmstat_only, 2).ok);
  // A count that went backwards on one side is lost: the row cannot claim shootdowns.
  TlbCounts lost = TlbDelta(ParseTlbCounts(kInterruptsLater, ""), ParseTlbCounts(kInterrupts, ""));
  ASSERT_TRUE(lost.countable);
  ShootdownCheck lost_check = CheckShootdowns(lost, 2);
  EXPECT_FALSE(lost_check.ok);
  EXPECT_NE(lost_check.note.find("lost"), std::string::npos) << lost_check.note;
}

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(MAPBENCH_TEST_FIXTURES) + "/kernel-text/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// arm64 has IPI rows but no TLB row: it flushes other CPUs' TLBs by broadcast TLBI.
TEST(TlbCounts, Arm64HasNoCountAndSaysSoInsteadOfZero) {
  const std::string arm64 = ReadFixture("interrupts-arm64");
  ASSERT_NE(arm64.find("IPI1:"), std::string::npos);
  const TlbCounts reading = ParseTlbCounts(arm64, "nr_free_pages 100\n");
  EXPECT_FALSE(reading.countable);
  EXPECT_FALSE(reading.shootdowns);
  EXPECT_TRUE(reading.shootdowns_per_cpu.empty());
  EXPECT_FALSE(reading.remote_flushes);
  const TlbCounts delta = TlbDelta(reading, reading);
  EXPECT_FALSE(delta.countable);
  EXPECT_FALSE(delta.shootdowns);  // an empty cell, not 0
  EXPECT_EQ(DescribeTlbDelta(delta), kTlbCountNotAvailable);
  EXPECT_NE(DescribeTlbDelta(delta).find("TLB shootdown count not available here"),
            std::string::npos);
  // Not a failed row: there is nothing to count, and the note says so.
  const ShootdownCheck check = CheckShootdowns(delta, 2);
  EXPECT_TRUE(check.ok);
  EXPECT_EQ(check.note, kTlbCountNotAvailable);
  EXPECT_TRUE(CheckShootdowns(TlbDelta(ParseTlbCounts("", ""), ParseTlbCounts("", "")), 2).ok);
  // The x86 fixture has its row.
  EXPECT_TRUE(ParseTlbCounts(ReadFixture("interrupts"), "").countable);
}

TEST(TlbCounts, ReadsThisKernel) {
  TlbCounts counts = ReadTlbCounts(SystemFiles());
  // A kernel built without SMP has no TLB row; on SMP it is there and counts up.
  if (!counts.shootdowns) GTEST_SKIP() << "no TLB row in /proc/interrupts here";
  EXPECT_FALSE(counts.shootdowns_per_cpu.empty());
}

}  // namespace
}  // namespace mapbench
