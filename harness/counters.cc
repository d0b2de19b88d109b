#include "harness/counters.h"

#include <perfmon/pfmlib_perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>

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

std::string OpenFailure(int error, bool hardware) {
  switch (error) {
    case ENOENT:
    case ENODEV:
    case EOPNOTSUPP:
      return hardware ? "no PMU support for this event here (" + std::string(strerror(error)) + ")"
                      : std::string("not supported: ") + strerror(error);
    case EACCES:
    case EPERM:
      return "refused by perf_event_paranoid (" + std::string(strerror(error)) + ")";
    default:
      return std::string("perf_event_open: ") + strerror(error);
  }
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

CounterSet CounterSet::Resolve(const std::vector<CounterSpec>& requested, const PerfOpenFn& open,
                               std::vector<std::string>* warnings) {
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
      int fd = OpenMember(open, encoded, leader.get());
      if (fd < 0 && (errno == EACCES || errno == EPERM) && !encoded.exclude_kernel) {
        encoded.exclude_kernel = 1;
        encoded.exclude_hv = 1;
        fd = OpenMember(open, encoded, leader.get());
        status.user_only = fd >= 0;
      }
      if (fd >= 0) {
        status.available = true;
        status.detail = status.user_only ? "user mode only: kernel counting refused" : "ok";
        if (!leader.valid()) {
          leader.reset(fd);
        } else {
          members.emplace_back(fd);
        }
      } else {
        status.detail = OpenFailure(errno, status.hardware);
      }
    } else {
      status.detail = error;
    }
    if (!status.available && warnings != nullptr) {
      warnings->push_back("counter " + spec.column + " (" + spec.event + "): " + status.detail);
    }
    set.statuses_.push_back(status);
    set.attrs_.push_back(encoded);
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

CounterGroup::CounterGroup(const CounterSet& set) : set_(set) {
  for (size_t i = 0; i < set.statuses_.size(); ++i) {
    const CounterStatus& status = set.statuses_[i];
    if (!status.available) continue;
    perf_event_attr attr = set.attrs_[i];
    if (status.user_only) {
      attr.exclude_kernel = 1;
      attr.exclude_hv = 1;
    }
    Group& group = status.hardware ? hardware_ : software_;
    int fd = OpenMember(set.open_, attr, group.leader.get());
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
