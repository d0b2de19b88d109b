#include "harness/kernel/page_backing.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "harness/kernel/resources.h"

namespace mapbench {
namespace {

constexpr uint64_t kPfnMask = (1ull << 55) - 1;

bool Has(uint64_t flags, int bit) { return (flags >> bit) & 1; }

bool PreadAll(int fd, void* buffer, size_t bytes, off_t offset) {
  char* p = static_cast<char*>(buffer);
  while (bytes > 0) {
    ssize_t got = pread(fd, p, bytes, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    bytes -= static_cast<size_t>(got);
    offset += got;
  }
  return true;
}

std::string Percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", 100 * fraction);
  return text;
}

uint64_t Field(const std::map<std::string, uint64_t>& fields, const char* name) {
  auto it = fields.find(name);
  return it == fields.end() ? 0 : it->second;
}

std::string SizeDir(uint64_t bytes) { return "hugepages-" + std::to_string(bytes >> 10) + "kB"; }

}  // namespace

PagemapEntry DecodePagemap(uint64_t word) {
  PagemapEntry entry;
  entry.present = (word >> 63) & 1;
  entry.swapped = (word >> 62) & 1;
  entry.file_or_shared = (word >> 61) & 1;
  entry.exclusive = (word >> 56) & 1;
  if (entry.present && !entry.swapped) entry.pfn = word & kPfnMask;
  return entry;
}

std::optional<PageFrames> ReadPageFrames(const SystemFiles& system, const void* begin,
                                         size_t length, std::string* error) {
  const uintptr_t start = reinterpret_cast<uintptr_t>(begin);
  const uint64_t page = PageSize();
  const size_t pages = (length + page - 1) / page;
  const std::string pagemap_path = system.Resolve("/proc/self/pagemap");
  UniqueFd pagemap(open(pagemap_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) {
    *error = SysError("open(" + pagemap_path + ")");
    return std::nullopt;
  }
  PageFrames frames;
  frames.first_page = start / page;
  frames.pagemap.resize(pages);
  frames.flags.assign(pages, 0);
  if (!PreadAll(pagemap.get(), frames.pagemap.data(), pages * 8, (start / page) * 8)) {
    *error = SysError("pread(" + pagemap_path + ")");
    return std::nullopt;
  }
  bool any_pfn = false;
  for (uint64_t word : frames.pagemap) any_pfn = any_pfn || DecodePagemap(word).pfn != 0;
  if (!any_pfn) return frames;  // nothing present, or PFNs hidden (needs CAP_SYS_ADMIN)

  const std::string flags_path = system.Resolve("/proc/kpageflags");
  UniqueFd kpageflags(open(flags_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!kpageflags.valid()) return frames;  // folio sizes stay unknown
  // One read per run of consecutive PFNs (a huge page is one run).
  std::vector<uint64_t> run;
  for (size_t i = 0; i < pages;) {
    const uint64_t pfn = DecodePagemap(frames.pagemap[i]).pfn;
    if (pfn == 0) {
      ++i;
      continue;
    }
    size_t n = 1;
    while (i + n < pages && DecodePagemap(frames.pagemap[i + n]).pfn == pfn + n) ++n;
    run.resize(n);
    if (!PreadAll(kpageflags.get(), run.data(), n * 8, static_cast<off_t>(pfn * 8))) {
      return frames;  // flags stay zero, pfns_visible false: folio sizes unknown
    }
    std::copy(run.begin(), run.end(), frames.flags.begin() + static_cast<long>(i));
    i += n;
  }
  // Whether the last page's folio goes on past the range (the PFN after it is a tail).
  const uint64_t last_pfn = DecodePagemap(frames.pagemap.back()).pfn;
  if (last_pfn != 0) {
    uint64_t after = 0;
    if (PreadAll(kpageflags.get(), &after, 8, static_cast<off_t>((last_pfn + 1) * 8))) {
      frames.flags_after_last = after;
    }
  }
  frames.pfns_visible = true;
  return frames;
}

BackingHistogram FolioHistogram(const PageFrames& frames) {
  BackingHistogram h;
  const size_t n = frames.pagemap.size();
  h.total_pages = n;
  auto pfn_of = [&](size_t i) { return DecodePagemap(frames.pagemap[i]).pfn; };
  // flags may be shorter than pagemap (a caller's own PageFrames): missing words are 0.
  auto flags_of = [&](size_t i) -> uint64_t {
    return i < frames.flags.size() ? frames.flags[i] : 0;
  };
  for (size_t i = 0; i < n;) {
    const PagemapEntry e = DecodePagemap(frames.pagemap[i]);
    if (!e.present) {
      ++h.not_present;
      ++i;
      continue;
    }
    const uint64_t flags = flags_of(i);
    if (!frames.pfns_visible || e.pfn == 0) {
      ++h.unknown;
      ++i;
      continue;
    }
    if (Has(flags, kpf::kZeroPage)) {
      ++h.zero_page;
      ++i;
      continue;
    }
    if (Has(flags, kpf::kCompoundTail) || !Has(flags, kpf::kCompoundHead)) {
      // A tail without its head here: a folio cut by the range start. Else a small page.
      if (Has(flags, kpf::kCompoundTail)) {
        ++h.unknown;
      } else {
        ++h.pages_by_folio_pages[1];
      }
      ++i;
      continue;
    }
    size_t len = 1;
    while (i + len < n && pfn_of(i + len) == e.pfn + len &&
           Has(flags_of(i + len), kpf::kCompoundTail)) {
      ++len;
    }
    const bool cut_at_end = i + len == n && frames.flags_after_last &&
                            Has(*frames.flags_after_last, kpf::kCompoundTail);
    const bool power_of_two = (len & (len - 1)) == 0;
    const bool aligned = ((frames.first_page + i) % len) == 0;
    if (cut_at_end || !power_of_two || !aligned) {
      h.unknown += len;
    } else {
      h.pages_by_folio_pages[len] += len;
    }
    i += len;
  }
  return h;
}

void MergeHistograms(BackingHistogram& into, const BackingHistogram& from) {
  into.total_pages += from.total_pages;
  into.not_present += from.not_present;
  into.unknown += from.unknown;
  into.zero_page += from.zero_page;
  for (const auto& [folio_pages, pages] : from.pages_by_folio_pages) {
    into.pages_by_folio_pages[folio_pages] += pages;
  }
}

double FractionInFolios(const BackingHistogram& histogram, uint64_t folio_pages) {
  if (histogram.total_pages == 0) return 0;
  auto it = histogram.pages_by_folio_pages.find(folio_pages);
  if (it == histogram.pages_by_folio_pages.end()) return 0;
  return static_cast<double>(it->second) / static_cast<double>(histogram.total_pages);
}

std::string DescribeHistogram(const BackingHistogram& histogram) {
  if (histogram.total_pages == 0) return "empty range";
  const double total = static_cast<double>(histogram.total_pages);
  std::string text;
  auto add = [&](const std::string& what, uint64_t pages) {
    if (pages == 0) return;
    if (!text.empty()) text += ", ";
    text += what + " " + Percent(pages / total);
  };
  for (auto it = histogram.pages_by_folio_pages.rbegin();
       it != histogram.pages_by_folio_pages.rend(); ++it) {
    add(PageSizeText(it->first * PageSize()), it->second);
  }
  add("zero page", histogram.zero_page);
  add("not present", histogram.not_present);
  add("unknown", histogram.unknown);
  return text;
}

std::optional<uint64_t> FoliosMapped(const BackingHistogram& histogram) {
  if (histogram.unknown > 0) return std::nullopt;
  uint64_t folios = histogram.zero_page;
  for (const auto& [folio_pages, pages] : histogram.pages_by_folio_pages) {
    folios += (pages + folio_pages - 1) / folio_pages;
  }
  return folios;
}

ScopedThpDisable::ScopedThpDisable() {
  previous_ = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
  if (previous_ < 0) {
    error_ = SysError("prctl(PR_GET_THP_DISABLE)");
    return;
  }
  // Already off (for mappings not marked MADV_HUGEPAGE, at least): leave it as it is.
  if (previous_ > 0) return;
  if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) {
    error_ = SysError("prctl(PR_SET_THP_DISABLE, 1)");
    previous_ = -1;
  }
}

ScopedThpDisable::~ScopedThpDisable() {
  if (previous_ == 0) prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
}

double SmapsBackedFraction(const std::map<std::string, uint64_t>& fields, BackingKind kind,
                           uint64_t page_bytes, uint64_t length) {
  if (length == 0) return 0;
  const uint64_t anon_thp = Field(fields, "AnonHugePages");
  const uint64_t shmem_thp = Field(fields, "ShmemPmdMapped");
  const uint64_t file_thp = Field(fields, "FilePmdMapped");
  const uint64_t hugetlb = Field(fields, "Private_Hugetlb") + Field(fields, "Shared_Hugetlb");
  uint64_t backed = 0;
  switch (kind) {
    case BackingKind::kBasePages: {
      const uint64_t rss = Field(fields, "Rss");
      const uint64_t pmd = anon_thp + shmem_thp + file_thp;
      backed = hugetlb > 0 || rss < pmd ? 0 : rss - pmd;
      break;
    }
    case BackingKind::kAnonThp:
      backed = anon_thp;
      break;
    case BackingKind::kShmemThp:
      backed = shmem_thp;
      break;
    case BackingKind::kFileThp:
      backed = file_thp;
      break;
    case BackingKind::kHugetlb:
      backed = Field(fields, "KernelPageSize") == page_bytes ? hugetlb : 0;
      break;
  }
  return std::min(1.0, static_cast<double>(backed) / static_cast<double>(length));
}

std::optional<uint64_t> ParseHugepagesDirName(std::string_view name) {
  constexpr std::string_view kPrefix = "hugepages-", kSuffix = "kB";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  auto kib =
      ParseUnsigned(name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size()));
  if (!kib || *kib == 0 || *kib > (UINT64_MAX >> 10)) return std::nullopt;  // no wrapped size
  return *kib << 10;
}

std::string PageSizeText(uint64_t bytes) {
  if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
    return std::to_string(bytes >> 30) + " GiB";
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
    return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes >> 10) + " KiB";
}

