// The one internal-error hook: what happens when our own code finds one of
// its invariants broken (a bug, never bad input: bad input gets a Status).
//
// InternalError logs PANIC with the location and aborts. In a child that is
// a crash the postmaster handles (every child is stopped and shared memory
// rebuilt); in the postmaster it ends the server, which is the only safe
// answer to a corrupted supervisor.
#pragma once

namespace bgw {

[[noreturn]] void InternalError(const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace bgw

#define BGW_INTERNAL_ERROR(...) ::bgw::InternalError(__FILE__, __LINE__, __VA_ARGS__)
// Checks an invariant in every build type (cheap conditions only).
#define BGW_CHECK(cond)                                                              \
  do {                                                                               \
    if (__builtin_expect(!(cond), 0)) BGW_INTERNAL_ERROR("check failed: %s", #cond); \
  } while (0)
