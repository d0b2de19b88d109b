#include "harness/measure/counters.h"

#include <perfmon/pfmlib_perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

#include "harness/kernel/system_files.h"

namespace mapbench {
namespace {

bool InitializePfm(std::string* error) {
  static int status = pfm_initialize();
  if (status != PFM_SUCCESS && error != nullptr) {
    *error = std::string("pfm_initialize: ") + pfm_strerror(status);
  }
  return status == PFM_SUCCESS;
}

bool IsHardware(const perf_event_attr& attr) {
  return attr.type != PERF_TYPE_SOFTWARE && attr.type != PERF_TYPE_TRACEPOINT &&
         attr.type != PERF_TYPE_BREAKPOINT;
}

constexpr uint64_t kReadFormat =
    PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;

// Opens one event into a group (or as the leader when group_fd is -1).
int OpenMember(const PerfOpenFn& open, perf_event_attr attr, int group_fd) {
  attr.size = sizeof(attr);
  attr.read_format = kReadFormat;
  attr.disabled = group_fd < 0 ? 1 : 0;  // members follow their leader
  attr.inherit = 0;
  return open(&attr, 0, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
}

bool IsRefusal(int error) { return error == EACCES || error == EPERM; }

std::string Paranoid(std::optional<int> paranoid) {
  std::string text = "perf_event_paranoid";
  if (paranoid) text += '=' + std::to_string(*paranoid);
  return text;
}

std::string OpenFailure(int error, bool hardware, std::optional<int> paranoid) {
  switch (error) {
    case ENOENT:
    case ENODEV:
    case EOPNOTSUPP:
      return hardware ? "no PMU support for this event here (" + std::string(strerror(error)) + ")"
                      : std::string("not supported: ") + strerror(error);
    case EACCES:
    case EPERM:
      return "refused by " + Paranoid(paranoid) + " (" + std::string(strerror(error)) + ")";
    default:
      return std::string("perf_event_open: ") + strerror(error);
  }
}

std::string KernelRefusal(std::optional<int> paranoid) {
  if (paranoid && *paranoid <= 1) {
    return "kernel counting refused although " + Paranoid(paranoid) +
           " allows it (a security policy?)";
  }
  return "kernel counting refused by " + Paranoid(paranoid) + ": needs <=1 or CAP_PERFMON";
}

// Software events perf filters by the kernel's own registers where they happen: with
// exclude_kernel they never count (context-switches:u always reads 0).
bool OccursInKernelOnly(const perf_event_attr& attr) {
  if (attr.type == PERF_TYPE_TRACEPOINT) return true;
  return attr.type == PERF_TYPE_SOFTWARE && (attr.config == PERF_COUNT_SW_CONTEXT_SWITCHES ||
                                             attr.config == PERF_COUNT_SW_CPU_MIGRATIONS);
}

// Fault events are counted with the faulting context's registers: user mode only leaves
// out the faults the kernel takes on the process's memory (copy_to_user in read()).
bool IsFaultEvent(const perf_event_attr& attr) {
  return attr.type == PERF_TYPE_SOFTWARE && (attr.config == PERF_COUNT_SW_PAGE_FAULTS ||
                                             attr.config == PERF_COUNT_SW_PAGE_FAULTS_MIN ||
                                             attr.config == PERF_COUNT_SW_PAGE_FAULTS_MAJ);
}

std::string Modes(const perf_event_attr& attr) {
  const bool user = !attr.exclude_user && !OccursInKernelOnly(attr);
  const bool kernel = !attr.exclude_kernel;
  return user && kernel ? "user+kernel" : user ? "user" : kernel ? "kernel" : "";
}

// Opens `attr` into `leader`'s group (-1: as the leader) for Resolve and says why not in
// status.detail. When kernel-mode counting is refused, an event that counts user mode
// too keeps that part (`attr` becomes user-only, status.user_only); an event that counts
// only in kernel mode stays unopened: an empty cell, never a user-mode 0.
int ProbeOpen(const PerfOpenFn& open, perf_event_attr& attr, int leader,
              std::optional<int> paranoid, CounterStatus& status) {
  int fd = OpenMember(open, attr, leader);
  if (fd >= 0) return fd;
  int failure = errno;
  if (!IsRefusal(failure) || attr.exclude_kernel) {
    status.detail = OpenFailure(failure, status.hardware, paranoid);
    return -1;
  }
  status.kernel_refused = true;
  perf_event_attr user = attr;
  user.exclude_kernel = 1;
  user.exclude_hv = 1;
  if (!Modes(user).empty()) {
    fd = OpenMember(open, user, leader);
    failure = fd < 0 ? errno : 0;
    if (fd >= 0) {
      attr = user;
      status.user_only = true;
      status.detail = "user mode only: " + KernelRefusal(paranoid);
      if (IsFaultEvent(attr)) {
        status.detail +=
            "; faults taken inside the kernel (copy_to_user in read()) are not counted";
      }
      return fd;
    }
  } else {
    // Whatever else stops it here (no PMU) shows when the event is opened for user
    // mode alone, then closed.
    user.exclude_user = 0;
    UniqueFd check(OpenMember(open, user, -1));
    failure = check.valid() ? 0 : errno;
  }
  if (failure == 0) {
    status.detail = KernelRefusal(paranoid);
    if (OccursInKernelOnly(attr)) {
      status.detail += " (the event occurs in kernel mode only: a user-mode count is always 0)";
    }
  } else if (IsRefusal(failure)) {  // user mode refused too (perf_event_paranoid 3)
    status.detail = OpenFailure(failure, status.hardware, paranoid);
  } else {
    status.detail =
        OpenFailure(failure, status.hardware, paranoid) + "; " + KernelRefusal(paranoid);
  }
  return -1;
}

}  // namespace

std::vector<CounterSpec> DefaultCounters() {
  return {
      {"cycles_user", "cycles:u"},
      {"cycles_kernel", "cycles:k"},
      {"instructions_user", "instructions:u"},
      {"instructions_kernel", "instructions:k"},
      {"dtlb_load_misses", "dTLB-load-misses"},
      {"minor_faults", "minor-faults"},
      {"major_faults", "major-faults"},
      {"context_switches", "context-switches"},
  };
}

std::vector<CounterSpec> SoftwareFallbackCounters() {
  return {
      {"minor_faults", "minor-faults"},
      {"major_faults", "major-faults"},
      {"context_switches", "context-switches"},
  };
}

std::string ColumnStemFor(const std::string& event) {
  std::string stem;
  for (char c : event) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      stem += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!stem.empty() && stem.back() != '_') {
      stem += '_';
    }
  }
  while (!stem.empty() && stem.back() == '_') stem.pop_back();
  return stem;
}

