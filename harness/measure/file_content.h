// Content a check can recognise: generation-stamped 64-bit words, and checks that a
// region or a file holds exactly the generation expected, so a stale read (an older
// generation) or a leaked write (a newer one) is caught and named.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "harness/kernel/resources.h"

namespace mapbench {

// Word `index` of generation `generation`. Generation 0 is the scratch-file content
// (ScratchWord), so a file of generation 0 has the checksum ExpectedChecksum(size).
// Different (generation, index) pairs give different words for index < 2^40.
uint64_t GenerationWord(uint64_t generation, uint64_t index);

// What each word of a region should hold: words whose index is a multiple of
// `stride_words` hold generation `written`; the others hold generation `background`,
// or zero bytes when `background` is nullopt (fresh anonymous memory).
struct Expected {
  uint64_t written = 0;
  uint64_t stride_words = 1;  // 1: every word; 512: the first word of each 4 KiB page
  std::optional<uint64_t> background = 0;
  // Check only the written words: a cheap per-pass check where a full one is made once.
  bool written_only = false;
};
uint64_t ExpectedWord(const Expected& expected, uint64_t index);

// Writes the `written` words of the region whose first word has index `first_word`;
// background words are left alone.
void StampWords(void* data, size_t bytes, uint64_t first_word, const Expected& expected);

// nullopt when every word of the region matches, else what the first wrong word holds,
// e.g. "word 512 (byte 4096) holds generation 3 (expected generation 4)".
std::optional<std::string> CheckRegion(const void* data, size_t bytes, uint64_t first_word,
                                       const Expected& expected);

// Reads [offset, offset + bytes) of `fd` with pread (offset and bytes multiples of 8)
// and checks it like CheckRegion; a short or failed read is reported too.
std::optional<std::string> CheckFile(int fd, uint64_t offset, uint64_t bytes,
                                     const Expected& expected);

// pwrite of all `bytes` at `offset` (a short write continues, EINTR is retried); the
// error text, or nullopt.
std::optional<std::string> PwriteAll(int fd, const char* data, uint64_t bytes, uint64_t offset);

// MAP_SHARED read-write mapping of `size` bytes of `fd`, every page read-faulted: a store
// then takes a write-protect fault, as in a long-lived mapping after writeback. Invalid
// when mmap fails.
Mapping MapSharedAndTouch(int fd, uint64_t size);

// A file made for one case, filled with generation 0 and made durable (fdatasync), and
// unlinked at once so nothing is left behind even if the run dies. `check` is a second,
// separate open file description of the same file, for reading back.
struct GenerationFile {
  UniqueFd fd;     // read-write
  UniqueFd check;  // read-only
  uint64_t size = 0;
};
// Writes with `write_chunk`-byte pwrites: the page cache keeps folios of about that
// size on filesystems with large folios (4096 gives 4 KiB folios). Checks free space.
std::optional<GenerationFile> MakeGenerationFile(const std::string& dir, uint64_t size,
                                                 uint64_t write_chunk, std::string* error);

}  // namespace mapbench
