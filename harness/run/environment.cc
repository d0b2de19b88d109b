#include "harness/run/environment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <sstream>

#include "harness/kernel/memory_cgroup.h"
#include "harness/kernel/resources.h"
#include "harness/kernel/tlb_counts.h"

namespace mapbench {
namespace {

using nlohmann::json;

json TextOrNull(const SystemFiles& sys, const std::string& path) {
  auto line = sys.ReadLine(path);
  return line ? json(*line) : json(nullptr);
}

json ChoiceOrNull(const SystemFiles& sys, const std::string& path) {
  auto line = sys.ReadLine(path);
  return line ? json(SelectedChoice(*line)) : json(nullptr);
}

json CpuInfo(const SystemFiles& sys) {
  json cpu;
  const CpuInfoSummary info = ParseCpuInfo(sys.Read("/proc/cpuinfo").value_or(""));
  if (info.model) cpu["model"] = *info.model;
  cpu["logical_cpus"] = info.logical_cpus;
  cpu["online"] = TextOrNull(sys, "/sys/devices/system/cpu/online");
  cpu["hypervisor"] = info.hypervisor;
  cpu["scaling_governor"] = TextOrNull(sys, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  cpu["clocksource"] =
      TextOrNull(sys, "/sys/devices/system/clocksource/clocksource0/current_clocksource");
  json vulnerabilities = json::object();
  for (const std::string& name : sys.List("/sys/devices/system/cpu/vulnerabilities")) {
    vulnerabilities[name] = TextOrNull(sys, "/sys/devices/system/cpu/vulnerabilities/" + name);
  }
  cpu["vulnerabilities"] = vulnerabilities;
  return cpu;
}

json Thp(const SystemFiles& sys) {
  const std::string base = "/sys/kernel/mm/transparent_hugepage";
  json thp;
  thp["enabled"] = ChoiceOrNull(sys, base + "/enabled");
  thp["defrag"] = ChoiceOrNull(sys, base + "/defrag");
  thp["shmem_enabled"] = ChoiceOrNull(sys, base + "/shmem_enabled");
  thp["use_zero_page"] = TextOrNull(sys, base + "/use_zero_page");
  thp["hpage_pmd_size"] = TextOrNull(sys, base + "/hpage_pmd_size");
  thp["khugepaged_defrag"] = TextOrNull(sys, base + "/khugepaged/defrag");
  json mthp = json::object();
  for (const std::string& name : sys.List(base)) {
    if (name.rfind("hugepages-", 0) != 0) continue;
    mthp[name] = {{"enabled", ChoiceOrNull(sys, base + "/" + name + "/enabled")},
                  {"shmem_enabled", ChoiceOrNull(sys, base + "/" + name + "/shmem_enabled")}};
  }
  thp["sizes"] = mthp;
  return thp;
}

json Hugetlb(const SystemFiles& sys) {
  json pools = json::object();
  const std::string base = "/sys/kernel/mm/hugepages";
  for (const std::string& name : sys.List(base)) {
    json pool;
    for (const char* field : {"nr_hugepages", "free_hugepages", "resv_hugepages",
                              "surplus_hugepages", "nr_overcommit_hugepages"}) {
      auto value = ParseUnsigned(sys.ReadLine(base + "/" + name + "/" + field).value_or(""));
      pool[field] = value ? json(*value) : json(nullptr);
    }
    pools[name] = pool;
  }
  return pools;
}

json VmSysctls(const SystemFiles& sys) {
  json vm;
  for (const char* name :
       {"dirty_ratio", "dirty_background_ratio", "dirty_bytes", "dirty_background_bytes",
        "dirty_expire_centisecs", "dirty_writeback_centisecs", "swappiness", "overcommit_memory",
        "overcommit_ratio", "max_map_count", "min_free_kbytes", "zone_reclaim_mode",
        "page-cluster", "watermark_scale_factor", "compaction_proactiveness"}) {
    vm[name] = TextOrNull(sys, std::string("/proc/sys/vm/") + name);
  }
  vm["numa_balancing"] = TextOrNull(sys, "/proc/sys/kernel/numa_balancing");
  return vm;
}

json Memory(const SystemFiles& sys) {
  auto meminfo = ParseMeminfo(sys.Read("/proc/meminfo").value_or(""));
  json memory;
  for (const char* key : {"MemTotal", "MemAvailable", "SwapTotal", "Hugepagesize"}) {
    auto found = meminfo.find(key);
    memory[std::string(key) + "_bytes"] = found == meminfo.end() ? json(nullptr) : json(found->second);
  }
  memory["page_size_bytes"] = PageSize();  // the base page: every *_per_page divides by it
  memory["numa_nodes"] = 0;
  for (const std::string& name : sys.List("/sys/devices/system/node")) {
    if (name.rfind("node", 0) == 0 && name.size() > 4 && isdigit(name[4])) {
      memory["numa_nodes"] = memory["numa_nodes"].get<int>() + 1;
    }
  }
  return memory;
}

// Where TLB shootdowns are counted from, or that they cannot be (arm64 and others).
json TlbShootdowns(const SystemFiles& sys) {
  const TlbCounts counts = ReadTlbCounts(sys);
  json tlb;
  tlb["countable"] = counts.countable;
  tlb["interrupts_row"] = counts.shootdowns.has_value();
  tlb["vmstat_nr_tlb"] = counts.remote_flushes.has_value();
  tlb["note"] = counts.countable ? "" : kTlbCountNotAvailable;
  return tlb;
}

json Virtualization(const SystemFiles& sys) {
  json virt;
  const FreePageReporting reporting = ReadFreePageReporting(sys);
  virt["virtio_balloon"] = reporting.balloon;
  virt["free_page_reporting"] = reporting.active;
  virt["page_reporting_order"] = reporting.order ? json(*reporting.order) : json(nullptr);
  // Counters the after_idle rows compare before and after their idle (null: not visible).
  const HostReports reports = ReadHostReports(sys);
  virt["free_page_reports"] = reports.reports ? json(*reports.reports) : json(nullptr);
  virt["reported_kib"] = reports.reported_kib ? json(*reports.reported_kib) : json(nullptr);
  virt["note"] = reporting.active
                     ? "free memory is returned to the host: the first touch of memory that sat "
                       "free for a few seconds pays host faults (see PLATFORM notes); fault "
                       "costs must say whether they are first-touch or steady-state"
                     : "";
  return virt;
}

// The filesystem and block device under the scratch directory.
json Scratch(const SystemFiles& sys, const std::string& path) {
  json scratch;
  scratch["path"] = path;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return scratch;
  std::string dev = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  scratch["device_number"] = dev;
  if (auto mount = FindMount(sys.Read("/proc/self/mountinfo").value_or(""), dev)) {
    scratch["filesystem"] = mount->filesystem;
    scratch["source"] = mount->source;
    scratch["mount_options"] = mount->options;
  }
  // Partitions keep their queue settings on the parent disk.
  std::string block = "/sys/dev/block/" + dev;
  auto read_ahead = sys.ReadLine(block + "/queue/read_ahead_kb");
  if (!read_ahead) read_ahead = sys.ReadLine(block + "/../queue/read_ahead_kb");
  scratch["read_ahead_kb"] = read_ahead ? json(*read_ahead) : json(nullptr);
  auto scheduler = sys.ReadLine(block + "/queue/scheduler");
  if (!scheduler) scheduler = sys.ReadLine(block + "/../queue/scheduler");
  scratch["scheduler"] = scheduler ? json(SelectedChoice(*scheduler)) : json(nullptr);
  auto rotational = sys.ReadLine(block + "/queue/rotational");
  if (!rotational) rotational = sys.ReadLine(block + "/../queue/rotational");
  scratch["rotational"] = rotational ? json(*rotational) : json(nullptr);
  return scratch;
}

// The source tree's revision now, with "-dirty" for uncommitted changes; the configure
// time revision when git cannot tell (e.g. a source tarball).
std::string GitRevision() {
  const std::string git = "git -C '" + std::string(MAPBENCH_SOURCE_DIR) + "' ";
  auto run = [](const std::string& command) {
    std::string out;
    if (FILE* pipe = popen((command + " 2>/dev/null").c_str(), "r")) {
      char buffer[256];
      while (std::fgets(buffer, sizeof(buffer), pipe)) out += buffer;
      if (pclose(pipe) != 0) return std::string();
    }
    return Trim(out);
  };
  std::string revision = run(git + "rev-parse --short=12 HEAD");
  if (revision.empty()) return MAPBENCH_GIT_REVISION;
  if (!run(git + "status --porcelain --untracked-files=no").empty()) revision += "-dirty";
  return revision;
}

json Counters(const RunContext& context) {
  json counters;
  counters["requested"] = context.config.counters;
  counters["mode"] = context.counters.Mode();
  // The rows' counters_kernel (1, 0, null) and counters_user_only (a list).
  const std::string kernel = context.counters.KernelCounting();
  counters["counters_kernel"] = kernel.empty() ? json() : json(kernel == "1" ? 1 : 0);
  json user_only = json::array();
  json list = json::array();
  for (const CounterStatus& s : context.counters.statuses()) {
    if (s.user_only) user_only.push_back(s.spec.column);
    list.push_back({{"column", s.spec.column},
                    {"event", s.spec.event},
                    {"available", s.available},
                    {"hardware", s.hardware},
                    {"modes", s.modes},
                    {"kernel_refused", s.kernel_refused},
                    {"user_only", s.user_only},
                    {"detail", s.detail}});
  }
  counters["counters_user_only"] = user_only;
  counters["counters"] = list;
  return counters;
}

}  // namespace

CpuInfoSummary ParseCpuInfo(std::string_view text) {
  CpuInfoSummary info;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = Trim(line.substr(0, colon)), value = Trim(line.substr(colon + 1));
    if (key == "processor") ++info.logical_cpus;
    if (key == "model name" && !info.model) info.model = value;
    if (key == "flags" && (" " + value + " ").find(" hypervisor ") != std::string::npos) {
      info.hypervisor = true;
    }
  }
  return info;
}

std::optional<MountSummary> FindMount(std::string_view mountinfo, std::string_view device_number) {
  std::optional<MountSummary> found;
  std::istringstream mounts{std::string(mountinfo)};
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, majmin, root, mountpoint, options;
    fields >> id >> parent >> majmin >> root >> mountpoint >> options;
    if (majmin != device_number) continue;
    std::string token;
    while (fields >> token && token != "-") {
    }
    MountSummary mount;
    fields >> mount.filesystem >> mount.source;
    mount.options = options;
    found = mount;
  }
  return found;
}

