#include "harness/kernel/memory_cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sstream>
#include <thread>

#include "harness/kernel/resources.h"

namespace mapbench {
namespace {

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool Contains(const std::vector<std::string>& items, std::string_view item) {
  for (const std::string& i : items) {
    if (i == item) return true;
  }
  return false;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const std::string_view digits = text.substr(i + 1, 3);
      if (digits.size() == 3 && digits.find_first_not_of("01234567") == std::string_view::npos) {
        out.push_back(static_cast<char>(std::stoi(std::string(digits), nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

struct Mount {
  std::string root, point, fstype;
  std::vector<std::string> super_options;
};

std::vector<Mount> ParseMountinfo(std::string_view text) {
  std::vector<Mount> mounts;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string id, parent, device, root, point, source, options;
    Mount mount;
    if (!(head >> id >> parent >> device >> root >> point)) continue;
    if (!(tail >> mount.fstype >> source >> options)) continue;
    mount.root = Unescape(root);
    mount.point = Unescape(point);
    mount.super_options = Split(options, ',');
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

// The directory of cgroup `path` in a hierarchy mounted at `mount` (whose root may be
// a sub-directory of the hierarchy), or empty when the mount does not show it.
std::string DirectoryOf(const Mount& mount, const std::string& path) {
  if (mount.root == "/") return mount.point + (path == "/" ? "" : path);
  if (path == mount.root) return mount.point;
  if (path.rfind(mount.root + "/", 0) == 0) return mount.point + path.substr(mount.root.size());
  return "";
}

// Set by PrepareCaseCgroups; plain arrays so the signal handler can use them.
char prepared_parent[4096];
char prepared_case_dir[4096];
pid_t prepared_runner = 0;
bool prepared_v2 = false;

std::optional<CgroupLocation> Prepared() {
  if (prepared_parent[0] == '\0') return std::nullopt;
  return CgroupLocation{prepared_parent, prepared_v2};
}

bool WriteText(const std::string& path, const std::string& text, std::string* why) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    *why = SysError("write " + text + " to " + path);
    return false;
  }
  return true;
}

std::optional<uint64_t> ReadNumber(const std::string& path) {
  std::optional<std::string> text = SystemFiles().ReadLine(path);
  return text ? ParseUnsigned(*text) : std::nullopt;
}

// rmdir can fail with EBUSY for a moment after the last task left.
bool RemoveDir(const std::string& dir, std::string* why) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *why = SysError("rmdir(" + dir + ")");
  return false;
}

}  // namespace

std::optional<CgroupLocation> FindMemoryCgroup(std::string_view proc_self_cgroup,
                                               std::string_view mountinfo, std::string* why) {
  std::optional<std::string> v1_path, v2_path;
  std::istringstream in{std::string(proc_self_cgroup)};
  std::string line;
  while (std::getline(in, line)) {
    // "hierarchy-id:controller-list:path"; the path may itself hold ':'.
    const size_t first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (path.empty() || path[0] != '/') continue;
    if (Contains(Split(controllers, ','), "memory")) v1_path = path;
    if (line.compare(0, first, "0") == 0 && controllers.empty()) v2_path = path;
  }
  const std::vector<Mount> mounts = ParseMountinfo(mountinfo);
  if (v1_path) {
    for (const Mount& mount : mounts) {
      if (mount.fstype != "cgroup" || !Contains(mount.super_options, "memory")) continue;
      if (std::string dir = DirectoryOf(mount, *v1_path); !dir.empty()) return CgroupLocation{dir, false};
    }
    *why = "this process's memory cgroup " + *v1_path + " is not visible in any cgroup v1 mount";
    return std::nullopt;
  }
  if (v2_path) {
    for (const Mount& mount : mounts) {
      if (mount.fstype != "cgroup2") continue;
      if (std::string dir = DirectoryOf(mount, *v2_path); !dir.empty()) return CgroupLocation{dir, true};
    }
  }
  *why = "no memory cgroup controller is mounted (neither cgroup v1 memory nor cgroup v2)";
  return std::nullopt;
}

std::string CaseCgroupName(pid_t runner) { return "mapbench-" + std::to_string(runner); }

std::optional<pid_t> CaseCgroupRunner(std::string_view name) {
  constexpr std::string_view prefix = "mapbench-";
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::optional<uint64_t> pid = ParseUnsigned(name.substr(prefix.size()));
  if (!pid || *pid == 0 || *pid > 4194304) return std::nullopt;  // PID_MAX_LIMIT
  return static_cast<pid_t>(*pid);
}

void PrepareCaseCgroups(const SystemFiles& system) {
  std::string why;
  std::optional<CgroupLocation> location =
      FindMemoryCgroup(system.Read("/proc/self/cgroup").value_or(""),
                       system.Read("/proc/self/mountinfo").value_or(""), &why);
  prepared_runner = getpid();
  if (!location) return;
  const std::string dir = location->dir + "/" + CaseCgroupName(prepared_runner);
  if (dir.size() >= sizeof(prepared_case_dir)) return;
  std::snprintf(prepared_parent, sizeof(prepared_parent), "%s", location->dir.c_str());
  std::snprintf(prepared_case_dir, sizeof(prepared_case_dir), "%s", dir.c_str());
  prepared_v2 = location->v2;
}

std::unique_ptr<MemoryLimit> MemoryLimit::Enter(uint64_t limit_bytes, std::string* why) {
  if (!Prepared()) PrepareCaseCgroups(SystemFiles());
  std::optional<CgroupLocation> location = Prepared();
  if (!location) {
    FindMemoryCgroup(SystemFiles().Read("/proc/self/cgroup").value_or(""),
                     SystemFiles().Read("/proc/self/mountinfo").value_or(""), why);
    return nullptr;
  }
  if (location->v2) {
    std::string delegated = SystemFiles().ReadLine(location->dir + "/cgroup.subtree_control").value_or("");
    if (!Contains(Split(delegated, ' '), "memory")) {
      *why = "cgroup v2: the memory controller is not enabled for children of " + location->dir +
             " (its cgroup.subtree_control lacks memory)";
      return nullptr;
    }
  }
  const std::string dir = prepared_case_dir;
  int made = mkdir(dir.c_str(), 0755);
  if (made != 0 && errno == EEXIST) {
    rmdir(dir.c_str());  // an empty leftover of an earlier case of this runner
    made = mkdir(dir.c_str(), 0755);
  }
  if (made != 0) {
    const int error = errno;
    *why = (error == EACCES || error == EPERM || error == EROFS ? "making a memory cgroup needs root: " : "") +
           SysError("mkdir(" + dir + ")", error);
    return nullptr;
  }
  std::unique_ptr<MemoryLimit> limit(new MemoryLimit(*location, dir, limit_bytes));
  const std::string limit_file = location->v2 ? "/memory.max" : "/memory.limit_in_bytes";
  if (!WriteText(dir + limit_file, std::to_string(limit_bytes), why) ||
      !WriteText(dir + "/cgroup.procs", std::to_string(getpid()), why)) {
    return nullptr;  // the destructor removes the directory
  }
  return limit;
}

MemoryLimit::~MemoryLimit() {
  std::string why;
  WriteText(location_.dir + "/cgroup.procs", std::to_string(getpid()), &why);
  RemoveDir(dir_, &why);  // whatever remains, the runner removes after the case
}

std::optional<uint64_t> MemoryLimit::UsageBytes() const {
  return ReadNumber(dir_ + (location_.v2 ? "/memory.current" : "/memory.usage_in_bytes"));
}

std::optional<uint64_t> MemoryLimit::PeakBytes() const {
  return ReadNumber(dir_ + (location_.v2 ? "/memory.peak" : "/memory.max_usage_in_bytes"));
}

std::map<std::string, uint64_t> MemoryLimit::Stat() const {
  std::map<std::string, uint64_t> all = ParseKeyValues(SystemFiles().Read(dir_ + "/memory.stat").value_or(""));
  std::map<std::string, uint64_t> picked;
  if (auto it = all.find("pgmajfault"); it != all.end()) picked["pgmajfault"] = it->second;
  if (auto it = all.find(location_.v2 ? "pgsteal" : "pgpgout"); it != all.end()) picked["evicted_pages"] = it->second;
  return picked;
}

std::vector<std::string> RemoveCaseCgroups(std::optional<pid_t> runner) {
  std::vector<std::string> failures;
  if (!Prepared()) PrepareCaseCgroups(SystemFiles());
  std::optional<CgroupLocation> location = Prepared();
  if (!location) return failures;
  for (const std::string& name : SystemFiles().List(location->dir)) {
    std::optional<pid_t> owner = CaseCgroupRunner(name);
    if (!owner) continue;
    if (runner ? *owner != *runner : (kill(*owner, 0) == 0 || errno != ESRCH)) continue;
    const std::string dir = location->dir + "/" + name;
    std::string why;
    std::istringstream tasks{SystemFiles().Read(dir + "/cgroup.procs").value_or("")};
    for (std::string pid; tasks >> pid;) WriteText(location->dir + "/cgroup.procs", pid, &why);
    if (!RemoveDir(dir, &why)) failures.push_back(why);
  }
  return failures;
}

void RemoveCaseCgroupFromSignalHandler() {
  if (prepared_case_dir[0] != '\0') rmdir(prepared_case_dir);
}

}  // namespace mapbench
