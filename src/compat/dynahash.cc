// utils/hsearch.h: chained hash tables, in local memory or in a block of
// shared memory (see the header for the contract).
//
// Layout: a HASHHDR (in the table's own memory: its memory context for a
// local table, the shared block for a shared one), a power-of-two array of
// bucket heads, and elements: a HASHELEMENT followed by the entry, whose
// first keysize bytes are the key. Elements never move; free ones are kept
// on a free list. A local table allocates elements in batches and doubles
// its buckets when it holds as many entries as buckets (not while a
// sequential scan is running); a shared table gets all max_size elements
// up front and never grows.
//
// Shared tables and concurrency: as in PostgreSQL the caller locks the
// table (or, with HASH_PARTITION, the partition of the key's hash value;
// bucket b belongs to partition b % num_partitions, so a partition lock
// covers the chains it names). The free list and the entry count are shared
// by all partitions, so they are guarded here by a spinlock in the header.
#include "compat/dynahash.h"

#include <atomic>
#include <cstring>

#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"

struct HASHHDR {
  Size keysize;
  Size entrysize;
  Size element_bytes;  // MAXALIGN(HASHELEMENT) + MAXALIGN(entrysize)
  long max_entries;    // > 0: a fixed (shared) table's capacity
  uint32 nbuckets;     // a power of two
  HASHELEMENT** buckets;
  // Shared by partitions (see the banner): written under `lock`.
  std::atomic_flag lock;
  long nentries;
  HASHELEMENT* free_list;
};

struct HTAB {
  char* name;
  HASHHDR* hctl;
  HashValueFunc hash;
  HashCompareFunc match;
  HashCopyFunc keycopy;
  MemoryContext hcxt;  // a local table's own context (holds everything); null if shared
  bool frozen;
  int active_scans;  // local tables do not grow while scans run
};

namespace {

constexpr Size kElementHeader = MAXALIGN(sizeof(HASHELEMENT));
constexpr uint32 kMinBuckets = 16;
constexpr int kBatch = 32;  // elements a local table allocates at a time

char* ElementKey(HASHELEMENT* e) { return reinterpret_cast<char*>(e) + kElementHeader; }

HASHELEMENT* ElementOf(void* entry) {
  return reinterpret_cast<HASHELEMENT*>(static_cast<char*>(entry) - kElementHeader);
}

uint32 BucketsFor(long entries) {
  uint32 n = kMinBuckets;
  while (n < static_cast<uint64>(entries) && n < (1u << 30)) n <<= 1;
  return n;
}

// The final mix of MurmurHash3: every input bit affects every output bit.
uint32 Mix(uint32 h) {
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return h;
}

uint32 HashBytes(const unsigned char* p, Size n) {
  uint32 h = 2166136261U;  // FNV-1a, then mixed
  for (Size i = 0; i < n; i++) {
    h ^= p[i];
    h *= 16777619U;
  }
  return Mix(h ^ static_cast<uint32>(n));
}

int StringCompare(const void* a, const void* b, Size keysize) {
  return strncmp(static_cast<const char*>(a), static_cast<const char*>(b), keysize - 1);
}

void* StringCopy(void* dest, const void* src, Size keysize) {
  const Size n = strnlen(static_cast<const char*>(src), keysize - 1);
  std::memcpy(dest, src, n);
  static_cast<char*>(dest)[n] = '\0';
  return dest;
}

int BlobCompare(const void* a, const void* b, Size keysize) { return memcmp(a, b, keysize); }

void* BlobCopy(void* dest, const void* src, Size keysize) { return memcpy(dest, src, keysize); }

// The header's spinlock, taken only around the few instructions that touch
// the free list and count (nothing in between can raise an ERROR). Local
// tables have one user and skip it.
void LockHeader(HTAB* t) {
  if (t->hcxt != nullptr) return;
  while (t->hctl->lock.test_and_set(std::memory_order_acquire)) {
  }
}

void UnlockHeader(HTAB* t) {
  if (t->hcxt == nullptr) t->hctl->lock.clear(std::memory_order_release);
}

Size CheckedAdd(Size a, Size b) {
  Size r;
  if (__builtin_add_overflow(a, b, &r)) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
            errmsg("requested shared memory size overflows size_t"));
  }
  return r;
}

Size CheckedMul(Size a, Size b) {
  Size r;
  if (__builtin_mul_overflow(a, b, &r)) {
    ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
            errmsg("requested shared memory size overflows size_t"));
  }
  return r;
}

