// The environment of a run: everything that shapes mmap performance, written beside
// the results so a run folder explains itself.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "harness/kernel/faults.h"
#include "harness/measure/run_context.h"

namespace mapbench {

// Reads /proc and /sys through context.system; the scratch filesystem through
// `scratch_path`. Missing files become null, never an error.
nlohmann::json CaptureEnvironment(const RunContext& context, const std::string& scratch_path);

// Free page reporting of virtio-balloon, from its feature bit string (bit 5).
bool BalloonReportsFreePages(const std::string& feature_bits);

// Whether free memory goes back to the VM's host: a virtio balloon with free page reporting.
struct FreePageReporting {
  bool balloon = false;  // a virtio_balloon device is bound
  bool active = false;   // and it reports free pages (VIRTIO_BALLOON_F_REPORTING)
  // Smallest free block reported, log2 pages: the module parameter, else the command line.
  std::optional<std::string> order;
};
FreePageReporting ReadFreePageReporting(const SystemFiles& system);

// nullopt when free memory can go back to the host here, else why not: an after_idle row
// has nothing to measure then.
std::optional<std::string> NoFreePageReporting(const FreePageReporting& reporting);

// Reports to the host so far: interrupts of the balloon's "reporting_vq" in
// /proc/interrupts (one per report), and page_reporting.reported_kib where the kernel has it.
HostReports ReadHostReports(const SystemFiles& system);

// What /proc/cpuinfo text says: "processor" lines, the first "model name", and whether
// any "flags" line has the hypervisor flag.
struct CpuInfoSummary {
  int logical_cpus = 0;
  std::optional<std::string> model;
  bool hypervisor = false;
};
CpuInfoSummary ParseCpuInfo(std::string_view text);

// The mount of device `device_number` ("8:1") in /proc/self/mountinfo text: "id parent
// major:minor root mountpoint options [optional fields] - fstype source superoptions".
// The last line for the device wins; nullopt when there is none.
struct MountSummary {
  std::string filesystem, source, options;
};
std::optional<MountSummary> FindMount(std::string_view mountinfo, std::string_view device_number);

// The value of "key=value" in a kernel command line ("page_reporting.page_reporting_order"
// in "quiet page_reporting.page_reporting_order=9"); nullopt when the key is absent.
std::optional<std::string> CmdlineValue(std::string_view cmdline, std::string_view key);

// JSON text as written to disk: pretty-printed, and bytes that are not UTF-8 (a command
// line or a file name can hold any) replaced with U+FFFD instead of throwing.
std::string JsonText(const nlohmann::json& value);

// Writes JsonText(value) atomically (temporary file + rename). Error text or empty.
std::string WriteJsonFile(const std::string& path, const nlohmann::json& value);

std::string UtcTimestamp();

// gethostname() and uname's release: the identity every row and environment.json carry.
std::string HostName();
std::string KernelRelease();

// "/sys/dev/block/M:m" of the filesystem holding `path`, or empty.
std::string BlockDeviceSysfs(const std::string& path);

}  // namespace mapbench
