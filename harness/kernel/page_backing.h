// Which page size really backs a range: /proc/self/pagemap + /proc/kpageflags folio
// sizes, smaps-based fractions, the mTHP sizes and policies the kernel offers, and the
// hugetlb pools. Parsers and computations take text or words so tests use fixtures.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/kernel/system_files.h"

namespace mapbench {

// ---- pagemap / kpageflags ----------------------------------------------------------

// One /proc/<pid>/pagemap word (Documentation/admin-guide/mm/pagemap.rst).
struct PagemapEntry {
  bool present = false;
  bool swapped = false;
  bool exclusive = false;       // bit 56: page exclusively mapped
  bool file_or_shared = false;  // bit 61: file page or shared anonymous
  uint64_t pfn = 0;             // 0 when hidden (no CAP_SYS_ADMIN) or not present
};
PagemapEntry DecodePagemap(uint64_t word);

// /proc/kpageflags bits used here.
namespace kpf {
inline constexpr int kCompoundHead = 15;
inline constexpr int kCompoundTail = 16;
inline constexpr int kHuge = 17;  // hugetlb
inline constexpr int kThp = 22;
inline constexpr int kZeroPage = 24;
}  // namespace kpf

// The pagemap word and kpageflags word (0 where unknown) of every base page of a range.
struct PageFrames {
  uint64_t first_page = 0;  // virtual address / PageSize() of the first page
  std::vector<uint64_t> pagemap;
  std::vector<uint64_t> flags;
  // kpageflags of the PFN after the last page: tells whether its folio goes on.
  std::optional<uint64_t> flags_after_last;
  bool pfns_visible = false;  // PFNs readable (root), so folio sizes can be computed
};

// Reads pagemap for [begin, begin + length) and, where PFNs are visible, kpageflags for
// every present page. nullopt with *error when pagemap cannot be read.
std::optional<PageFrames> ReadPageFrames(const SystemFiles& system, const void* begin,
                                         size_t length, std::string* error);

// Pages of a range grouped by the size (in base pages) of the folio mapping them.
// A folio is a compound head followed by tails at consecutive PFNs; it counts under its
// size only if it starts on a virtual address aligned to that size (as the kernel maps
// mTHP and PMD pages). Everything else is counted apart.
struct BackingHistogram {
  uint64_t total_pages = 0;
  uint64_t not_present = 0;
  uint64_t unknown = 0;    // PFN hidden, or a folio cut by the range or misaligned
  uint64_t zero_page = 0;  // the shared zero page (read-faulted anonymous memory)
  std::map<uint64_t, uint64_t> pages_by_folio_pages;  // folio size in pages -> pages
};
BackingHistogram FolioHistogram(const PageFrames& frames);

// Adds `from` into `into` (a region made of several ranges).
void MergeHistograms(BackingHistogram& into, const BackingHistogram& from);

// Fraction of the range's pages in folios of exactly `folio_pages` pages (0 if empty).
double FractionInFolios(const BackingHistogram& histogram, uint64_t folio_pages);

// "4 KiB 100.0%" / "2 MiB 96.9%, 4 KiB 3.1%, not present 0.0%" (sizes from PageSize()).
std::string DescribeHistogram(const BackingHistogram& histogram);

// How many mappings the range's pages form: one per folio, one per zero-page entry. A
// demand fault of anonymous memory maps one folio, so this is the fault count a first
// touch should take. nullopt when some page is unknown (PFNs hidden, folio cut).
std::optional<uint64_t> FoliosMapped(const BackingHistogram& histogram);

// ---- pinning the page size ------------------------------------------------------------

// Turns transparent huge pages of every size off for this process while it lives
// (prctl PR_SET_THP_DISABLE: MADV_NOHUGEPAGE for every mapping, including those that
// MAP_POPULATE fills inside mmap before any madvise could apply), then restores the
// previous setting. Page-cache folios of a file keep their size; they are mapped with
// page table entries only.
class ScopedThpDisable {
 public:
  ScopedThpDisable();
  ~ScopedThpDisable();
  ScopedThpDisable(const ScopedThpDisable&) = delete;
  ScopedThpDisable& operator=(const ScopedThpDisable&) = delete;
  const std::string& error() const { return error_; }  // empty: THP is off

