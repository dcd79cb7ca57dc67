// Postmaster death detection; see pmdeath.h.
#include "ipc/pmdeath.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include "ipc/latch_internal.h"

namespace bgw::pmdeath {
namespace {

int pipe_fds[2] = {-1, -1};
volatile sig_atomic_t death_signal = 0;
pid_t expected_parent = 0;  // the postmaster, as seen by this child
pid_t armed_in = 0;         // the process that armed PR_SET_PDEATHSIG

constexpr int kDeathSignal = SIGPWR;

void DeathSignalHandler(int) {
  int saved = errno;
  // A stray SIGPWR (kill -PWR) is not a postmaster death: ignore it while
  // our parent is still the postmaster.
  if (getppid() == expected_parent) {
    errno = saved;
    return;
  }
  if (death_signal) {  // a repeated SIGPWR: the timer already runs
    errno = saved;
    return;
  }
  death_signal = 1;
  // The SIGKILL timer is created here, on the rare death, not at every
  // child start (a system call and a page of glibc per launch). Raw system
  // calls, because glibc documents timer_create as not async-signal-safe;
  // for SIGEV_SIGNAL glibc passes the same sigevent to the kernel.
  struct sigevent ev = {};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGKILL;
  int timer_id;
  if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &timer_id) == 0) {
    struct itimerspec its = {};
    auto ns = std::chrono::nanoseconds(kGracePeriod).count();
    its.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    its.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
    syscall(SYS_timer_settime, timer_id, 0, &its, nullptr);
  }
  // A WaitLatch sleeping in FUTEX_WAIT would be restarted (SA_RESTART) and
  // sleep on: make it re-check, and see death_signal.
  latch::WakeFutexSleeperFromSignalHandler();
  errno = saved;
}

}  // namespace

bool CreatePipe() { return pipe2(pipe_fds, O_CLOEXEC) == 0; }

int WriteEndForPostmasterOnly() { return pipe_fds[1]; }

int ReadFd() { return pipe_fds[0]; }

void InitChild(int postmaster_pid) {
  expected_parent = postmaster_pid;
  if (pipe_fds[1] >= 0) {
    close(pipe_fds[1]);
    pipe_fds[1] = -1;
  }
  // The read end must not block a PostmasterIsAlive() probe.
  fcntl(pipe_fds[0], F_SETFL, fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);

  struct sigaction sa = {};
  sa.sa_handler = DeathSignalHandler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(kDeathSignal, &sa, nullptr);
  // This signal must get through even while a worker keeps others blocked.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, kDeathSignal);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  prctl(PR_SET_PDEATHSIG, kDeathSignal);
  armed_in = getpid();
  // The postmaster may have died between fork() and prctl().
  if (getppid() != postmaster_pid) raise(kDeathSignal);
}

bool DeathSignalReceived() { return death_signal != 0; }

int DeathSignalArmedIn() { return armed_in; }

bool PostmasterIsAlive() {
  if (pipe_fds[0] < 0) return true;  // not a child: we are the postmaster
  char c;
  ssize_t n = read(pipe_fds[0], &c, 1);
  if (n == 0) return false;  // EOF: every write end is closed
  return true;               // EAGAIN: still alive (nobody ever writes)
}

}  // namespace bgw::pmdeath
