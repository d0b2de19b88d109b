// A private scratch directory with files of deterministic content and known checksum,
// created on first use, shared by the cases and removed at exit and on signals.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "harness/measure/checksum.h"

namespace mapbench {

struct ScratchFile {
  std::string path;
  uint64_t size = 0;
  uint64_t checksum = 0;
};

class ScratchDir {
 public:
  // Makes a new private directory (mode 0700, fresh name) under `parent`.
  static std::unique_ptr<ScratchDir> Create(const std::string& parent, std::string* error);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // The shared file of `size` bytes (a multiple of 8), written on first request.
  // nullptr with *error when it cannot be made; *error starts with "not enough disk"
  // when free space is short (checked before writing anything).
  const ScratchFile* File(uint64_t size, std::string* error);

  const std::string& path() const { return path_; }
  uint64_t FreeBytes() const;

  // Removes the scratch files; safe to call from a signal handler.
  static void RemoveAllFromSignalHandler();

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::map<uint64_t, ScratchFile> files_;
};

}  // namespace mapbench
