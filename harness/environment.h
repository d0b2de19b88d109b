// The environment of a run: everything that shapes mmap performance, written beside
// the results so a run folder explains itself.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "harness/run_context.h"

namespace mapbench {

// Reads /proc and /sys through context.system; the scratch filesystem through
// `scratch_path`. Missing files become null, never an error.
nlohmann::json CaptureEnvironment(const RunContext& context, const std::string& scratch_path);

// Free page reporting of virtio-balloon, from its feature bit string (bit 5).
bool BalloonReportsFreePages(const std::string& feature_bits);

// Writes JSON atomically (temporary file + rename). Error text or empty.
std::string WriteJsonFile(const std::string& path, const nlohmann::json& value);

std::string UtcTimestamp();

// "/sys/dev/block/M:m" of the filesystem holding `path`, or empty.
std::string BlockDeviceSysfs(const std::string& path);

}  // namespace mapbench