// The functions the flags choose; false (with *why) when they choose none.
bool ChooseFunctions(HTAB* t, const HASHCTL* info, int flags, const char** why) {
  if ((flags & HASH_ELEM) == 0 || info->keysize == 0 || info->entrysize < info->keysize) {
    *why = "HASH_ELEM with keysize > 0 and entrysize >= keysize is required";
    return false;
  }
  if (flags & HASH_FUNCTION) {
    t->hash = info->hash;
    t->match = BlobCompare;
    t->keycopy = BlobCopy;
  } else if (flags & HASH_BLOBS) {
    t->hash = info->keysize == sizeof(uint32) ? uint32_hash : tag_hash;
    t->match = BlobCompare;
    t->keycopy = BlobCopy;
  } else if (flags & HASH_STRINGS) {
    t->hash = string_hash;
    t->match = StringCompare;
    t->keycopy = StringCopy;
  } else {
    *why = "one of HASH_STRINGS, HASH_BLOBS or HASH_FUNCTION is required";
    return false;
  }
  if (flags & HASH_COMPARE) t->match = info->match;
  if (flags & HASH_KEYCOPY) t->keycopy = info->keycopy;
  if (t->hash == nullptr || t->match == nullptr || t->keycopy == nullptr) {
    *why = "a hash, compare or key-copy function is NULL";
    return false;
  }
  if ((flags & HASH_PARTITION) &&
      (info->num_partitions <= 0 || (info->num_partitions & (info->num_partitions - 1)) != 0)) {
    *why = "num_partitions must be a power of 2";
    return false;
  }
  return true;
}

void InitHeader(HASHHDR* h, const HASHCTL* info, uint32 nbuckets, HASHELEMENT** buckets) {
  h->keysize = info->keysize;
  h->entrysize = info->entrysize;
  h->element_bytes = kElementHeader + MAXALIGN(info->entrysize);
  h->max_entries = 0;
  h->nbuckets = nbuckets;
  h->buckets = buckets;
  std::memset(buckets, 0, sizeof(HASHELEMENT*) * nbuckets);
  h->lock.clear();
  h->nentries = 0;
  h->free_list = nullptr;
}

// A local table's next batch of free elements; false when out of memory
// and `no_oom` (else palloc raises).
bool AddElements(HTAB* t, bool no_oom) {
  HASHHDR* h = t->hctl;
  auto* batch = static_cast<char*>(MemoryContextAllocExtended(t->hcxt, h->element_bytes * kBatch,
                                                              no_oom ? MCXT_ALLOC_NO_OOM : 0));
  if (batch == nullptr) return false;
  for (int i = 0; i < kBatch; i++) {
    auto* e = reinterpret_cast<HASHELEMENT*>(batch + h->element_bytes * static_cast<Size>(i));
    e->link = h->free_list;
    h->free_list = e;
  }
  return true;
}

void Grow(HTAB* t) {
  HASHHDR* h = t->hctl;
  const uint32 n = h->nbuckets * 2;
  auto* buckets = static_cast<HASHELEMENT**>(
      MemoryContextAllocExtended(t->hcxt, sizeof(HASHELEMENT*) * n, MCXT_ALLOC_NO_OOM));
  if (buckets == nullptr) return;  // stays correct, only slower
  std::memset(buckets, 0, sizeof(HASHELEMENT*) * n);
  for (uint32 b = 0; b < h->nbuckets; b++) {
    HASHELEMENT* e = h->buckets[b];
    while (e != nullptr) {
      HASHELEMENT* next = e->link;
      const uint32 nb = e->hashvalue & (n - 1);
      e->link = buckets[nb];
      buckets[nb] = e;
      e = next;
    }
  }
  pfree(h->buckets);
  h->buckets = buckets;
  h->nbuckets = n;
}

HASHELEMENT** Find(HASHHDR* h, HTAB* t, const void* key, uint32 hashvalue) {
  HASHELEMENT** link = &h->buckets[hashvalue & (h->nbuckets - 1)];
  while (*link != nullptr) {
    HASHELEMENT* e = *link;
    if (e->hashvalue == hashvalue && t->match(ElementKey(e), key, h->keysize) == 0) return link;
    link = &e->link;
  }
  return link;
}

}  // namespace

