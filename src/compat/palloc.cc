// Memory contexts: the implementation behind utils/palloc.h and
// utils/memutils.h.
//
// Each chunk is its own malloc() block with a header in front of it: the
// owning context, the requested size, a magic number, and links of an
// intrusive doubly-linked list headed by the context. So any chunk can be
// freed or resized on its own (pfree/repalloc find the context from the
// header), and resetting or deleting a context walks its list and frees
// everything, which keeps the code small and leaves leak and use-after-free
// detection to ASan. Block pooling (PostgreSQL's AllocSet) would be faster
// for many tiny chunks; measure before adding it.
//
// TopMemoryContext and ErrorContext are statically allocated and constant-
// initialized, so they exist before any constructor runs and survive fork.
//
// Allocation failures raise ERROR, so no function here keeps an object
// with a destructor alive across a call that can raise (see utils/elog.h).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "postgres/postgres.h"
#include "postgres/utils/memutils.h"

namespace {

constexpr uint64_t kChunkMagic = 0x4b4e484357474221ULL;  // "!BGWCHNK"
constexpr uint64_t kFreedChunkMagic = 0x444545524657474eULL;
constexpr uint32_t kContextMagic = 0x5854434dU;  // "MCTX"
constexpr uint32_t kDeadContextMagic = 0x44414544U;

// The context pointer is the last field, right before the chunk, as in
// PostgreSQL (some code peeks at it).
struct ChunkHeader {
  ChunkHeader* prev;
  ChunkHeader* next;
  size_t size;  // requested size
  uint64_t magic;
  uint64_t reserved;
  MemoryContextData* context;
};
static_assert(sizeof(ChunkHeader) % 16 == 0, "chunks must stay 16-byte aligned");

}  // namespace

struct MemoryContextData {
  uint32_t magic;
  bool is_static;  // Top/ErrorContext: never freed
  bool is_reset;   // nothing allocated since the last reset
  bool allow_in_crit_section;
  const char* name;
  const char* ident;
  MemoryContextData* parent;
  MemoryContextData* firstchild;
  MemoryContextData* prevchild;
  MemoryContextData* nextchild;
  ChunkHeader* chunks;   // newest first
  size_t mem_allocated;  // bytes obtained from malloc, headers included
  MemoryContextCallback* reset_cbs;
};

namespace bgw::compat {
extern MemoryContextData error_context_storage;
constinit MemoryContextData top_context_storage = {kContextMagic,
                                                   true,
                                                   true,
                                                   false,
                                                   "TopMemoryContext",
                                                   nullptr,
                                                   nullptr,
                                                   &error_context_storage,
                                                   nullptr,
                                                   nullptr,
                                                   nullptr,
                                                   0,
                                                   nullptr};
constinit MemoryContextData error_context_storage = {
    kContextMagic, true,    true,    true, "ErrorContext", nullptr, &top_context_storage, nullptr,
    nullptr,       nullptr, nullptr, 0,    nullptr};
}  // namespace bgw::compat

extern "C" {
MemoryContext TopMemoryContext = &bgw::compat::top_context_storage;
MemoryContext CurrentMemoryContext = &bgw::compat::top_context_storage;
MemoryContext ErrorContext = &bgw::compat::error_context_storage;
MemoryContext PostmasterContext = nullptr;
MemoryContext CacheMemoryContext = nullptr;
MemoryContext MessageContext = nullptr;
MemoryContext TopTransactionContext = nullptr;
MemoryContext CurTransactionContext = nullptr;
MemoryContext PortalContext = nullptr;
}