std::string ResolveInherit(std::string_view size_choice, std::string_view top_level_choice) {
  if (size_choice == "inherit") return std::string(top_level_choice);
  return std::string(size_choice);
}

bool AnonPolicyAllowsMadvised(std::string_view policy) {
  return policy == "always" || policy == "madvise";
}

bool ShmemPolicyAllowsMadvised(std::string_view policy) {
  return policy == "always" || policy == "within_size" || policy == "advise" || policy == "force";
}

ThpSettings ReadThpSettings(const SystemFiles& system) {
  ThpSettings settings;
  const std::string dir = kThpDir;
  auto enabled = system.Read(dir + "/enabled");
  if (!enabled) return settings;
  settings.present = true;
  settings.enabled = SelectedChoice(*enabled);
  settings.shmem_enabled = SelectedChoice(system.Read(dir + "/shmem_enabled").value_or(""));
  settings.pmd_bytes =
      ParseUnsigned(system.ReadLine(dir + "/hpage_pmd_size").value_or("")).value_or(0);
  for (const std::string& name : system.List(dir)) {
    auto bytes = ParseHugepagesDirName(name);
    if (!bytes) continue;
    ThpSize size;
    size.bytes = *bytes;
    if (auto text = system.Read(dir + "/" + name + "/enabled"))
      size.anon_choice = SelectedChoice(*text);
    if (auto text = system.Read(dir + "/" + name + "/shmem_enabled")) {
      size.shmem_choice = SelectedChoice(*text);
    }
    size.anon_policy = ResolveInherit(size.anon_choice, settings.enabled);
    size.shmem_policy = ResolveInherit(size.shmem_choice, settings.shmem_enabled);
    settings.sizes.push_back(size);
  }
  std::sort(settings.sizes.begin(), settings.sizes.end(),
            [](const ThpSize& a, const ThpSize& b) { return a.bytes < b.bytes; });
  return settings;
}