std::optional<std::vector<CounterSpec>> ParseCounterList(const std::string& list,
                                                         std::string* error) {
  if (list == "default") return DefaultCounters();
  if (list == "none") return std::vector<CounterSpec>{};
  std::vector<CounterSpec> specs;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
    start = comma == std::string::npos ? list.size() + 1 : comma + 1;
    if (item.empty()) {
      *error = "--counters: empty entry in '" + list + "' (use 'default', 'none' or a comma list)";
      return std::nullopt;
    }
    CounterSpec spec;
    size_t equals = item.find('=');
    if (equals != std::string::npos) {
      spec.column = ColumnStemFor(item.substr(0, equals));
      spec.event = item.substr(equals + 1);
    } else {
      spec.event = item;
      spec.column = ColumnStemFor(item);
    }
    if (spec.column.empty() || spec.event.empty()) {
      *error = "--counters: cannot use '" + item + "' (expected EVENT or COLUMN=EVENT)";
      return std::nullopt;
    }
    for (const CounterSpec& other : specs) {
      if (other.column == spec.column) {
        *error = "--counters: two counters would share the column '" + spec.column + "'";
        return std::nullopt;
      }
    }
    specs.push_back(spec);
  }
  return specs;
}

PerfOpenFn RealPerfOpen() {
  return [](perf_event_attr* attr, pid_t pid, int cpu, int group_fd, unsigned long flags) {
    return static_cast<int>(syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags));
  };
}

