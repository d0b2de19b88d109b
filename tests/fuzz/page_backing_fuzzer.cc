// Fuzzes the page-backing decoders: /proc/self/pagemap words, /proc/kpageflags folio
// histograms, hugepages-<n>kB directory names and smaps fractions. The input drives a
// FuzzedDataProvider that builds the words ReadPageFrames would have read (folios laid
// out by PFN, or raw words). Invariants: every page is counted exactly once, a folio
// size is a power of two holding whole folios, merging adds, fractions stay in [0, 1],
// and a directory name written from a size parses back to that size.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/kernel/page_backing.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

constexpr uint64_t kPresent = 1ull << 63, kSwapped = 1ull << 62;

uint64_t Bit(int bit) { return 1ull << bit; }

void CheckDecode(uint64_t word) {
  const mapbench::PagemapEntry e = mapbench::DecodePagemap(word);
  FUZZ_CHECK(e.present == ((word >> 63) & 1));
  FUZZ_CHECK(e.swapped == ((word >> 62) & 1));
  FUZZ_CHECK(e.file_or_shared == ((word >> 61) & 1));
  FUZZ_CHECK(e.exclusive == ((word >> 56) & 1));
  FUZZ_CHECK(e.pfn == (e.present && !e.swapped ? word & ((1ull << 55) - 1) : 0));
}

uint64_t Counted(const mapbench::BackingHistogram& h) {
  uint64_t pages = h.not_present + h.unknown + h.zero_page;
  for (const auto& [folio_pages, n] : h.pages_by_folio_pages) pages += n;
  return pages;
}

// Pages laid out as folios: a run of `len` pages at consecutive PFNs, head then tails.
void AddFolios(FuzzedDataProvider& in, mapbench::PageFrames& frames, size_t pages) {
  uint64_t pfn = in.ConsumeIntegralInRange<uint64_t>(0, 1ull << 40);
  while (frames.pagemap.size() < pages && in.remaining_bytes() > 0) {
    const int kind = in.ConsumeIntegralInRange<int>(0, 5);
    if (kind == 0) {  // not present, or swapped out
      frames.pagemap.push_back(in.ConsumeBool() ? 0 : kSwapped);
      frames.flags.push_back(0);
      continue;
    }
    if (kind == 1) {  // the zero page
      frames.pagemap.push_back(kPresent | 1);
      frames.flags.push_back(Bit(mapbench::kpf::kZeroPage));
      continue;
    }
    if (kind == 2) {  // raw words
      frames.pagemap.push_back(in.ConsumeIntegral<uint64_t>());
      frames.flags.push_back(in.ConsumeIntegral<uint64_t>());
      continue;
    }
    const size_t len = size_t{1} << in.ConsumeIntegralInRange<int>(0, 9);  // 1 .. 512 pages
    if (in.ConsumeBool()) pfn += in.ConsumeIntegralInRange<uint64_t>(0, 1024);
    for (size_t k = 0; k < len && frames.pagemap.size() < pages; ++k, ++pfn) {
      frames.pagemap.push_back(kPresent | pfn);
      uint64_t flags =
          len == 1 ? 0 : Bit(k == 0 ? mapbench::kpf::kCompoundHead : mapbench::kpf::kCompoundTail);
      if (len > 1 && kind == 3) flags |= Bit(mapbench::kpf::kThp);
      frames.flags.push_back(flags);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  mapbench::PageFrames frames;
  frames.first_page = in.ConsumeIntegralInRange<uint64_t>(0, 1ull << 36);
  frames.pfns_visible = in.ConsumeBool();
  AddFolios(in, frames, in.ConsumeIntegralInRange<size_t>(0, 4096));
  if (in.ConsumeBool()) frames.flags_after_last = in.ConsumeIntegral<uint64_t>();
  if (in.ConsumeBool() && !frames.flags.empty()) {  // flags shorter than pagemap
    frames.flags.resize(in.ConsumeIntegralInRange<size_t>(0, frames.flags.size() - 1));
  }
  for (uint64_t word : frames.pagemap) CheckDecode(word);

  const mapbench::BackingHistogram h = mapbench::FolioHistogram(frames);
  FUZZ_CHECK(h.total_pages == frames.pagemap.size());
  FUZZ_CHECK(Counted(h) == h.total_pages);
  uint64_t not_present = 0;
  for (uint64_t word : frames.pagemap) not_present += !mapbench::DecodePagemap(word).present;
  FUZZ_CHECK(h.not_present == not_present);
  if (!frames.pfns_visible) {
    FUZZ_CHECK(h.pages_by_folio_pages.empty() && h.zero_page == 0);
  }
  double fractions = 0;
  for (const auto& [folio_pages, pages] : h.pages_by_folio_pages) {
    FUZZ_CHECK(folio_pages > 0 && (folio_pages & (folio_pages - 1)) == 0);
    FUZZ_CHECK(pages > 0 && pages % folio_pages == 0);
    const double fraction = mapbench::FractionInFolios(h, folio_pages);
    FUZZ_CHECK(fraction > 0 && fraction <= 1);
    fractions += fraction;
  }
  FUZZ_CHECK(fractions <= 1 + 1e-9);
  mapbench::DescribeHistogram(h);
  // A fault per folio: never more than the present pages, nothing said when some are unknown.
  const auto folios = mapbench::FoliosMapped(h);
  FUZZ_CHECK(folios.has_value() == (h.unknown == 0));
  if (folios) FUZZ_CHECK(*folios <= h.total_pages - h.not_present);

  mapbench::BackingHistogram twice = h;
  mapbench::MergeHistograms(twice, h);
  FUZZ_CHECK(twice.total_pages == 2 * h.total_pages && Counted(twice) == twice.total_pages);

  // hugepages-<n>kB names, from the input's next number.
  const uint64_t kib = in.ConsumeIntegral<uint64_t>();
  const auto bytes = mapbench::ParseHugepagesDirName("hugepages-" + std::to_string(kib) + "kB");
  if (kib == 0 || kib > (UINT64_MAX >> 10)) {
    FUZZ_CHECK(!bytes);
  } else {
    FUZZ_CHECK(bytes && *bytes == kib * 1024);
    FUZZ_CHECK(!mapbench::PageSizeText(*bytes).empty());
  }
  const std::string name = in.ConsumeRandomLengthString(32);
  if (auto parsed = mapbench::ParseHugepagesDirName(name)) {
    FUZZ_CHECK(*parsed > 0 && *parsed % 1024 == 0);
    FUZZ_CHECK(mapbench::ParseUnsigned(name.substr(10, name.size() - 12)) == *parsed / 1024);
  }

  std::map<std::string, uint64_t> fields;
  for (const char* key : {"Rss", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped",
                          "Private_Hugetlb", "Shared_Hugetlb", "KernelPageSize"}) {
    if (in.ConsumeBool()) fields[key] = in.ConsumeIntegral<uint64_t>();
  }
  const uint64_t length = in.ConsumeIntegral<uint64_t>();
  for (auto kind : {mapbench::BackingKind::kBasePages, mapbench::BackingKind::kAnonThp,
                    mapbench::BackingKind::kShmemThp, mapbench::BackingKind::kFileThp,
                    mapbench::BackingKind::kHugetlb}) {
    const double fraction = mapbench::SmapsBackedFraction(fields, kind, 2u << 20, length);
    FUZZ_CHECK(fraction >= 0 && fraction <= 1);
  }
  return 0;
}