namespace {

const ThpSize* FindSize(const ThpSettings& settings, uint64_t bytes) {
  for (const ThpSize& size : settings.sizes) {
    if (size.bytes == bytes) return &size;
  }
  return nullptr;
}

// "hugepages-64kB/enabled=inherit (top-level enabled=never)" for a reason text.
std::string ChoiceText(const std::string& file, const std::string& choice,
                       const std::string& top_file, const std::string& top) {
  std::string text = file + "=" + choice;
  if (choice == "inherit") text += " (" + top_file + "=" + top + ")";
  return text;
}

}  // namespace

std::optional<std::string> AnonThpUnavailable(const ThpSettings& settings, uint64_t bytes) {
  const std::string size = PageSizeText(bytes);
  if (!settings.present)
    return "kernel has no transparent huge pages (no " + std::string(kThpDir) + ")";
  const ThpSize* entry = FindSize(settings, bytes);
  std::string policy, where;
  if (entry != nullptr && !entry->anon_choice.empty()) {
    policy = entry->anon_policy;
    where =
        ChoiceText(SizeDir(bytes) + "/enabled", entry->anon_choice, "enabled", settings.enabled);
  } else if (entry == nullptr && bytes == settings.pmd_bytes) {
    policy = settings.enabled;  // kernels before mTHP: the top-level knob governs PMD size
    where = "enabled=" + settings.enabled;
  } else if (entry != nullptr) {
    return "the kernel offers " + size + " THP for shmem only (" + SizeDir(bytes) +
           " has no enabled file for anonymous memory)";
  } else {
    return "the kernel offers no " + size + " THP for anonymous memory (no " + SizeDir(bytes) + ")";
  }
  if (AnonPolicyAllowsMadvised(policy)) return std::nullopt;
  return size + " THP not enabled for anonymous memory: " + where +
         "; needs always or madvise (a tuning; not changed by the benchmark)";
}