namespace {

ChunkHeader* HeaderOf(void* pointer) {
  return reinterpret_cast<ChunkHeader*>(static_cast<char*>(pointer) - sizeof(ChunkHeader));
}

void* PayloadOf(ChunkHeader* header) { return reinterpret_cast<char*>(header + 1); }

// The header of a live chunk, or ERROR.
ChunkHeader* CheckedHeader(void* pointer, const char* caller) {
  if (pointer == nullptr) elog(ERROR, "%s called with a NULL pointer", caller);
  ChunkHeader* header = HeaderOf(pointer);
  if (header->magic != kChunkMagic || header->context == nullptr ||
      header->context->magic != kContextMagic) {
    elog(ERROR, "%s called with invalid pointer %p", caller, pointer);
  }
  return header;
}

void CheckContext(MemoryContext context) {
  if (!MemoryContextIsValid(context)) elog(ERROR, "invalid memory context %p", (void*)context);
}

void LinkChunk(MemoryContext context, ChunkHeader* header) {
  header->context = context;
  header->prev = nullptr;
  header->next = context->chunks;
  if (context->chunks != nullptr) context->chunks->prev = header;
  context->chunks = header;
}

void UnlinkChunk(ChunkHeader* header) {
  MemoryContext context = header->context;
  if (header->prev != nullptr) {
    header->prev->next = header->next;
  } else {
    context->chunks = header->next;
  }
  if (header->next != nullptr) header->next->prev = header->prev;
  header->prev = header->next = nullptr;
}

void CheckRequest(Size size, int flags) {
  const bool valid =
      (flags & MCXT_ALLOC_HUGE) != 0 ? AllocHugeSizeIsValid(size) : AllocSizeIsValid(size);
  if (!valid) elog(ERROR, "invalid memory alloc request size %zu", size);
}

[[noreturn]] void OutOfMemory(MemoryContext context, Size size) {
  ereport(
      ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
      errdetail("Failed on request of size %zu in memory context \"%s\".", size, context->name));
  pg_unreachable();
}

void* Allocate(MemoryContext context, Size size, int flags) {
  CheckContext(context);
  CheckRequest(size, flags);
  const size_t total = sizeof(ChunkHeader) + size;
  void* raw = (flags & MCXT_ALLOC_ZERO) != 0 ? calloc(1, total) : malloc(total);
  if (raw == nullptr) {
    if ((flags & MCXT_ALLOC_NO_OOM) != 0) return nullptr;
    OutOfMemory(context, size);
  }
  auto* header = static_cast<ChunkHeader*>(raw);
  header->size = size;
  header->magic = kChunkMagic;
  header->reserved = 0;
  LinkChunk(context, header);
  context->mem_allocated += total;
  context->is_reset = false;
  return PayloadOf(header);
}

void FreeChunk(ChunkHeader* header) {
  MemoryContext context = header->context;
  UnlinkChunk(header);
  context->mem_allocated -= sizeof(ChunkHeader) + header->size;
  header->magic = kFreedChunkMagic;
  header->context = nullptr;
  free(header);
}

void* Reallocate(void* pointer, Size size, int flags) {
  ChunkHeader* header = CheckedHeader(pointer, "repalloc");
  CheckRequest(size, flags);
  MemoryContext context = header->context;
  const size_t old_total = sizeof(ChunkHeader) + header->size;
  // Unlink first: realloc may move the block, and the neighbours' links
  // must then follow it.
  UnlinkChunk(header);
  void* moved = realloc(header, sizeof(ChunkHeader) + size);
  if (moved == nullptr) {
    LinkChunk(context, header);  // the old block is intact
    OutOfMemory(context, size);
  }
  header = static_cast<ChunkHeader*>(moved);
  header->size = size;
  LinkChunk(context, header);
  context->mem_allocated = context->mem_allocated - old_total + sizeof(ChunkHeader) + size;
  context->is_reset = false;
  return PayloadOf(header);
}

void CallResetCallbacks(MemoryContext context) {
  // Pop each before calling it, so a callback that resets the context again
  // does not run twice.
  while (MemoryContextCallback* cb = context->reset_cbs) {
    context->reset_cbs = cb->next;
    cb->func(cb->arg);
  }
}

void FreeAllChunks(MemoryContext context) {
  while (context->chunks != nullptr) FreeChunk(context->chunks);
}

void UnlinkFromParent(MemoryContext context) {
  MemoryContext parent = context->parent;
  if (parent == nullptr) return;
  if (context->prevchild != nullptr) {
    context->prevchild->nextchild = context->nextchild;
  } else {
    parent->firstchild = context->nextchild;
  }
  if (context->nextchild != nullptr) context->nextchild->prevchild = context->prevchild;
  context->parent = context->prevchild = context->nextchild = nullptr;
}

void LinkToParent(MemoryContext context, MemoryContext parent) {
  context->parent = parent;
  context->prevchild = nullptr;
  context->nextchild = nullptr;
  if (parent == nullptr) return;
  context->nextchild = parent->firstchild;
  if (parent->firstchild != nullptr) parent->firstchild->prevchild = context;
  parent->firstchild = context;
}

bool IsSelfOrDescendant(MemoryContext context, MemoryContext ancestor) {
  for (MemoryContext c = context; c != nullptr; c = c->parent) {
    if (c == ancestor) return true;
  }
  return false;
}

void DeleteContext(MemoryContext context) {
  MemoryContextDeleteChildren(context);
  CallResetCallbacks(context);
  FreeAllChunks(context);
  context->is_reset = true;
  if (context->is_static) return;  // ErrorContext under a reset parent: keep it
  // Deleting the current context (PostgreSQL forbids it) would leave
  // CurrentMemoryContext dangling: fall back to the parent.
  if (CurrentMemoryContext == context) {
    CurrentMemoryContext = context->parent != nullptr ? context->parent : TopMemoryContext;
  }
  UnlinkFromParent(context);
  context->magic = kDeadContextMagic;
  free(context);
}

MemoryContext CreateContext(MemoryContext parent, const char* name) {
  if (parent != nullptr) CheckContext(parent);
  auto* context = static_cast<MemoryContextData*>(calloc(1, sizeof(MemoryContextData)));
  if (context == nullptr) {
    ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
            errdetail("Failed while creating memory context \"%s\".", name));
  }
  context->magic = kContextMagic;
  context->is_reset = true;
  context->name = name != nullptr ? name : "";
  LinkToParent(context, parent);
  return context;
}

