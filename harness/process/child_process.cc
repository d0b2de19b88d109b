#include "harness/process/child_process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <exception>
#include <utility>

#include "harness/kernel/resources.h"
#include "harness/process/fork.h"

namespace mapbench {
namespace {

constexpr uint32_t kMagic = 0x5243424d;  // "MBCR"
constexpr uint32_t kMaxValues = 1 << 16;

template <typename T>
void Put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(value));
}

template <typename T>
bool Take(std::string_view& in, T* value) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(value, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

int RunChild(const ChildProcess::Body& body, int release_fd, int report_fd) {
  ChildReport report;
  try {
    ChildProcess::Link link(release_fd);
    report.values = body(link, &report.error);
    report.ok = report.error.empty();
  } catch (const std::exception& e) {
    report.error = std::string("exception: ") + e.what();
  } catch (...) {
    report.error = "unknown exception";
  }
  if (report.ok) report.error.clear();
  const bool sent = WriteAll(report_fd, EncodeChildReport(report));
  return sent && report.ok ? 0 : 1;
}

}  // namespace

std::string EncodeChildReport(const ChildReport& report) {
  std::string out;
  Put<uint32_t>(out, kMagic);
  Put<uint32_t>(out, report.ok ? 1 : 0);
  Put<uint32_t>(out, static_cast<uint32_t>(report.values.size()));
  for (double v : report.values) Put<double>(out, v);
  Put<uint32_t>(out, static_cast<uint32_t>(report.error.size()));
  out += report.error;
  return out;
}

std::optional<ChildReport> DecodeChildReport(std::string_view in) {
  uint32_t magic = 0, ok = 0, count = 0, error_size = 0;
  if (!Take(in, &magic) || magic != kMagic || !Take(in, &ok) || ok > 1 || !Take(in, &count) ||
      count > kMaxValues) {
    return std::nullopt;
  }
  ChildReport report;
  report.ok = ok == 1;
  report.values.resize(count);
  for (double& v : report.values) {
    if (!Take(in, &v)) return std::nullopt;
  }
  if (!Take(in, &error_size) || in.size() != error_size) return std::nullopt;
  report.error = std::string(in);
  return report;
}

bool ChildProcess::Link::WaitForParent() {
  char byte;
  for (;;) {
    ssize_t n = read(release_fd_, &byte, 1);
    if (n < 0 && errno == EINTR) continue;
    return n == 1;
  }
}

std::optional<ChildProcess> ChildProcess::Start(const Body& body, std::string* error) {
  int release[2], report[2];
  if (pipe2(release, O_CLOEXEC) != 0) {
    *error = SysError("pipe2");
    return std::nullopt;
  }
  if (pipe2(report, O_CLOEXEC) != 0) {
    *error = SysError("pipe2");
    close(release[0]);
    close(release[1]);
    return std::nullopt;
  }
  ForkOptions options;
  // The parent's handlers remove the scratch directory: that is the parent's job.
  options.default_signals = {SIGINT, SIGTERM, SIGHUP};
  options.close_fds = {release[1], report[0]};
  pid_t pid = ForkChild(
      options, [&] { return RunChild(body, release[0], report[1]); }, error);
  if (pid < 0) {
    for (int fd : {release[0], release[1], report[0], report[1]}) close(fd);
    return std::nullopt;
  }
  close(release[0]);
  close(report[1]);
  return ChildProcess(pid, release[1], report[0]);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      release_fd_(std::exchange(other.release_fd_, -1)),
      report_fd_(std::exchange(other.report_fd_, -1)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Reap();
    pid_ = std::exchange(other.pid_, -1);
    release_fd_ = std::exchange(other.release_fd_, -1);
    report_fd_ = std::exchange(other.report_fd_, -1);
  }
  return *this;
}

ChildProcess::~ChildProcess() { Reap(); }

void ChildProcess::Reap() {
  CloseRelease();
  if (report_fd_ >= 0) close(std::exchange(report_fd_, -1));
  if (pid_ > 0) KillAndReap(std::exchange(pid_, -1));
}

void ChildProcess::CloseRelease() {
  if (release_fd_ >= 0) close(std::exchange(release_fd_, -1));
}

bool ChildProcess::Release() {
  if (release_fd_ < 0) return false;
  // A child that has exited would raise SIGPIPE here; MSG_NOSIGNAL does not apply to
  // pipes, so block the signal for this one write.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t n;
  do {
    n = write(release_fd_, "g", 1);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EPIPE) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);  // drop the pending SIGPIPE
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return n == 1;
}

ChildReport ChildProcess::Wait() {
  ChildReport failed;
  if (pid_ <= 0) {
    failed.error = "no child to wait for";
    return failed;
  }
  CloseRelease();  // a child still waiting for the parent goes on (and sees EOF)
  std::string bytes;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(report_fd_, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  close(std::exchange(report_fd_, -1));
  int status = 0;
  pid_t got;
  do {
    got = waitpid(pid_, &status, 0);
  } while (got < 0 && errno == EINTR);
  const pid_t pid = std::exchange(pid_, -1);
  if (got != pid) {
    failed.error = SysError("waitpid(" + std::to_string(pid) + ")");
    return failed;
  }
  std::optional<ChildReport> report = DecodeChildReport(bytes);
  std::string ended;
  if (WIFSIGNALED(status)) {
    ended = std::string("child killed by signal ") + strsignal(WTERMSIG(status));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    ended = "child exited with status " + std::to_string(WEXITSTATUS(status));
  }
  if (!report) {
    failed.error = ended.empty() ? "child exited without a report" : ended + " without a report";
    return failed;
  }
  if (report->ok && !ended.empty()) {
    report->ok = false;
    report->error = ended;
  }
  return *report;
}

SelfUsage ReadSelfUsage() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return SelfUsage{static_cast<uint64_t>(usage.ru_minflt), static_cast<uint64_t>(usage.ru_majflt),
                   static_cast<uint64_t>(usage.ru_nvcsw), static_cast<uint64_t>(usage.ru_nivcsw)};
}

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace mapbench