std::optional<std::string> ShmemThpUnavailable(const ThpSettings& settings, uint64_t bytes) {
  const std::string size = PageSizeText(bytes);
  if (!settings.present)
    return "kernel has no transparent huge pages (no " + std::string(kThpDir) + ")";
  const ThpSize* entry = FindSize(settings, bytes);
  std::string policy, where;
  if (entry != nullptr && !entry->shmem_choice.empty()) {
    policy = entry->shmem_policy;
    where = ChoiceText(SizeDir(bytes) + "/shmem_enabled", entry->shmem_choice, "shmem_enabled",
                       settings.shmem_enabled);
  } else if (bytes == settings.pmd_bytes) {
    policy = settings.shmem_enabled;
    where = "shmem_enabled=" + settings.shmem_enabled;
  } else {
    return "the kernel offers no " + size + " THP for shmem";
  }
  if (ShmemPolicyAllowsMadvised(policy)) return std::nullopt;
  return size + " shmem THP not enabled: " + where +
         "; needs always, within_size, advise or force (a tuning; not changed by the benchmark)";
}

std::optional<uint64_t> ReadThpSizeStat(const SystemFiles& system, uint64_t bytes,
                                        std::string_view stat) {
  auto text =
      system.ReadLine(std::string(kThpDir) + "/" + SizeDir(bytes) + "/stats/" + std::string(stat));
  if (!text) return std::nullopt;
  return ParseUnsigned(*text);
}

std::optional<HugetlbPool> ReadHugetlbPool(const SystemFiles& system, uint64_t page_bytes) {
  const std::string dir = "/sys/kernel/mm/hugepages/" + SizeDir(page_bytes) + "/";
  auto read = [&](const char* name) {
    return ParseUnsigned(system.ReadLine(dir + name).value_or(""));
  };
  auto nr = read("nr_hugepages");
  auto free = read("free_hugepages");
  if (!nr || !free) return std::nullopt;
  HugetlbPool pool;
  pool.page_bytes = page_bytes;
  pool.nr = *nr;
  pool.free = *free;
  pool.resv = read("resv_hugepages").value_or(0);
  pool.surplus = read("surplus_hugepages").value_or(0);
  return pool;
}

std::optional<std::string> HugetlbShortage(const std::optional<HugetlbPool>& pool,
                                           uint64_t page_bytes, uint64_t bytes) {
  const std::string size = PageSizeText(page_bytes);
  const std::string knob = "/sys/kernel/mm/hugepages/" + SizeDir(page_bytes) + "/nr_hugepages";
  if (!pool) return "the kernel has no " + size + " hugetlb pool (no " + knob + ")";
  const uint64_t needed = (bytes + page_bytes - 1) / page_bytes;
  if (pool->Available() >= needed) return std::nullopt;
  const uint64_t target = pool->nr + (needed - pool->Available());
  return "no free " + size + " hugetlb pages (" + std::to_string(pool->Available()) +
         " available, " + std::to_string(needed) + " needed): reserve with 'echo " +
         std::to_string(target) + " > " + knob +
         "' as root (a tuning; not changed by the benchmark)";
}

}  // namespace mapbench
