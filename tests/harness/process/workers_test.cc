#include "harness/process/workers.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace mapbench {
namespace {

// No child of this test process may be left unreaped.
void ExpectReaped(pid_t pid) {
  errno = 0;
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// Serves "add one" requests until the parent closes the channel.
int AddOneServer(int channel) {
  for (;;) {
    uint64_t value;
    bool closed = false;
    std::string error = ReceiveAll(channel, &value, sizeof(value), -1, &closed);
    if (closed) return 0;
    if (!error.empty()) return 2;
    ++value;
    if (!SendAll(channel, &value, sizeof(value)).empty()) return 3;
  }
}

TEST(ForkedWorker, ServesRequestsAndExitsCleanly) {
  std::string error;
  auto worker = ForkedWorker::Start(AddOneServer, {}, &error);
  ASSERT_TRUE(worker) << error;
  for (uint64_t i = 0; i < 100; ++i) {
    ASSERT_EQ(worker->Send(i), "");
    uint64_t reply = 0;
    ASSERT_EQ(worker->Receive(&reply, 5000), "");
    EXPECT_EQ(reply, i + 1);
  }
  const pid_t pid = worker->pid();
  EXPECT_EQ(worker->Finish(5000), "");
  ExpectReaped(pid);
}

TEST(ForkedWorker, ExitStatusIsReported) {
  std::string error;
  auto worker = ForkedWorker::Start([](int) { return 3; }, {}, &error);
  ASSERT_TRUE(worker) << error;
  EXPECT_EQ(worker->Finish(5000), "exited with status 3");
  ExpectReaped(worker->pid());
}

TEST(ForkedWorker, ThrowingBodyExitsWith125) {
  std::string error;
  auto worker = ForkedWorker::Start([](int) -> int { throw 1; }, {}, &error);
  ASSERT_TRUE(worker) << error;
  EXPECT_EQ(worker->Finish(5000), "exited with status 125");
}

TEST(ForkedWorker, CrashedChildIsAReceiveErrorSayingHowItDied) {
  std::string error;
  auto worker = ForkedWorker::Start(
      [](int) {
        // The default action, so the child dies of the signal itself: a sanitizer
        // runtime installs its own SIGSEGV handler, which would report and exit instead.
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        return 0;
      },
      {}, &error);
  ASSERT_TRUE(worker) << error;
  uint64_t reply;
  std::string failure = worker->Receive(&reply, 5000);
  EXPECT_NE(failure.find("peer closed"), std::string::npos) << failure;
  EXPECT_NE(failure.find("killed by signal 11"), std::string::npos) << failure;
  EXPECT_NE(worker->Finish(1000), "");
  ExpectReaped(worker->pid());
}

TEST(ForkedWorker, SendToDeadChildIsAnErrorNotSigpipe) {
  std::string error;
  auto worker = ForkedWorker::Start([](int) { return 0; }, {}, &error);
  ASSERT_TRUE(worker) << error;
  usleep(50000);
  std::string failure;
  std::vector<char> big(1 << 20);
  for (int i = 0; i < 10 && failure.empty(); ++i) failure = worker->Send(big.data(), big.size());
  EXPECT_NE(failure, "");  // EPIPE or ECONNRESET, and this process is still alive
}

TEST(ForkedWorker, HungChildIsKilledAtFinish) {
  std::string error;
  auto worker = ForkedWorker::Start(
      [](int) {
        sleep(30);
        return 0;
      },
      {}, &error);
  ASSERT_TRUE(worker) << error;
  EXPECT_EQ(worker->Finish(50), "did not exit within 50 ms (killed)");
  ExpectReaped(worker->pid());
}

TEST(ForkedWorker, ReceiveFromSilentChildTimesOut) {
  std::string error;
  auto worker = ForkedWorker::Start(
      [](int) {
        sleep(30);
        return 0;
      },
      {}, &error);
  ASSERT_TRUE(worker) << error;
  uint64_t reply;
  std::string failure = worker->Receive(&reply, 20);
  EXPECT_NE(failure.find("no data within 20 ms"), std::string::npos) << failure;
}

TEST(ForkedWorker, DestructorKillsAndReaps) {
  std::string error;
  pid_t pid;
  {
    auto worker = ForkedWorker::Start(
        [](int) {
          sleep(30);
          return 0;
        },
        {}, &error);
    ASSERT_TRUE(worker) << error;
    pid = worker->pid();
  }
  ExpectReaped(pid);
}

TEST(ForkedWorker, ChildKeepsOnlyItsChannelAndKeptDescriptors) {
  int kept[2], dropped[2];
  ASSERT_EQ(pipe(kept), 0);
  ASSERT_EQ(pipe(dropped), 0);
  UniqueFd kept_read(kept[0]), kept_write(kept[1]), dropped_read(dropped[0]),
      dropped_write(dropped[1]);
  const int keep_fd = kept_write.get(), drop_fd = dropped_write.get();
  std::string error;
  auto worker = ForkedWorker::Start(
      [=](int channel) {
        if (fcntl(keep_fd, F_GETFD) < 0) return 10;
        if (fcntl(drop_fd, F_GETFD) >= 0) return 11;
        if (fcntl(channel, F_GETFD) < 0) return 12;
        return write(keep_fd, "k", 1) == 1 ? 0 : 13;
      },
      {keep_fd}, &error);
  ASSERT_TRUE(worker) << error;
  EXPECT_EQ(worker->Finish(5000), "");
  char byte = 0;
  EXPECT_EQ(read(kept_read.get(), &byte, 1), 1);
  EXPECT_EQ(byte, 'k');
}

// A second worker forked while the first runs must not hold the first one's channel,
// or the first never sees its parent close it.
TEST(ForkedWorker, LaterWorkersDoNotHoldEarlierChannels) {
  std::string error;
  auto a = ForkedWorker::Start(AddOneServer, {}, &error);
  ASSERT_TRUE(a) << error;
  auto b = ForkedWorker::Start(
      [](int) {
        sleep(30);
        return 0;
      },
      {}, &error);
  ASSERT_TRUE(b) << error;
  EXPECT_EQ(a->Finish(5000), "");
  EXPECT_EQ(b->Finish(10), "did not exit within 10 ms (killed)");
}

// PR_SET_PDEATHSIG follows the thread that forked: a worker outlives no such thread.
TEST(ForkedWorker, DiesWithTheThreadThatStartedIt) {
  std::string error;
  std::unique_ptr<ForkedWorker> worker;
  std::thread starter([&] {
    worker = ForkedWorker::Start(AddOneServer, {}, &error);
    uint64_t reply;  // one answer: the child is past its prctl before this thread ends
    if (worker && worker->Send(uint64_t{1}).empty()) worker->Receive(&reply, 5000);
  });
  starter.join();
  ASSERT_TRUE(worker) << error;
  // No request: join() returns before the kernel signals the exited thread's children,
  // so the child could still answer one. Its death ends the wait; if it lived on, the
  // receive would time out instead.
  uint64_t reply;
  EXPECT_NE(worker->Receive(&reply, 5000).find("killed by signal 9"), std::string::npos);
  ExpectReaped(worker->pid());
}

TEST(SigpipeBlock, WriteToClosedPipeIsEpipe) {
  int ends[2];
  ASSERT_EQ(pipe(ends), 0);
  UniqueFd reader(ends[0]), writer(ends[1]);
  reader.reset();
  {
    SigpipeBlock block;
    errno = 0;
    EXPECT_EQ(write(writer.get(), "x", 1), -1);
    EXPECT_EQ(errno, EPIPE);
  }
  sigset_t pending;
  sigpending(&pending);
  EXPECT_FALSE(sigismember(&pending, SIGPIPE));  // consumed, not delivered later
}

TEST(ConnectedPair, UnixAndLoopbackTcpCarryBytesBothWays) {
  for (StreamKind kind : {StreamKind::kUnix, StreamKind::kTcpLoopback}) {
    UniqueFd a, b;
    ASSERT_EQ(ConnectedPair(kind, &a, &b), "");
    ASSERT_EQ(SendAll(a.get(), "ping", 4), "");
    char got[4];
    ASSERT_EQ(ReceiveAll(b.get(), got, 4, 5000), "");
    EXPECT_EQ(std::string(got, 4), "ping");
    ASSERT_EQ(SendAll(b.get(), "pong", 4), "");
    ASSERT_EQ(ReceiveAll(a.get(), got, 4, 5000), "");
    EXPECT_EQ(std::string(got, 4), "pong");
  }
}

TEST(DescribeWaitStatus, ExitAndSignal) {
  EXPECT_EQ(DescribeWaitStatus(3 << 8), "exited with status 3");
  EXPECT_NE(DescribeWaitStatus(SIGKILL).find("killed by signal 9"), std::string::npos);
}

}  // namespace
}  // namespace mapbench
