// Process-wide facts; see process.h.
#include "common/process.h"

#include <csignal>

namespace bgw {
namespace {

static_assert(NSIG <= 65, "signal numbers must fit the mask");
// Only the process's main thread writes it.
uint64_t changed_dispositions = 0;

}  // namespace

void NoteSignalDisposition(int sig) {
  if (sig > 0 && sig < NSIG) changed_dispositions |= uint64_t{1} << (sig - 1);
}

uint64_t ChangedSignalDispositions() { return changed_dispositions; }

void SetChangedSignalDispositions(uint64_t mask) { changed_dispositions = mask; }

}  // namespace bgw