std::optional<perf_event_attr> EncodeEvent(const std::string& event, std::string* error) {
  if (!InitializePfm(error)) return std::nullopt;
  perf_event_attr attr;
  std::memset(&attr, 0, sizeof(attr));
  pfm_perf_encode_arg_t arg;
  std::memset(&arg, 0, sizeof(arg));
  arg.attr = &attr;
  arg.size = sizeof(arg);
  int status = pfm_get_os_event_encoding(event.c_str(), PFM_PLM0 | PFM_PLM3,
                                         PFM_OS_PERF_EVENT_EXT, &arg);
  if (status != PFM_SUCCESS) {
    *error = "unknown counter '" + event + "' (libpfm4: " + pfm_strerror(status) +
             "); list the valid names with: mapbench --list_counters";
    return std::nullopt;
  }
  return attr;
}

std::vector<std::string> ListKnownEvents() {
  std::vector<std::string> names;
  std::string ignored;
  if (!InitializePfm(&ignored)) return names;
  pfm_pmu_info_t pmu;
  pfm_event_info_t event;
  for (int p = PFM_PMU_NONE; p < PFM_PMU_MAX; ++p) {
    std::memset(&pmu, 0, sizeof(pmu));
    pmu.size = sizeof(pmu);
    if (pfm_get_pmu_info(static_cast<pfm_pmu_t>(p), &pmu) != PFM_SUCCESS || !pmu.is_present) {
      continue;
    }
    for (int i = pmu.first_event; i != -1; i = pfm_get_event_next(i)) {
      std::memset(&event, 0, sizeof(event));
      event.size = sizeof(event);
      if (pfm_get_event_info(i, PFM_OS_NONE, &event) == PFM_SUCCESS) {
        names.push_back(std::string(pmu.name) + "::" + event.name);
      }
    }
  }
  return names;
}

std::optional<ScaledGroup> ScaleGroupRead(const uint64_t* words, size_t word_count) {
  if (word_count < 3 || words[0] != word_count - 3) return std::nullopt;
  const uint64_t enabled = words[1];
  const uint64_t running = words[2];
  ScaledGroup group;
  group.run_fraction = enabled == 0 ? 0 : static_cast<double>(running) / enabled;
  for (size_t i = 0; i < words[0]; ++i) {
    // Never scheduled: the counts mean nothing, so report none rather than zero.
    if (running == 0) return group;
    group.values.push_back(static_cast<double>(words[3 + i]) * enabled / running);
  }
  return group;
}

std::optional<int> ParseParanoid(std::string_view text) {
  std::string trimmed = Trim(text);
  const bool negative = !trimmed.empty() && trimmed[0] == '-';
  std::optional<uint64_t> value = ParseUnsigned(std::string_view(trimmed).substr(negative ? 1 : 0));
  if (!value || *value > 1000) return std::nullopt;
  return negative ? -static_cast<int>(*value) : static_cast<int>(*value);
}

CounterSet CounterSet::Resolve(const std::vector<CounterSpec>& requested, const PerfOpenFn& open,
                               std::vector<std::string>* warnings, std::optional<int> paranoid) {
  CounterSet set;
  set.open_ = open;
  // Probe with the same grouping the runs use, so an event that cannot join its group
  // is found now rather than in the middle of a run.
  UniqueFd leaders[2];
  std::vector<UniqueFd> members;
  auto probe = [&](const CounterSpec& spec) {
    CounterStatus status;
    status.spec = spec;
    std::string error;
    std::optional<perf_event_attr> attr = EncodeEvent(spec.event, &error);
    perf_event_attr encoded{};
    if (attr) {
      encoded = *attr;
      status.hardware = IsHardware(encoded);
      UniqueFd& leader = leaders[status.hardware ? 0 : 1];
      int fd = ProbeOpen(open, encoded, leader.get(), paranoid, status);
      if (fd >= 0) {
        status.available = true;
        status.modes = Modes(encoded);
        if (status.detail.empty()) status.detail = "ok";
        if (!leader.valid()) {
          leader.reset(fd);
        } else {
          members.emplace_back(fd);
        }
      }
    } else {
      status.detail = error;
    }
    if ((!status.available || status.user_only) && warnings != nullptr) {
      warnings->push_back("counter " + spec.column + " (" + spec.event + "): " + status.detail);
    }
    set.statuses_.push_back(status);
    set.attrs_.push_back(encoded);  // as opened: user mode only where kernel was refused
  };
  for (const CounterSpec& spec : requested) probe(spec);
  bool any = std::any_of(set.statuses_.begin(), set.statuses_.end(),
                         [](const CounterStatus& s) { return s.available; });
  if (!requested.empty() && !any) {
    if (warnings != nullptr) {
      warnings->push_back("no requested counter works here; falling back to software counters");
    }
    for (const CounterSpec& spec : SoftwareFallbackCounters()) {
      bool present = std::any_of(set.statuses_.begin(), set.statuses_.end(),
                                 [&](const CounterStatus& s) { return s.spec.column == spec.column; });
      if (!present) probe(spec);
    }
  }
  return set;
}

