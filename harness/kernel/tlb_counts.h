// TLB shootdown counts from kernel text: the "TLB" row of /proc/interrupts (flush IPIs
// received, per CPU; x86 only) and the nr_tlb_* lines of /proc/vmstat (x86 with
// CONFIG_DEBUG_TLBFLUSH). Both are system-wide: other processes add to them. Other
// architectures have neither (arm64 flushes other CPUs' TLBs with broadcast TLBI
// instructions: there is no interrupt to count), and rows say so in kTlbCountNotAvailable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/system_files.h"

namespace mapbench {

// The per-CPU counts of the row labelled `label` ("TLB", "LOC", "0", ...) of
// /proc/interrupts text, one per CPU column of the header. nullopt when the row or
// the header is missing or a count is not a number.
std::optional<std::vector<uint64_t>> ParseInterruptRow(std::string_view text,
                                                       std::string_view label);

// The counts, summed over CPUs, of the /proc/interrupts rows whose device name (last word)
// ends with `name_suffix`: "-reporting_vq" counts a virtio balloon's free page reports.
// nullopt when no row matches or a matching row is malformed.
std::optional<uint64_t> InterruptCountNamed(std::string_view text, std::string_view name_suffix);

// What a row or the environment says where no shootdown count exists (not a silent 0).
inline constexpr char kTlbCountNotAvailable[] =
    "TLB shootdown count not available here (no TLB row in /proc/interrupts, no nr_tlb_* in "
    "/proc/vmstat: e.g. arm64, which flushes other CPUs' TLBs by broadcast TLBI, no IPI)";

struct TlbCounts {
  // The kernel offers a count at all: a TLB row or nr_tlb_remote_flush. A delta has it
  // when both readings had it; a countable delta without counts lost one (went backwards).
  bool countable = false;
  std::vector<uint64_t> shootdowns_per_cpu;         // /proc/interrupts "TLB", empty if absent
  std::optional<uint64_t> shootdowns;               // their sum (both empty if it overflows)
  std::optional<uint64_t> remote_flushes;           // vmstat nr_tlb_remote_flush (sent)
  std::optional<uint64_t> remote_flushes_received;  // nr_tlb_remote_flush_received
  std::optional<uint64_t> local_flushes_all;        // nr_tlb_local_flush_all
  std::optional<uint64_t> local_flushes_one;        // nr_tlb_local_flush_one
};

TlbCounts ParseTlbCounts(std::string_view interrupts_text, std::string_view vmstat_text);
TlbCounts ReadTlbCounts(const SystemFiles& system);

// after - before, field by field; a field missing on either side stays empty, and so
// does one that went backwards (a counter reset or CPU hot-unplug). Per-CPU deltas only
// when both sides list the same CPUs.
TlbCounts TlbDelta(const TlbCounts& before, const TlbCounts& after);

// "TLB shootdowns (/proc/interrupts): 120 [cpu0:3 cpu1:117]; vmstat nr_tlb_remote_flush:
// absent", or kTlbCountNotAvailable.
std::string DescribeTlbDelta(const TlbCounts& delta);

// Whether a run where `cpus_touching` CPUs used a region before it was unmapped showed
// the shootdowns it should: with one CPU nothing is expected; with more, a delta of zero
// (or a lost count) means the row cannot claim it measured shootdowns. Where the kernel
// has no count at all the row is not failed for it; the note says it was not counted.
struct ShootdownCheck {
  bool ok = true;
  std::string note;  // why not, or that nothing could be counted; empty otherwise
};
ShootdownCheck CheckShootdowns(const TlbCounts& delta, int cpus_touching);

}  // namespace mapbench
