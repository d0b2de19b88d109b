#include "harness/kernel/tlb_counts.h"

#include <algorithm>
#include <sstream>

namespace mapbench {
namespace {

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::vector<std::string> Words(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::optional<uint64_t> Minus(const std::optional<uint64_t>& after,
                              const std::optional<uint64_t>& before) {
  if (!after || !before || *after < *before) return std::nullopt;
  return *after - *before;
}

}  // namespace

std::optional<std::vector<uint64_t>> ParseInterruptRow(std::string_view text,
                                                       std::string_view label) {
  std::vector<std::string_view> lines = Lines(text);
  if (lines.empty()) return std::nullopt;
  // The header names the online CPUs: "CPU0 CPU1 ..."; rows have one count per CPU.
  size_t cpus = 0;
  for (const std::string& word : Words(lines[0])) {
    if (word.rfind("CPU", 0) != 0) return std::nullopt;
    ++cpus;
  }
  if (cpus == 0) return std::nullopt;
  const std::string wanted = std::string(label) + ":";
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> words = Words(lines[i]);
    if (words.empty() || words[0] != wanted) continue;
    if (words.size() < cpus + 1) return std::nullopt;
    std::vector<uint64_t> counts;
    for (size_t cpu = 0; cpu < cpus; ++cpu) {
      std::optional<uint64_t> count = ParseUnsigned(words[cpu + 1]);
      if (!count) return std::nullopt;
      counts.push_back(*count);
    }
    return counts;
  }
  return std::nullopt;
}

std::optional<uint64_t> InterruptCountNamed(std::string_view text, std::string_view name_suffix) {
  std::vector<std::string_view> lines = Lines(text);
  if (lines.empty() || name_suffix.empty()) return std::nullopt;
  size_t cpus = 0;
  for (const std::string& word : Words(lines[0])) {
    if (word.rfind("CPU", 0) != 0) return std::nullopt;
    ++cpus;
  }
  if (cpus == 0) return std::nullopt;
  std::optional<uint64_t> total;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> words = Words(lines[i]);
    if (words.size() < cpus + 2 || words[0].back() != ':') continue;
    const std::string& name = words.back();
    if (name.size() < name_suffix.size() ||
        name.compare(name.size() - name_suffix.size(), name_suffix.size(), name_suffix) != 0) {
      continue;
    }
    uint64_t sum = total.value_or(0);
    for (size_t cpu = 0; cpu < cpus; ++cpu) {
      std::optional<uint64_t> count = ParseUnsigned(words[cpu + 1]);
      if (!count || __builtin_add_overflow(sum, *count, &sum)) return std::nullopt;
    }
    total = sum;
  }
  return total;
}

TlbCounts ParseTlbCounts(std::string_view interrupts_text, std::string_view vmstat_text) {
  TlbCounts counts;
  const auto row = ParseInterruptRow(interrupts_text, "TLB");
  counts.countable = row.has_value();
  if (row) {
    // A sum that does not fit (only in corrupt text: the kernel's counts are 32-bit)
    // leaves both empty rather than wrapping to a small number.
    uint64_t sum = 0;
    bool fits = true;
    for (uint64_t count : *row) fits = fits && !__builtin_add_overflow(sum, count, &sum);
    if (fits) {
      counts.shootdowns_per_cpu = *row;
      counts.shootdowns = sum;
    }
  }
  auto vmstat = ParseKeyValues(vmstat_text);
  auto field = [&](const char* name) -> std::optional<uint64_t> {
    auto found = vmstat.find(name);
    if (found == vmstat.end()) return std::nullopt;
    return found->second;
  };
  counts.remote_flushes = field("nr_tlb_remote_flush");
  counts.remote_flushes_received = field("nr_tlb_remote_flush_received");
  counts.local_flushes_all = field("nr_tlb_local_flush_all");
  counts.local_flushes_one = field("nr_tlb_local_flush_one");
  counts.countable = counts.countable || counts.remote_flushes.has_value();
  return counts;
}

TlbCounts ReadTlbCounts(const SystemFiles& system) {
  return ParseTlbCounts(system.Read("/proc/interrupts").value_or(""),
                        system.Read("/proc/vmstat").value_or(""));
}

TlbCounts TlbDelta(const TlbCounts& before, const TlbCounts& after) {
  TlbCounts delta;
  delta.countable = before.countable && after.countable;
  delta.shootdowns = Minus(after.shootdowns, before.shootdowns);
  if (delta.shootdowns && before.shootdowns_per_cpu.size() == after.shootdowns_per_cpu.size()) {
    for (size_t cpu = 0; cpu < after.shootdowns_per_cpu.size(); ++cpu) {
      const uint64_t b = before.shootdowns_per_cpu[cpu], a = after.shootdowns_per_cpu[cpu];
      delta.shootdowns_per_cpu.push_back(a >= b ? a - b : 0);
    }
  }
  delta.remote_flushes = Minus(after.remote_flushes, before.remote_flushes);
  delta.remote_flushes_received =
      Minus(after.remote_flushes_received, before.remote_flushes_received);
  delta.local_flushes_all = Minus(after.local_flushes_all, before.local_flushes_all);
  delta.local_flushes_one = Minus(after.local_flushes_one, before.local_flushes_one);
  return delta;
}

std::string DescribeTlbDelta(const TlbCounts& delta) {
  if (!delta.countable) return kTlbCountNotAvailable;
  std::string text = "TLB shootdowns (/proc/interrupts): ";
  if (!delta.shootdowns) {
    text += "unavailable";
  } else {
    text += std::to_string(*delta.shootdowns);
    if (!delta.shootdowns_per_cpu.empty()) {
      text += " [";
      for (size_t cpu = 0; cpu < delta.shootdowns_per_cpu.size(); ++cpu) {
        if (cpu > 0) text += " ";
        text += "cpu" + std::to_string(cpu) + ":" + std::to_string(delta.shootdowns_per_cpu[cpu]);
      }
      text += "]";
    }
  }
  text += "; vmstat nr_tlb_remote_flush: ";
  text += delta.remote_flushes ? std::to_string(*delta.remote_flushes) : "absent";
  return text;
}

ShootdownCheck CheckShootdowns(const TlbCounts& delta, int cpus_touching) {
  if (cpus_touching <= 1) return {};
  if (!delta.countable) return {true, kTlbCountNotAvailable};
  if (!delta.shootdowns && !delta.remote_flushes) {
    return {false, "TLB shootdown count lost (it went backwards between the readings)"};
  }
  const uint64_t seen = std::max(delta.shootdowns.value_or(0), delta.remote_flushes.value_or(0));
  if (seen > 0) return {};
  return {false, "no TLB shootdown seen although " + std::to_string(cpus_touching) +
                     " CPUs used the region (paravirt or broadcast TLB flush?)"};
}

}  // namespace mapbench
