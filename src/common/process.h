// Process-wide facts that low layers record and the postmaster's child
// launch (src/postmaster/child.h) reads: which signals this process gave a
// disposition other than SIG_DFL, so that a freshly forked child resets
// exactly those (one sigaction each instead of one per signal).
//
// "Am I under the postmaster" and the postmaster's pid are PostgreSQL's own
// globals (IsUnderPostmaster, PostmasterPid in postgres/miscadmin.h); every
// layer reads those.
#pragma once

#include <cstdint>

namespace bgw {

// Notes that `sig` may no longer have its default disposition (pqsignal
// and the postmaster's own handlers call it). Not async-signal-safe.
void NoteSignalDisposition(int sig);
// The signals noted so far, bit `sig - 1`; a plain mask so a child reads it
// without calling into libc.
uint64_t ChangedSignalDispositions();
// Replaces the record (the postmaster after scanning every signal; a child
// after resetting them, with 0).
void SetChangedSignalDispositions(uint64_t mask);

}  // namespace bgw
