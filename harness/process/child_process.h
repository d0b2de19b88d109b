// Runs work in a forked child and brings its measurements back through a pipe. The
// harness's counters count the calling thread only (inherit=0), so where a child's
// own work is the measurement (copy-on-write after fork) the child times and counts
// itself (clock, getrusage) and reports the numbers here.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mapbench {

// What a child reports: its values, or why it could not produce them.
struct ChildReport {
  bool ok = false;
  std::vector<double> values;
  std::string error;
};
// The pipe format, kept apart so tests can check it and its corruption handling.
std::string EncodeChildReport(const ChildReport& report);
std::optional<ChildReport> DecodeChildReport(std::string_view bytes);

class ChildProcess {
 public:
  // The child's end: lets the body wait until the parent has done its part.
  class Link {
   public:
    explicit Link(int release_fd) : release_fd_(release_fd) {}
    // Blocks until the parent calls Release() (true) or closes its end (false).
    bool WaitForParent();

   private:
    int release_fd_;
  };
  // The child's work: returns its values, or sets *error.
  using Body = std::function<std::vector<double>(Link& link, std::string* error)>;

  // Forks (the caller must be single-threaded, as benchmark bodies are). The child runs
  // `body` with SIGINT/SIGTERM/SIGHUP at their defaults and leaves with _exit, so no
  // atexit handler or static destructor of the parent (scratch cleanup) runs twice.
  static std::optional<ChildProcess> Start(const Body& body, std::string* error);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // a child not waited for is killed and reaped

  pid_t pid() const { return pid_; }
  // Lets the child past Link::WaitForParent(). False if the child is gone.
  bool Release();
  // Releases the child if needed, reads its report and reaps it. A child that dies
  // or exits without a report gives ok=false and how it ended.
  ChildReport Wait();

 private:
  ChildProcess(pid_t pid, int release_fd, int report_fd)
      : pid_(pid), release_fd_(release_fd), report_fd_(report_fd) {}
  void CloseRelease();
  void Reap();  // kills and reaps a child not waited for
  pid_t pid_ = -1;
  int release_fd_ = -1;  // parent writes one byte to release the child
  int report_fd_ = -1;   // parent reads the child's report until EOF
};

// Counts a process can take of itself (getrusage RUSAGE_SELF): a child's faults since
// its fork, for instance.
struct SelfUsage {
  uint64_t minor_faults = 0;
  uint64_t major_faults = 0;
  uint64_t voluntary_switches = 0;
  uint64_t involuntary_switches = 0;
};
SelfUsage ReadSelfUsage();

uint64_t MonotonicNs();

}  // namespace mapbench