std::optional<std::string> CmdlineValue(std::string_view cmdline, std::string_view key) {
  const std::string wanted = std::string(key) + "=";
  size_t at = 0;
  while ((at = cmdline.find(wanted, at)) != std::string_view::npos) {
    if (at == 0 || cmdline[at - 1] == ' ' || cmdline[at - 1] == '\t') {  // a whole word
      const std::string_view rest = cmdline.substr(at + wanted.size());
      return std::string(rest.substr(0, rest.find_first_of(" \t\n")));
    }
    at += 1;
  }
  return std::nullopt;
}

bool BalloonReportsFreePages(const std::string& feature_bits) {
  constexpr size_t kFreePageReporting = 5;  // VIRTIO_BALLOON_F_REPORTING
  return feature_bits.size() > kFreePageReporting && feature_bits[kFreePageReporting] == '1';
}

FreePageReporting ReadFreePageReporting(const SystemFiles& sys) {
  FreePageReporting reporting;
  const std::string balloon = "/sys/bus/virtio/drivers/virtio_balloon";
  for (const std::string& name : sys.List(balloon)) {
    if (name.rfind("virtio", 0) != 0) continue;
    reporting.balloon = true;
    reporting.active =
        reporting.active ||
        BalloonReportsFreePages(sys.ReadLine(balloon + "/" + name + "/features").value_or(""));
  }
  // The module parameter is what the kernel uses; the command line only its request.
  reporting.order = sys.ReadLine("/sys/module/page_reporting/parameters/page_reporting_order");
  if (!reporting.order) {
    reporting.order = CmdlineValue(sys.ReadLine("/proc/cmdline").value_or(""),
                                   "page_reporting.page_reporting_order");
  }
  return reporting;
}