std::string CounterSet::Mode() const {
  bool hardware = false, software = false;
  for (const CounterStatus& s : statuses_) {
    if (!s.available) continue;
    (s.hardware ? hardware : software) = true;
  }
  if (hardware && software) return "hardware+software";
  if (hardware) return "hardware";
  if (software) return "software";
  return "none";
}

std::string CounterSet::KernelCounting() const {
  bool any = false, refused = false;
  for (const CounterStatus& s : statuses_) {
    any |= s.available;
    refused |= s.kernel_refused;
  }
  if (!any) return "";
  return refused ? "0" : "1";
}

std::string CounterSet::UserOnlyColumns() const {
  std::string columns;
  for (const CounterStatus& s : statuses_) {
    if (s.user_only) columns += (columns.empty() ? "" : " ") + s.spec.column;
  }
  return columns;
}

CounterGroup::CounterGroup(const CounterSet& set) : set_(set) {
  for (size_t i = 0; i < set.statuses_.size(); ++i) {
    const CounterStatus& status = set.statuses_[i];
    if (!status.available) continue;
    Group& group = status.hardware ? hardware_ : software_;
    int fd = OpenMember(set.open_, set.attrs_[i], group.leader.get());
    if (fd < 0) continue;  // an event that probed fine but fails now: its cell stays empty
    if (!group.leader.valid()) {
      group.leader.reset(fd);
    } else {
      group.members.emplace_back(fd);
    }
    group.status_index.push_back(i);
  }
}

void CounterGroup::Ioctl(unsigned long request) const {
  for (const Group* group : {&hardware_, &software_}) {
    if (group->leader.valid()) ioctl(group->leader.get(), request, PERF_IOC_FLAG_GROUP);
  }
}

void CounterGroup::Reset() { Ioctl(PERF_EVENT_IOC_RESET); }
void CounterGroup::Enable() { Ioctl(PERF_EVENT_IOC_ENABLE); }
void CounterGroup::Disable() { Ioctl(PERF_EVENT_IOC_DISABLE); }

CounterGroup::Readings CounterGroup::Read() const {
  Readings readings;
  readings.values.resize(set_.statuses_.size());
  for (const Group* group : {&hardware_, &software_}) {
    if (!group->leader.valid()) continue;
    std::vector<uint64_t> words(3 + group->status_index.size());
    ssize_t got = read(group->leader.get(), words.data(), words.size() * sizeof(uint64_t));
    if (got != static_cast<ssize_t>(words.size() * sizeof(uint64_t))) continue;
    std::optional<ScaledGroup> scaled = ScaleGroupRead(words.data(), words.size());
    if (!scaled) continue;
    readings.min_run_fraction = std::min(readings.min_run_fraction, scaled->run_fraction);
    for (size_t k = 0; k < scaled->values.size(); ++k) {
      readings.values[group->status_index[k]] = scaled->values[k];
      readings.any = true;
    }
  }
  if (!readings.any) readings.min_run_fraction = 0;
  return readings;
}

}  // namespace mapbench
