// Orderly exit of a child process: PostgreSQL's proc_exit() and its callback
// lists.
//
// Children never return through main() or call exit(): that would run the
// postmaster's atexit handlers and static destructors in a copy of its state.
// ProcExit runs, newest first, the before-shmem-exit callbacks, then the
// shmem-exit callbacks, then the on-proc-exit callbacks; marks the child slot
// inactive (the dead-man switch, see pmsignal.h); and calls _exit().
#pragma once

#include <cstdint>

namespace bgw {

using ExitCallback = void (*)(int code, uintptr_t arg);

void OnProcExit(ExitCallback fn, uintptr_t arg);
void BeforeShmemExit(ExitCallback fn, uintptr_t arg);
void OnShmemExit(ExitCallback fn, uintptr_t arg);
// Removes the most recently registered before-shmem-exit callback if it
// matches (PostgreSQL's cancel_before_shmem_exit contract).
void CancelBeforeShmemExit(ExitCallback fn, uintptr_t arg);
// Forgets every callback: a freshly forked child starts with none.
void ResetExitCallbacks();

[[noreturn]] void ProcExit(int code);
// Runs (and empties) the before-shmem-exit and shmem-exit lists only.
void RunShmemExitCallbacks(int code);
// True while ProcExit runs (a callback that errors must not recurse).
bool ProcExitInProgress();

}  // namespace bgw