std::optional<std::string> NoFreePageReporting(const FreePageReporting& reporting) {
  if (reporting.active) return std::nullopt;
  return reporting.balloon
             ? "the virtio balloon does not report free pages (no VIRTIO_BALLOON_F_REPORTING): "
               "free memory stays with this VM, so there is no first touch after idle to measure"
             : "no virtio balloon with free page reporting (not a VM that returns free memory to "
               "its host): there is no first touch after idle to measure";
}

HostReports ReadHostReports(const SystemFiles& sys) {
  HostReports reports;
  reports.reports = InterruptCountNamed(sys.Read("/proc/interrupts").value_or(""), "-reporting_vq");
  reports.reported_kib = ParseUnsigned(
      sys.ReadLine("/sys/module/page_reporting/parameters/reported_kib").value_or(""));
  return reports;
}

std::string BlockDeviceSysfs(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  return "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
}

std::string UtcTimestamp() {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc;
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string HostName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

std::string KernelRelease() {
  utsname uts;
  if (uname(&uts) != 0) return "";
  return uts.release;
}

json CaptureEnvironment(const RunContext& context, const std::string& scratch_path) {
  const SystemFiles& sys = context.system;
  json env;
  const RunConfig& config = context.config;
  utsname uts;
  uname(&uts);
  env["run"] = {{"run_id", config.run_id},
                {"start_time", UtcTimestamp()},
                {"suite", config.suite == Suite::kQuick ? "quick" : "full"},
                {"filter", config.filter},
                {"command_line", config.command_line},
                {"page_state", config.page_state},
                {"hostname", HostName()},
                {"machine_class", config.machine_class},
                {"uid", getuid()}};
  env["build"] = {{"git_revision", GitRevision()},
                  {"compiler", MAPBENCH_COMPILER},
                  {"cxx_flags", MAPBENCH_CXX_FLAGS},
                  {"build_type", MAPBENCH_BUILD_TYPE}};
  env["kernel"] = {{"release", uts.release},
                   {"version", uts.version},
                   {"machine", uts.machine},
                   {"cmdline", TextOrNull(sys, "/proc/cmdline")}};
  env["cpu"] = CpuInfo(sys);
  env["memory"] = Memory(sys);
  env["thp"] = Thp(sys);
  env["hugetlb"] = Hugetlb(sys);
  env["vm"] = VmSysctls(sys);
  env["virtualization"] = Virtualization(sys);
  env["tlb_shootdowns"] = TlbShootdowns(sys);
  env["scratch"] = Scratch(sys, scratch_path);
  env["perf"] = Counters(context);
  env["perf"]["perf_event_paranoid"] = TextOrNull(sys, "/proc/sys/kernel/perf_event_paranoid");
  env["cgroup"] = {{"memory_v1", !sys.List("/sys/fs/cgroup/memory").empty()},
                   {"v2_controllers", TextOrNull(sys, "/sys/fs/cgroup/cgroup.controllers")}};
  // Where memory-limited cases (crossover) make their cgroups, or why they cannot.
  std::string why;
  if (auto location = FindMemoryCgroup(sys.Read("/proc/self/cgroup").value_or(""),
                                       sys.Read("/proc/self/mountinfo").value_or(""), &why)) {
    env["cgroup"]["memory_parent"] = location->dir;
    env["cgroup"]["memory_version"] = location->v2 ? "v2" : "v1";
    env["cgroup"]["memory_limits_usable"] = geteuid() == 0;
  } else {
    env["cgroup"]["memory_limits_usable"] = false;
    env["cgroup"]["memory_unusable_because"] = why;
  }
  env["tunings_applied"] = json::array();
  return env;
}

std::string JsonText(const nlohmann::json& value) {
  return value.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string WriteJsonFile(const std::string& path, const nlohmann::json& value) {
  std::string temporary = path + ".tmp";
  FILE* out = std::fopen(temporary.c_str(), "w");
  if (out == nullptr) return SysError("fopen(" + temporary + ")");
  std::string text = JsonText(value);
  bool ok = std::fwrite(text.data(), 1, text.size(), out) == text.size();
  ok = std::fflush(out) == 0 && ok;
  ok = fsync(fileno(out)) == 0 && ok;
  int saved = errno;
  std::fclose(out);
  if (!ok) {
    unlink(temporary.c_str());
    return SysError("write(" + temporary + ")", saved);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) return SysError("rename(" + path + ")");
  return "";
}

}  // namespace mapbench
