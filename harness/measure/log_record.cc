#include "harness/measure/log_record.h"

#include <cstring>

namespace mapbench {
namespace {

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Word(const void* data, size_t index) {
  uint64_t w;
  std::memcpy(&w, static_cast<const char*>(data) + index * 8, 8);
  return w;
}

// The checksum of a record: every word but the checksum field (word 3).
uint64_t RecordChecksum(const void* data, size_t bytes) {
  uint64_t h = 0x6a09e667f3bcc908ull;
  for (size_t i = 0; i < bytes / 8; ++i) {
    if (i == 3) continue;
    h = Mix(h ^ (Word(data, i) + i * 0x9e3779b97f4a7c15ull));
  }
  return h;
}

// A payload word: a function of the record's sequence number and the word's index.
uint64_t PayloadWord(uint64_t sequence, size_t index) {
  return Mix(Mix(sequence ^ kLogRecordMagic) + index * 0x9e3779b97f4a7c15ull);
}

}  // namespace

uint64_t LogChecksum(const void* data, size_t bytes) {
  uint64_t h = 0x6a09e667f3bcc908ull;
  for (size_t i = 0; i < bytes / 8; ++i) h = Mix(h ^ (Word(data, i) + i * 0x9e3779b97f4a7c15ull));
  return h;
}

void EncodeLogRecord(void* out, size_t bytes, uint64_t sequence) {
  char* p = static_cast<char*>(out);
  const uint64_t header[4] = {kLogRecordMagic, sequence, static_cast<uint64_t>(bytes), 0};
  std::memcpy(p, header, sizeof(header));
  for (size_t i = kLogRecordHeaderBytes / 8; i < bytes / 8; ++i) {
    const uint64_t w = PayloadWord(sequence, i);
    std::memcpy(p + i * 8, &w, 8);
  }
  const uint64_t sum = RecordChecksum(out, bytes);
  std::memcpy(p + 24, &sum, 8);
}

std::string CheckLogRecord(const void* data, size_t bytes, uint64_t sequence) {
  if (Word(data, 0) != kLogRecordMagic) return "no record header";
  if (Word(data, 1) != sequence)
    return "sequence " + std::to_string(Word(data, 1)) + " (expected " + std::to_string(sequence) + ")";
  if ((Word(data, 2) & 0xffffffffull) != bytes || (Word(data, 2) >> 32) != 0)
    return "length " + std::to_string(Word(data, 2) & 0xffffffffull) + " (expected " +
           std::to_string(bytes) + ")";
  if (Word(data, 3) != RecordChecksum(data, bytes)) return "checksum mismatch";
  for (size_t i = kLogRecordHeaderBytes / 8; i < bytes / 8; ++i) {
    // The checksum passed: a wrong payload word here means a colliding checksum.
    if (Word(data, i) != PayloadWord(sequence, i))
      return "payload word " + std::to_string(i) + " wrong";
  }
  return "";
}

LogScan ScanLog(const void* log, const void* before, size_t size, size_t record_bytes,
                uint64_t first_sequence) {
  LogScan scan;
  const char* l = static_cast<const char*>(log);
  const char* b = static_cast<const char*>(before);
  const size_t slots = record_bytes == 0 ? 0 : size / record_bytes;
  size_t slot = 0;
  for (; slot < slots; ++slot) {
    std::string wrong = CheckLogRecord(l + slot * record_bytes, record_bytes, first_sequence + slot);
    if (!wrong.empty()) {
      scan.stop = "record " + std::to_string(first_sequence + slot) + " at byte " +
                  std::to_string(slot * record_bytes) + ": " + wrong;
      break;
    }
    ++scan.intact;
  }
  scan.end_offset = slot * record_bytes;
  auto changed = [&](size_t s) {
    return std::memcmp(l + s * record_bytes, b + s * record_bytes, record_bytes) != 0;
  };
  for (; slot < slots && changed(slot); ++slot) ++scan.torn;
  for (; slot < slots; ++slot) {
    if (changed(slot)) ++scan.stray;
  }
  return scan;
}

}  // namespace mapbench