namespace bgw::compat {

HTAB* CreateSharedHash(const char* name, void* block, long max_size, bool attach,
                       const HASHCTL* info, int flags) {
  auto* t = static_cast<HTAB*>(MemoryContextAllocZero(TopMemoryContext, sizeof(HTAB)));
  t->name = MemoryContextStrdup(TopMemoryContext, name);
  const char* why = "max_size must be positive";
  if (max_size <= 0 || !ChooseFunctions(t, info, flags, &why)) {
    ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
            errmsg("invalid hash table \"%s\": %s", name, why));
  }
  auto* h = static_cast<HASHHDR*>(block);
  t->hctl = h;
  if (attach) {
    if (h->keysize != info->keysize || h->entrysize != info->entrysize) {
      ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
              errmsg("shared hash table \"%s\" exists with other key or entry sizes", name));
    }
    return t;
  }
  const uint32 nbuckets = BucketsFor(max_size);
  char* p = static_cast<char*>(block) + MAXALIGN(sizeof(HASHHDR));
  InitHeader(h, info, nbuckets, reinterpret_cast<HASHELEMENT**>(p));
  h->max_entries = max_size;
  p += MAXALIGN(sizeof(HASHELEMENT*) * nbuckets);
  for (long i = max_size - 1; i >= 0; i--) {
    auto* e = reinterpret_cast<HASHELEMENT*>(p + h->element_bytes * static_cast<Size>(i));
    e->link = h->free_list;
    h->free_list = e;
  }
  return t;
}

}  // namespace bgw::compat

extern "C" {

HTAB* hash_create(const char* tabname, long nelem, const HASHCTL* info, int flags) {
  if (flags & (HASH_SHARED_MEM | HASH_ATTACH)) {
    ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
            errmsg("hash table \"%s\": shared hash tables are made with ShmemInitHash", tabname));
  }
  MemoryContext parent = (flags & HASH_CONTEXT) ? info->hcxt : TopMemoryContext;
  MemoryContext cxt = AllocSetContextCreate(parent, "dynahash", ALLOCSET_DEFAULT_SIZES);
  auto* t = static_cast<HTAB*>(MemoryContextAllocZero(cxt, sizeof(HTAB)));
  t->name = MemoryContextStrdup(cxt, tabname);
  t->hcxt = cxt;
  const char* why = nullptr;
  if (!ChooseFunctions(t, info, flags, &why)) {
    MemoryContextDelete(cxt);
    ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
            errmsg("invalid hash table \"%s\": %s", tabname, why));
  }
  const uint32 nbuckets = BucketsFor(nelem);
  t->hctl = static_cast<HASHHDR*>(MemoryContextAllocZero(cxt, sizeof(HASHHDR)));
  InitHeader(t->hctl, info, nbuckets,
             static_cast<HASHELEMENT**>(MemoryContextAlloc(cxt, sizeof(HASHELEMENT*) * nbuckets)));
  return t;
}

void hash_destroy(HTAB* hashp) {
  if (hashp == nullptr) return;
  if (hashp->hcxt == nullptr) {
    ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
            errmsg("cannot destroy shared hash table \"%s\"", hashp->name));
  }
  MemoryContextDelete(hashp->hcxt);
}

void hash_stats(const char*, HTAB*) {}

uint32 get_hash_value(HTAB* hashp, const void* keyPtr) {
  return hashp->hash(keyPtr, hashp->hctl->keysize);
}

void* hash_search(HTAB* hashp, const void* keyPtr, HASHACTION action, bool* foundPtr) {
  return hash_search_with_hash_value(hashp, keyPtr, get_hash_value(hashp, keyPtr), action,
                                     foundPtr);
}

void* hash_search_with_hash_value(HTAB* hashp, const void* keyPtr, uint32 hashvalue,
                                  HASHACTION action, bool* foundPtr) {
  HASHHDR* h = hashp->hctl;
  HASHELEMENT** link = Find(h, hashp, keyPtr, hashvalue);
  HASHELEMENT* e = *link;
  if (foundPtr != nullptr) *foundPtr = e != nullptr;
  switch (action) {
    case HASH_FIND:
      return e != nullptr ? ElementKey(e) : nullptr;
    case HASH_REMOVE: {
      if (e == nullptr) return nullptr;
      *link = e->link;
      LockHeader(hashp);
      h->nentries--;
      e->link = h->free_list;
      h->free_list = e;
      UnlockHeader(hashp);
      return ElementKey(e);
    }
    case HASH_ENTER:
    case HASH_ENTER_NULL:
      break;
  }
  if (e != nullptr) return ElementKey(e);
  if (hashp->frozen) {
    ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
            errmsg("cannot insert into frozen hashtable \"%s\"", hashp->name));
  }
  const bool shared = hashp->hcxt == nullptr;
  // A local table refills its free list first (palloc may raise: no lock).
  if (!shared && h->free_list == nullptr) AddElements(hashp, action == HASH_ENTER_NULL);
  LockHeader(hashp);
  e = h->free_list;
  if (e != nullptr) {
    h->free_list = e->link;
    h->nentries++;
  }
  UnlockHeader(hashp);
  if (e == nullptr) {
    if (action == HASH_ENTER_NULL) return nullptr;
    ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY),
            errmsg(shared ? "out of shared memory" : "out of memory"),
            shared ? errhint("Hash table \"%s\" holds at most %ld entries.", hashp->name,
                             h->max_entries)
                   : 0);
  }
  e->hashvalue = hashvalue;
  hashp->keycopy(ElementKey(e), keyPtr, h->keysize);
  e->link = *link;
  *link = e;
  if (!shared && h->nentries > static_cast<long>(h->nbuckets) && hashp->active_scans == 0) {
    Grow(hashp);
  }
  return ElementKey(e);
}

