// Fuzzes the TLB shootdown parsers: /proc/interrupts rows and the nr_tlb_* lines of
// /proc/vmstat. The input is "<interrupts text>\0<vmstat text>". Invariants: the total is
// the sum of the per-CPU counts (never a wrapped one), the vmstat fields are what
// ParseKeyValues reads, a reading minus itself is zero, and a row written the way the
// kernel writes it, with counts taken from the input, parses back to those counts.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/tlb_counts.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

void CheckVmstatField(const std::map<std::string, uint64_t>& vmstat, const char* name,
                      const std::optional<uint64_t>& parsed) {
  auto found = vmstat.find(name);
  FUZZ_CHECK(parsed.has_value() == (found != vmstat.end()));
  if (parsed) FUZZ_CHECK(*parsed == found->second);
}

// "           CPU0       CPU1\n" + " 24: ... IO-APIC\n" + "TLB: n0 n1   TLB shootdowns\n".
std::string InterruptsText(const std::vector<uint64_t>& counts) {
  std::string text = "    ";
  for (size_t cpu = 0; cpu < counts.size(); ++cpu) text += "       CPU" + std::to_string(cpu);
  text += "\n 24:";
  for (size_t cpu = 0; cpu < counts.size(); ++cpu) text += "          1";
  text += "  IO-APIC   5-edge      ACPI:Ged\nTLB:";
  for (uint64_t count : counts) text += "  " + std::to_string(count);
  text += "   TLB shootdowns\n";
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view interrupts = input.substr(0, nul);
  const std::string_view vmstat = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  const mapbench::TlbCounts counts = mapbench::ParseTlbCounts(interrupts, vmstat);
  const auto row = mapbench::ParseInterruptRow(interrupts, "TLB");
  if (counts.shootdowns) {
    FUZZ_CHECK(row && *row == counts.shootdowns_per_cpu);
    unsigned __int128 sum = 0;
    for (uint64_t count : counts.shootdowns_per_cpu) sum += count;
    FUZZ_CHECK(sum == *counts.shootdowns);
  } else {
    FUZZ_CHECK(counts.shootdowns_per_cpu.empty());
  }
  const auto fields = mapbench::ParseKeyValues(vmstat);
  CheckVmstatField(fields, "nr_tlb_remote_flush", counts.remote_flushes);
  CheckVmstatField(fields, "nr_tlb_remote_flush_received", counts.remote_flushes_received);
  CheckVmstatField(fields, "nr_tlb_local_flush_all", counts.local_flushes_all);
  CheckVmstatField(fields, "nr_tlb_local_flush_one", counts.local_flushes_one);

  mapbench::InterruptCountNamed(interrupts, "-reporting_vq");  // any text: no crash, no UB

  const mapbench::TlbCounts zero = mapbench::TlbDelta(counts, counts);
  FUZZ_CHECK(zero.shootdowns == (counts.shootdowns ? std::optional<uint64_t>(0) : std::nullopt));
  FUZZ_CHECK(zero.shootdowns_per_cpu ==
             std::vector<uint64_t>(counts.shootdowns ? counts.shootdowns_per_cpu.size() : 0, 0));
  FUZZ_CHECK(zero.remote_flushes.value_or(0) == 0);
  FUZZ_CHECK(zero.remote_flushes.has_value() == counts.remote_flushes.has_value());
  // Countable exactly when a TLB row or nr_tlb_remote_flush is there; else said, not 0.
  FUZZ_CHECK(counts.countable == (row.has_value() || counts.remote_flushes.has_value()));
  FUZZ_CHECK(zero.countable == counts.countable);
  FUZZ_CHECK((mapbench::DescribeTlbDelta(zero) == mapbench::kTlbCountNotAvailable) ==
             !counts.countable);
  FUZZ_CHECK(mapbench::CheckShootdowns(zero, 1).ok);
  FUZZ_CHECK(mapbench::CheckShootdowns(zero, 2).ok == !counts.countable);

  // Round trip: the input's bytes as 32-bit counts, the width the kernel prints.
  std::vector<uint64_t> written;
  for (size_t i = 0; i + 4 <= size && written.size() < 256; i += 4) {
    uint32_t count;
    std::memcpy(&count, data + i, 4);
    written.push_back(count);
  }
  if (!written.empty()) {
    const std::string text = InterruptsText(written);
    const auto read = mapbench::ParseInterruptRow(text, "TLB");
    FUZZ_CHECK(read && *read == written);
    const auto first = mapbench::ParseInterruptRow(text, "24");
    FUZZ_CHECK(first && *first == std::vector<uint64_t>(written.size(), 1));
    FUZZ_CHECK(mapbench::InterruptCountNamed(text, "ACPI:Ged") == written.size());
    FUZZ_CHECK(!mapbench::InterruptCountNamed(text, "-reporting_vq"));
    const mapbench::TlbCounts parsed = mapbench::ParseTlbCounts(text, "");
    unsigned __int128 sum = 0;
    for (uint64_t count : written) sum += count;
    FUZZ_CHECK(parsed.shootdowns && *parsed.shootdowns == sum);
  }
  return 0;
}