 private:
  int previous_ = -1;
  std::string error_;
};

// ---- smaps-based fractions ----------------------------------------------------------

enum class BackingKind {
  kBasePages,  // neither THP nor hugetlb (smaps cannot tell mTHP from base pages)
  kAnonThp,    // AnonHugePages (PMD-mapped anonymous THP)
  kShmemThp,   // ShmemPmdMapped
  kFileThp,    // FilePmdMapped
  kHugetlb,    // Private_Hugetlb + Shared_Hugetlb, with KernelPageSize == page_bytes
};

// Fraction of `length` bytes backed as `kind` claims, from SmapsForRange fields.
double SmapsBackedFraction(const std::map<std::string, uint64_t>& fields, BackingKind kind,
                           uint64_t page_bytes, uint64_t length);

// ---- THP and mTHP settings -----------------------------------------------------------

inline constexpr char kThpDir[] = "/sys/kernel/mm/transparent_hugepage";

// "hugepages-64kB" -> 65536; "hugepages-2048kB" -> 2097152; nullopt for other names.
std::optional<uint64_t> ParseHugepagesDirName(std::string_view name);

// "64 kB", "2 MiB", "1 GiB" for page sizes in notes.
std::string PageSizeText(uint64_t bytes);

// A per-size policy with "inherit" resolved to the top-level one: always, madvise,
// within_size, advise, force, never, deny; empty when unknown.
std::string ResolveInherit(std::string_view size_choice, std::string_view top_level_choice);

// Whether memory marked MADV_HUGEPAGE can get pages of a size under this (resolved) policy.
bool AnonPolicyAllowsMadvised(std::string_view policy);
bool ShmemPolicyAllowsMadvised(std::string_view policy);

struct ThpSize {
  uint64_t bytes = 0;
  std::string anon_choice;   // selected value of hugepages-<n>kB/enabled; empty: no anon control
  std::string shmem_choice;  // selected value of hugepages-<n>kB/shmem_enabled; empty: none
  std::string anon_policy;   // anon_choice with inherit resolved
  std::string shmem_policy;  // shmem_choice with inherit resolved
};
struct ThpSettings {
  bool present = false;  // the THP directory exists
  std::string enabled;   // top-level, selected value
  std::string shmem_enabled;
  uint64_t pmd_bytes = 0;      // hpage_pmd_size
  std::vector<ThpSize> sizes;  // ascending; includes the PMD size where listed
};
ThpSettings ReadThpSettings(const SystemFiles& system);

// nullopt when madvised anonymous memory can get `bytes` pages here, else why not.
std::optional<std::string> AnonThpUnavailable(const ThpSettings& settings, uint64_t bytes);
// nullopt when a madvised shmem/memfd mapping can get `bytes` pages here, else why not.
std::optional<std::string> ShmemThpUnavailable(const ThpSettings& settings, uint64_t bytes);

// Per-size counter under hugepages-<n>kB/stats/, e.g. "anon_fault_alloc".
std::optional<uint64_t> ReadThpSizeStat(const SystemFiles& system, uint64_t bytes,
                                        std::string_view stat);

// ---- hugetlb pools --------------------------------------------------------------------

struct HugetlbPool {
  uint64_t page_bytes = 0;
  uint64_t nr = 0, free = 0, resv = 0, surplus = 0;
  uint64_t Available() const { return free > resv ? free - resv : 0; }
};
std::optional<HugetlbPool> ReadHugetlbPool(const SystemFiles& system, uint64_t page_bytes);

// nullopt when the pool can serve `bytes`, else the reason with the command to reserve.
std::optional<std::string> HugetlbShortage(const std::optional<HugetlbPool>& pool,
                                           uint64_t page_bytes, uint64_t bytes);

}  // namespace mapbench
