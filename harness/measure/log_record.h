// Records of a write-ahead log that recovery can check: each carries a magic word, its
// sequence number, its length and a position-dependent checksum of all its bytes, and
// its payload is a pure function of its sequence number. A scan of a log written
// record after record finds the intact prefix in sequence order, and tells a torn
// (partly written) record from space the writer never reached by comparing with what
// the log held before. Pure arithmetic over buffers: tests need no files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mapbench {

constexpr uint64_t kLogRecordMagic = 0x4d42574c52454331ull;  // "MBWLREC1"
// magic, sequence, bytes (32 bits) + reserved (32 bits), checksum: 4 words.
constexpr size_t kLogRecordHeaderBytes = 32;

// 64-bit checksum of `bytes` (a multiple of 8) in which every word's position counts:
// a reordered, shifted or half-old record does not pass.
uint64_t LogChecksum(const void* data, size_t bytes);

// Writes record `sequence` of `bytes` bytes (a multiple of 8, at least the header plus
// one word) into `out`: header, then payload words that depend on the sequence number.
void EncodeLogRecord(void* out, size_t bytes, uint64_t sequence);

// "" when `data` holds record `sequence` of `bytes` bytes exactly
// (header fields, checksum and payload), else what is wrong with it.
std::string CheckLogRecord(const void* data, size_t bytes, uint64_t sequence);

// A log of fixed-size records written one after another from offset 0, scanned as a
// recovery would scan it after a crash.
struct LogScan {
  uint64_t intact = 0;       // records first_sequence, first_sequence + 1, ... found whole
  uint64_t end_offset = 0;   // where the intact chain ends
  uint64_t torn = 0;         // slots after the chain changed from `before` but not intact
  uint64_t stray = 0;        // changed slots after the first unchanged one (should be none)
  std::string stop;          // why the chain ended at end_offset ("" at the end of the log)
};
// `log` and `before` (the log's content before the writer started) are `size` bytes;
// A partial slot at the end of the log is not looked at.
LogScan ScanLog(const void* log, const void* before, size_t size, size_t record_bytes,
                uint64_t first_sequence);

}  // namespace mapbench