bool hash_update_hash_key(HTAB* hashp, void* existingEntry, const void* newKeyPtr) {
  HASHHDR* h = hashp->hctl;
  HASHELEMENT* target = ElementOf(existingEntry);
  HASHELEMENT** old_link = &h->buckets[target->hashvalue & (h->nbuckets - 1)];
  while (*old_link != nullptr && *old_link != target) old_link = &(*old_link)->link;
  if (*old_link == nullptr) {
    elog(ERROR, "hash_update_hash_key argument is not in hashtable \"%s\"", hashp->name);
  }
  const uint32 newhash = hashp->hash(newKeyPtr, h->keysize);
  HASHELEMENT** new_link = Find(h, hashp, newKeyPtr, newhash);
  if (*new_link != nullptr) return *new_link == target;  // the key is taken (or unchanged)
  *old_link = target->link;
  target->hashvalue = newhash;
  hashp->keycopy(ElementKey(target), newKeyPtr, h->keysize);
  HASHELEMENT** head = &h->buckets[newhash & (h->nbuckets - 1)];
  target->link = *head;
  *head = target;
  return true;
}

long hash_get_num_entries(HTAB* hashp) { return hashp->hctl->nentries; }

void hash_seq_init(HASH_SEQ_STATUS* status, HTAB* hashp) {
  status->hashp = hashp;
  status->curBucket = 0;
  status->curEntry = hashp->hctl->buckets[0];
  if (!hashp->frozen) hashp->active_scans++;
}

void* hash_seq_search(HASH_SEQ_STATUS* status) {
  HTAB* t = status->hashp;
  if (t == nullptr) return nullptr;  // ended already
  HASHHDR* h = t->hctl;
  while (status->curEntry == nullptr) {
    if (++status->curBucket >= h->nbuckets) {
      hash_seq_term(status);
      return nullptr;
    }
    status->curEntry = h->buckets[status->curBucket];
  }
  HASHELEMENT* e = status->curEntry;
  // Advanced before returning: the caller may remove the entry.
  status->curEntry = e->link;
  return ElementKey(e);
}

void hash_seq_term(HASH_SEQ_STATUS* status) {
  HTAB* t = status->hashp;
  if (t == nullptr) return;
  if (!t->frozen && t->active_scans > 0) t->active_scans--;
  status->hashp = nullptr;
}

void hash_freeze(HTAB* hashp) {
  if (hashp->hcxt == nullptr) elog(ERROR, "cannot freeze shared hashtable \"%s\"", hashp->name);
  hashp->frozen = true;
}

Size hash_estimate_size(long num_entries, Size entrysize) {
  const uint32 nbuckets = BucketsFor(num_entries);
  Size size = MAXALIGN(sizeof(HASHHDR));
  size = CheckedAdd(size, MAXALIGN(sizeof(HASHELEMENT*) * nbuckets));
  return CheckedAdd(size, CheckedMul(static_cast<Size>(num_entries > 0 ? num_entries : 0),
                                     kElementHeader + MAXALIGN(entrysize)));
}

long hash_select_dirsize(long num_entries) {
  return static_cast<long>(BucketsFor(num_entries) / 256 + 1);
}

Size hash_get_shared_size(HASHCTL*, int) { return MAXALIGN(sizeof(HASHHDR)); }

uint32 string_hash(const void* key, Size keysize) {
  const auto* s = static_cast<const char*>(key);
  return HashBytes(reinterpret_cast<const unsigned char*>(s), strnlen(s, keysize - 1));
}

uint32 tag_hash(const void* key, Size keysize) {
  return HashBytes(static_cast<const unsigned char*>(key), keysize);
}

uint32 uint32_hash(const void* key, Size) {
  uint32 v;
  std::memcpy(&v, key, sizeof v);
  return Mix(v);
}

}  // extern "C"
