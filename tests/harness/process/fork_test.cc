#include "harness/process/fork.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>

namespace mapbench {
namespace {

// The child's exit code, or -1 when it did not exit normally.
int ExitCode(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void Handler(int) {}

TEST(ForkChild, ChildExitsWithTheBodysValue) {
  std::string error;
  pid_t pid = ForkChild(ForkOptions{}, [] { return 7; }, &error);
  ASSERT_GT(pid, 0) << error;
  EXPECT_EQ(ExitCode(pid), 7);
}

TEST(ForkChild, DefaultSignalsAreResetInTheChildOnly) {
  struct sigaction action {}, old {};
  action.sa_handler = Handler;
  sigaction(SIGHUP, &action, &old);
  auto handler_is_default = [] {
    struct sigaction now {};
    sigaction(SIGHUP, nullptr, &now);
    return now.sa_handler == SIG_DFL ? 1 : 0;
  };
  std::string error;
  ForkOptions reset;
  reset.default_signals = {SIGHUP};
  pid_t pid = ForkChild(reset, handler_is_default, &error);
  ASSERT_GT(pid, 0) << error;
  EXPECT_EQ(ExitCode(pid), 1);
  pid = ForkChild(ForkOptions{}, handler_is_default, &error);
  ASSERT_GT(pid, 0) << error;
  EXPECT_EQ(ExitCode(pid), 0);  // inherited unless asked
  EXPECT_EQ(handler_is_default(), 0);
  sigaction(SIGHUP, &old, nullptr);
}

TEST(ForkChild, ClosesWhatItIsToldToClose) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto open_in_child = [&] {
    return (fcntl(fds[0], F_GETFD) >= 0 ? 1 : 0) + (fcntl(fds[1], F_GETFD) >= 0 ? 2 : 0);
  };
  std::string error;
  ForkOptions close_read;
  close_read.close_fds = {fds[0]};
  pid_t pid = ForkChild(close_read, open_in_child, &error);
  ASSERT_GT(pid, 0) << error;
  EXPECT_EQ(ExitCode(pid), 2);
  ForkOptions keep_write;
  keep_write.keep_only_fds = std::vector<int>{fds[1]};
  pid = ForkChild(keep_write, open_in_child, &error);
  ASSERT_GT(pid, 0) << error;
  EXPECT_EQ(ExitCode(pid), 2);
  ForkOptions keep_none;
  keep_none.keep_only_fds = std::vector<int>{};
  pid = ForkChild(keep_none, open_in_child, &error);
  ASSERT_GT(pid, 0) << error;
  EXPECT_EQ(ExitCode(pid), 0);
  EXPECT_EQ(open_in_child(), 3);  // the parent keeps both
  close(fds[0]);
  close(fds[1]);
}

TEST(ForkChild, AnExceptionBecomesTheGivenExitCode) {
  ForkOptions options;
  options.exception_exit_code = 125;
  std::string error;
  pid_t pid = ForkChild(
      options, []() -> int { throw std::runtime_error("no"); }, &error);
  ASSERT_GT(pid, 0) << error;
  EXPECT_EQ(ExitCode(pid), 125);
}

TEST(ForkChild, PublishesThePidAndDiesWithParentWhenAsked) {
  std::atomic<pid_t> published{0};
  ForkOptions options;
  options.publish_pid = &published;
  options.die_with_parent_exit_code = 124;
  options.flush_stdio = true;
  std::string error;
  pid_t pid = ForkChild(options, [] { return 0; }, &error);
  ASSERT_GT(pid, 0) << error;
  EXPECT_EQ(published.load(), pid);
  EXPECT_EQ(ExitCode(pid), 0);  // the parent is alive: the body ran
  // The stop signals are unblocked again in the parent.
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGINT));
}

TEST(KillAndReap, LeavesNoChild) {
  std::string error;
  pid_t pid = ForkChild(ForkOptions{}, [] { pause(); return 0; }, &error);
  ASSERT_GT(pid, 0) << error;
  KillAndReap(pid);
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

}  // namespace
}  // namespace mapbench
