// Creating a dynahash table (utils/hsearch.h) inside a block of shared
// memory the caller already has: ShmemInitHash (ipc/addin_shmem.cc) gets the
// block from ShmemInitStruct and hands it here. Kept out of the module
// headers: modules call ShmemInitHash.
#pragma once

#include "postgres/utils/hsearch.h"

namespace bgw::compat {

// A table of at most max_size entries laid out in `block` (which holds
// hash_estimate_size(max_size, info->entrysize) bytes). With `attach` the
// block already holds the table (made by another process, or earlier by
// this one): only the process-local handle is made, after checking the key
// and entry sizes agree. The handle lives in TopMemoryContext.
HTAB* CreateSharedHash(const char* name, void* block, long max_size, bool attach,
                       const HASHCTL* info, int flags);

}  // namespace bgw::compat
