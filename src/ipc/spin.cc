// Spinlock waiting; see spin.h and include/postgres/storage/s_lock.h.
#include "ipc/spin.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "postgres/postgres.h"
#include "postgres/storage/s_lock.h"

namespace bgw::spin {
namespace {

constexpr int kMinSpinsPerDelay = 10;
constexpr int kMaxSpinsPerDelay = 1000;
constexpr int kMinDelayUs = 1000;
constexpr int kMaxDelayUs = 1000000;

// Process-local: how long spinning paid off recently (PostgreSQL adapts it
// the same way; a single-CPU machine drifts to the minimum).
int spins_per_delay = DEFAULT_SPINS_PER_DELAY;

int64_t MonotonicUs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Cheap per-process pseudo-random fraction in [0, 1) for the back-off
// growth; reseeded after fork so sibling waiters do not sleep in lockstep.
double RandomFraction() {
  static pid_t seeded_pid = 0;
  static uint64_t state = 0;
  pid_t me = getpid();
  if (seeded_pid != me) {
    seeded_pid = me;
    state = (static_cast<uint64_t>(me) << 32) ^ static_cast<uint64_t>(MonotonicUs()) ^
            0x9E3779B97F4A7C15ULL;
    if (state == 0) state = 1;
  }
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return static_cast<double>(state >> 11) / static_cast<double>(1ULL << 53);
}

[[noreturn]] void Stuck(const SpinDelayStatus* status) {
  elog(PANIC, "stuck spinlock detected at %s, %s:%d",
       status->func != nullptr ? status->func : "(unknown)",
       status->file != nullptr ? status->file : "(unknown)", status->line);
  abort();  // not reached: PANIC aborts
}

}  // namespace

std::chrono::microseconds StuckTimeout() {
  if (const char* env = getenv(kStuckTimeoutEnv); env != nullptr && env[0] != '\0') {
    char* end = nullptr;
    long long ms = strtoll(env, &end, 10);
    if (end != env && *end == '\0' && ms > 0 && ms < 1000LL * 86400 * 365) {
      return std::chrono::milliseconds(ms);
    }
  }
  return kDefaultStuckTimeout;
}

int SpinsPerDelay() { return spins_per_delay; }

}  // namespace bgw::spin

extern "C" {

void perform_spin_delay(SpinDelayStatus* status) {
  SPIN_DELAY();
  if (++status->spins < bgw::spin::spins_per_delay) return;
  status->spins = 0;

  int64_t now = bgw::spin::MonotonicUs();
  if (status->start_us == 0) {
    status->start_us = now;
    status->timeout_us = bgw::spin::StuckTimeout().count();
  } else if (now - status->start_us >= status->timeout_us) {
    bgw::spin::Stuck(status);
  }
  if (status->cur_delay == 0) status->cur_delay = bgw::spin::kMinDelayUs;
  // Never sleep past the stuck deadline by much: a short test timeout is
  // honoured even when the back-off has grown to a second.
  int64_t left = status->timeout_us - (now - status->start_us);
  int64_t sleep_us = std::clamp<int64_t>(left, 1, status->cur_delay);
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(sleep_us / 1000000);
  ts.tv_nsec = static_cast<long>((sleep_us % 1000000) * 1000);
  nanosleep(&ts, nullptr);  // EINTR: a signal cut it short; spin again
  status->delays++;
  status->cur_delay +=
      static_cast<int>(std::lround(status->cur_delay * bgw::spin::RandomFraction()));
  if (status->cur_delay > bgw::spin::kMaxDelayUs) status->cur_delay = bgw::spin::kMinDelayUs;
}

void finish_spin_delay(SpinDelayStatus* status) {
  int& spins = bgw::spin::spins_per_delay;
  if (status->cur_delay == 0) {
    // Got it by spinning alone: spinning is worth a little more.
    spins = std::min(spins + 100, bgw::spin::kMaxSpinsPerDelay);
  } else {
    spins = std::max(spins - 1, bgw::spin::kMinSpinsPerDelay);
  }
}

int s_lock(volatile slock_t* lock, const char* file, int line, const char* func) {
  SpinDelayStatus delay;
  init_spin_delay(&delay, file, line, func);
  while (TAS_SPIN(lock)) perform_spin_delay(&delay);
  finish_spin_delay(&delay);
  return delay.delays;
}

void set_spins_per_delay(int shared_spins_per_delay) {
  bgw::spin::spins_per_delay = std::clamp(shared_spins_per_delay, bgw::spin::kMinSpinsPerDelay,
                                          bgw::spin::kMaxSpinsPerDelay);
}

int update_spins_per_delay(int shared_spins_per_delay) {
  return (shared_spins_per_delay * 15 + bgw::spin::spins_per_delay) / 16;
}

}  // extern "C"