void PrintStats(MemoryContext context, int depth) {
  size_t chunks = 0;
  for (ChunkHeader* h = context->chunks; h != nullptr; h = h->next) chunks++;
  fprintf(stderr, "%*s%s%s%s: %zu total in %zu chunks\n", depth * 2, "", context->name,
          context->ident != nullptr ? ": " : "", context->ident != nullptr ? context->ident : "",
          context->mem_allocated, chunks);
  for (MemoryContext c = context->firstchild; c != nullptr; c = c->nextchild) {
    PrintStats(c, depth + 1);
  }
}

}  // namespace

extern "C" {

void MemoryContextInit(void) {
  if (CurrentMemoryContext == nullptr) CurrentMemoryContext = TopMemoryContext;
}

bool MemoryContextIsValid(MemoryContext context) {
  return context != nullptr && context->magic == kContextMagic;
}

void* MemoryContextAlloc(MemoryContext context, Size size) { return Allocate(context, size, 0); }

void* MemoryContextAllocZero(MemoryContext context, Size size) {
  return Allocate(context, size, MCXT_ALLOC_ZERO);
}

void* MemoryContextAllocZeroAligned(MemoryContext context, Size size) {
  return Allocate(context, size, MCXT_ALLOC_ZERO);
}

void* MemoryContextAllocExtended(MemoryContext context, Size size, int flags) {
  return Allocate(context, size, flags);
}

void* MemoryContextAllocHuge(MemoryContext context, Size size) {
  return Allocate(context, size, MCXT_ALLOC_HUGE);
}

void* palloc(Size size) { return Allocate(CurrentMemoryContext, size, 0); }

void* palloc0(Size size) { return Allocate(CurrentMemoryContext, size, MCXT_ALLOC_ZERO); }

void* palloc_extended(Size size, int flags) { return Allocate(CurrentMemoryContext, size, flags); }

void* repalloc(void* pointer, Size size) { return Reallocate(pointer, size, 0); }

void* repalloc_huge(void* pointer, Size size) { return Reallocate(pointer, size, MCXT_ALLOC_HUGE); }

void pfree(void* pointer) { FreeChunk(CheckedHeader(pointer, "pfree")); }

MemoryContext GetMemoryChunkContext(void* pointer) {
  return CheckedHeader(pointer, "GetMemoryChunkContext")->context;
}

Size GetMemoryChunkSpace(void* pointer) {
  return sizeof(ChunkHeader) + CheckedHeader(pointer, "GetMemoryChunkSpace")->size;
}

bool MemoryContextContains(MemoryContext context, void* pointer) {
  if (pointer == nullptr || !MemoryContextIsValid(context)) return false;
  const ChunkHeader* header = HeaderOf(pointer);
  return header->magic == kChunkMagic && header->context == context;
}

void MemoryContextRegisterResetCallback(MemoryContext context, MemoryContextCallback* cb) {
  CheckContext(context);
  cb->next = context->reset_cbs;
  context->reset_cbs = cb;
  context->is_reset = false;
}

MemoryContext AllocSetContextCreateInternal(MemoryContext parent, const char* name, Size, Size,
                                            Size) {
  return CreateContext(parent, name);
}

MemoryContext SlabContextCreate(MemoryContext parent, const char* name, Size, Size) {
  return CreateContext(parent, name);
}

MemoryContext GenerationContextCreate(MemoryContext parent, const char* name, Size, Size, Size) {
  return CreateContext(parent, name);
}

void MemoryContextResetOnly(MemoryContext context) {
  CheckContext(context);
  if (context->is_reset) return;
  CallResetCallbacks(context);
  FreeAllChunks(context);
  context->is_reset = true;
}

void MemoryContextReset(MemoryContext context) {
  CheckContext(context);
  if (context->firstchild != nullptr) MemoryContextDeleteChildren(context);
  MemoryContextResetOnly(context);
}

void MemoryContextResetChildren(MemoryContext context) {
  CheckContext(context);
  for (MemoryContext c = context->firstchild; c != nullptr; c = c->nextchild) {
    MemoryContextResetChildren(c);
    MemoryContextResetOnly(c);
  }
}

void MemoryContextDeleteChildren(MemoryContext context) {
  CheckContext(context);
  MemoryContext child = context->firstchild;
  while (child != nullptr) {
    MemoryContext next = child->nextchild;  // child may be freed
    DeleteContext(child);
    child = next;
  }
}

void MemoryContextDelete(MemoryContext context) {
  CheckContext(context);
  if (context->is_static) {
    elog(ERROR, "cannot delete memory context \"%s\"", context->name);
  }
  // A current context inside the doomed subtree would dangle.
  if (IsSelfOrDescendant(CurrentMemoryContext, context)) {
    CurrentMemoryContext = context->parent != nullptr ? context->parent : TopMemoryContext;
  }
  DeleteContext(context);
}

void MemoryContextSetIdentifier(MemoryContext context, const char* id) {
  CheckContext(context);
  context->ident = id;
}

void MemoryContextSetParent(MemoryContext context, MemoryContext new_parent) {
  CheckContext(context);
  if (new_parent == context->parent) return;
  if (new_parent != nullptr) {
    CheckContext(new_parent);
    if (IsSelfOrDescendant(new_parent, context)) {
      elog(ERROR, "cannot make memory context \"%s\" a descendant of itself", context->name);
    }
  }
  UnlinkFromParent(context);
  LinkToParent(context, new_parent);
}

MemoryContext MemoryContextGetParent(MemoryContext context) {
  CheckContext(context);
  return context->parent;
}

bool MemoryContextIsEmpty(MemoryContext context) {
  CheckContext(context);
  return context->firstchild == nullptr && context->chunks == nullptr;
}

Size MemoryContextMemAllocated(MemoryContext context, bool recurse) {
  CheckContext(context);
  Size total = context->mem_allocated;
  if (recurse) {
    for (MemoryContext c = context->firstchild; c != nullptr; c = c->nextchild) {
      total += MemoryContextMemAllocated(c, true);
    }
  }
  return total;
}

void MemoryContextStats(MemoryContext context) {
  CheckContext(context);
  PrintStats(context, 0);
}

void MemoryContextAllowInCriticalSection(MemoryContext context, bool allow) {
  CheckContext(context);
  context->allow_in_crit_section = allow;
}

char* MemoryContextStrdup(MemoryContext context, const char* string) {
  const size_t len = strlen(string) + 1;
  auto* copy = static_cast<char*>(MemoryContextAlloc(context, len));
  memcpy(copy, string, len);
  return copy;
}

char* pstrdup(const char* in) { return MemoryContextStrdup(CurrentMemoryContext, in); }

char* pnstrdup(const char* in, Size len) {
  len = strnlen(in, len);
  auto* out = static_cast<char*>(palloc(len + 1));
  memcpy(out, in, len);
  out[len] = '\0';
  return out;
}

char* pchomp(const char* in) {
  size_t n = strlen(in);
  while (n > 0 && in[n - 1] == '\n') n--;
  return pnstrdup(in, n);
}

size_t pvsnprintf(char* buf, size_t len, const char* fmt, va_list args) {
  // %m in fmt reads errno, which the caller set up.
  const int nprinted = vsnprintf(buf, len, fmt, args);
  if (nprinted < 0) {
    elog(ERROR, "vsnprintf failed: %m with format string \"%s\"", fmt);
  }
  if (static_cast<size_t>(nprinted) < len) return static_cast<size_t>(nprinted);
  if (static_cast<size_t>(nprinted) > MaxAllocSize - 1) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("out of memory"));
  }
  return static_cast<size_t>(nprinted) + 1;
}

char* psprintf(const char* fmt, ...) {
  const int saved_errno = errno;
  size_t len = 128;
  for (;;) {
    auto* result = static_cast<char*>(palloc(len));
    va_list args;
    va_start(args, fmt);
    errno = saved_errno;
    const size_t needed = pvsnprintf(result, len, fmt, args);
    va_end(args);
    if (needed < len) return result;
    pfree(result);
    len = needed;
  }
}

}  // extern "C"
