// Tests of utils/palloc.h and utils/memutils.h: memory contexts own their
// chunks, resets and deletes free them (ASan checks for leaks and
// use-after-free), and bad requests raise PostgreSQL's errors.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <string>

#include "compat/compat_testing.h"
#include "postgres/postgres.h"
#include "postgres/utils/memutils.h"
#include "postgres/utils/palloc.h"

namespace {

using bgw::compat::testing::CatchError;
using bgw::compat::testing::CaughtError;

class CompatPallocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = AllocSetContextCreate(TopMemoryContext, "compat test", ALLOCSET_DEFAULT_SIZES);
  }
  void TearDown() override {
    MemoryContextSwitchTo(TopMemoryContext);
    if (context_ != nullptr) MemoryContextDelete(context_);
    EXPECT_EQ(CurrentMemoryContext, TopMemoryContext);
  }
  MemoryContext context_ = nullptr;
};

TEST_F(CompatPallocTest, StandardContextsExistFromTheStart) {
  EXPECT_TRUE(MemoryContextIsValid(TopMemoryContext));
  EXPECT_TRUE(MemoryContextIsValid(ErrorContext));
  EXPECT_EQ(MemoryContextGetParent(ErrorContext), TopMemoryContext);
  EXPECT_EQ(MemoryContextGetParent(TopMemoryContext), nullptr);
  EXPECT_FALSE(MemoryContextIsValid(nullptr));
  EXPECT_EQ(MemoryContextGetParent(context_), TopMemoryContext);
}

TEST_F(CompatPallocTest, PallocUsesTheCurrentContext) {
  MemoryContext old = MemoryContextSwitchTo(context_);
  EXPECT_EQ(old, TopMemoryContext);
  EXPECT_TRUE(MemoryContextIsEmpty(context_));
  void* p = palloc(100);
  auto* z = static_cast<unsigned char*>(palloc0(64));
  EXPECT_EQ(GetMemoryChunkContext(p), context_);
  EXPECT_TRUE(MemoryContextContains(context_, p));
  EXPECT_FALSE(MemoryContextContains(TopMemoryContext, p));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % MAXIMUM_ALIGNOF, 0u);
  for (int i = 0; i < 64; i++) ASSERT_EQ(z[i], 0) << i;
  EXPECT_GE(MemoryContextMemAllocated(context_, false), 164u);
  EXPECT_GE(GetMemoryChunkSpace(p), 100u);
  EXPECT_FALSE(MemoryContextIsEmpty(context_));
  pfree(p);
  pfree(z);
  EXPECT_EQ(MemoryContextMemAllocated(context_, false), 0u);
  MemoryContextSwitchTo(old);
}

TEST_F(CompatPallocTest, ResetFreesEveryChunkAndDeletesChildren) {
  MemoryContext child = AllocSetContextCreate(context_, "child", ALLOCSET_SMALL_SIZES);
  for (int i = 0; i < 1000; i++) {
    MemoryContextAlloc(context_, static_cast<Size>(i + 1));
    MemoryContextAllocZero(child, 32);
  }
  EXPECT_GT(MemoryContextMemAllocated(context_, false), 0u);
  EXPECT_GT(MemoryContextMemAllocated(context_, true), MemoryContextMemAllocated(context_, false));
  MemoryContextReset(context_);  // ASan would report the chunks if they leaked
  EXPECT_EQ(MemoryContextMemAllocated(context_, true), 0u);
  EXPECT_TRUE(MemoryContextIsEmpty(context_));  // the child is gone
}

TEST_F(CompatPallocTest, ResetChildrenKeepsThemButFreesTheirChunks) {
  MemoryContext child = AllocSetContextCreate(context_, "child", ALLOCSET_START_SMALL_SIZES);
  MemoryContext grandchild = AllocSetContextCreate(child, "grandchild", ALLOCSET_SMALL_SIZES);
  MemoryContextAlloc(child, 10);
  MemoryContextAlloc(grandchild, 10);
  void* own = MemoryContextAlloc(context_, 10);
  MemoryContextResetChildren(context_);
  EXPECT_TRUE(MemoryContextIsValid(child));
  EXPECT_TRUE(MemoryContextIsValid(grandchild));
  EXPECT_EQ(MemoryContextMemAllocated(child, true), 0u);
  EXPECT_TRUE(MemoryContextContains(context_, own));
  MemoryContextResetOnly(context_);
  EXPECT_EQ(MemoryContextMemAllocated(context_, false), 0u);
  EXPECT_EQ(MemoryContextGetParent(grandchild), child);  // ResetOnly left children
}

int callback_calls = 0;
void CountCallback(void* arg) {
  callback_calls++;
  *static_cast<int*>(arg) += 1;
}

TEST_F(CompatPallocTest, DeleteRemovesDescendantsAndRunsResetCallbacks) {
  MemoryContext child = AllocSetContextCreate(context_, "child", ALLOCSET_DEFAULT_SIZES);
  MemoryContext grandchild = SlabContextCreate(child, "slab", SLAB_DEFAULT_BLOCK_SIZE, 64);
  MemoryContext generation = GenerationContextCreate(child, "gen", ALLOCSET_DEFAULT_SIZES);
  int child_runs = 0;
  int grandchild_runs = 0;
  auto* cb1 =
      static_cast<MemoryContextCallback*>(MemoryContextAlloc(child, sizeof(MemoryContextCallback)));
  cb1->func = CountCallback;
  cb1->arg = &child_runs;
  MemoryContextRegisterResetCallback(child, cb1);
  auto* cb2 = static_cast<MemoryContextCallback*>(
      MemoryContextAlloc(grandchild, sizeof(MemoryContextCallback)));
  cb2->func = CountCallback;
  cb2->arg = &grandchild_runs;
  MemoryContextRegisterResetCallback(grandchild, cb2);
  for (int i = 0; i < 100; i++) {
    MemoryContextAlloc(grandchild, 64);
    MemoryContextAlloc(generation, 128);
  }
  callback_calls = 0;
  MemoryContextDelete(child);
  EXPECT_EQ(child_runs, 1);
  EXPECT_EQ(grandchild_runs, 1);
  EXPECT_EQ(callback_calls, 2);
  EXPECT_TRUE(MemoryContextIsEmpty(context_));
}

TEST_F(CompatPallocTest, ResetCallbackRunsOncePerRegistration) {
  int runs = 0;
  MemoryContextCallback cb;
  cb.func = CountCallback;
  cb.arg = &runs;
  MemoryContextRegisterResetCallback(context_, &cb);
  MemoryContextReset(context_);
  MemoryContextReset(context_);
  EXPECT_EQ(runs, 1);
}

TEST_F(CompatPallocTest, RepallocKeepsContentsAndContextAcrossSizes) {
  auto* p = static_cast<char*>(MemoryContextAlloc(context_, 16));
  memcpy(p, "0123456789abcde", 16);
  // Resize while another context is current: the chunk stays where it was.
  for (Size size : {Size{64}, Size{4096}, Size{1} << 20, Size{32}, Size{16}}) {
    p = static_cast<char*>(repalloc(p, size));
    ASSERT_EQ(GetMemoryChunkContext(p), context_);
    ASSERT_EQ(memcmp(p, "0123456789abcde", 16), 0) << size;
    if (size > 16) memset(p + 16, 'x', size - 16);
  }
  EXPECT_TRUE(MemoryContextContains(context_, p));
  EXPECT_FALSE(MemoryContextContains(TopMemoryContext, p));
  // Other chunks of the list survive a moved block.
  void* a = MemoryContextAlloc(context_, 8);
  p = static_cast<char*>(repalloc(p, Size{2} << 20));
  void* b = MemoryContextAlloc(context_, 8);
  pfree(a);
  pfree(p);
  pfree(b);
  EXPECT_EQ(MemoryContextMemAllocated(context_, false), 0u);
}

TEST_F(CompatPallocTest, PfreeWorksOnAnyContextsChunk) {
  MemoryContext other = AllocSetContextCreate(TopMemoryContext, "other", ALLOCSET_SMALL_SIZES);
  void* p = MemoryContextAlloc(other, 10);
  MemoryContextSwitchTo(context_);
  pfree(p);
  MemoryContextSwitchTo(TopMemoryContext);
  EXPECT_EQ(MemoryContextMemAllocated(other, false), 0u);
  MemoryContextDelete(other);
}

TEST_F(CompatPallocTest, OversizedRequestsRaiseError) {
  CaughtError e = CatchError([&] { MemoryContextAlloc(context_, MaxAllocSize + 1); });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.message, "invalid memory alloc request size 1073741824");
  EXPECT_EQ(e.sqlerrcode, ERRCODE_INTERNAL_ERROR);

  void* p = MemoryContextAlloc(context_, 8);
  e = CatchError([&] { p = repalloc(p, MaxAllocSize + 1); });
  EXPECT_TRUE(e.raised);
  EXPECT_TRUE(MemoryContextContains(context_, p));  // the chunk is intact

  e = CatchError([&] { palloc_extended(MaxAllocHugeSize + 1, MCXT_ALLOC_HUGE); });
  EXPECT_TRUE(e.raised);
  EXPECT_TRUE(AllocSizeIsValid(MaxAllocSize));
  EXPECT_FALSE(AllocSizeIsValid(MaxAllocSize + 1));
}

#if !defined(__SANITIZE_ADDRESS__)
// ASan aborts on impossible allocations instead of returning NULL.
TEST_F(CompatPallocTest, OutOfMemoryRaisesErrorOrReturnsNull) {
  const Size impossible = Size{1} << 62;  // beyond any address space
  EXPECT_EQ(MemoryContextAllocExtended(context_, impossible, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM),
            nullptr);
  CaughtError e = CatchError([&] { MemoryContextAllocHuge(context_, impossible); });
  ASSERT_TRUE(e.raised);
  EXPECT_EQ(e.sqlerrcode, ERRCODE_OUT_OF_MEMORY);
  EXPECT_EQ(e.message, "out of memory");
  EXPECT_EQ(e.detail,
            "Failed on request of size 4611686018427387904 in memory context \"compat test\".");
}
#endif

TEST_F(CompatPallocTest, PfreeOfNullIsAnError) {
  CaughtError e = CatchError([] { pfree(nullptr); });
  EXPECT_TRUE(e.raised);
  e = CatchError([] { repalloc(nullptr, 10); });
  EXPECT_TRUE(e.raised);
}

size_t CallPvsnprintf(char* buf, size_t len, const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  const size_t n = pvsnprintf(buf, len, fmt, args);
  va_end(args);
  return n;
}

TEST_F(CompatPallocTest, DeletingTheCurrentContextFallsBackToItsParent) {
  MemoryContext child = AllocSetContextCreate(context_, "child", ALLOCSET_SMALL_SIZES);
  MemoryContextSwitchTo(child);
  MemoryContextDelete(context_);
  context_ = nullptr;
  EXPECT_EQ(CurrentMemoryContext, TopMemoryContext);
}

TEST_F(CompatPallocTest, SetParentMovesASubtree) {
  MemoryContext a = AllocSetContextCreate(context_, "a", ALLOCSET_SMALL_SIZES);
  MemoryContext b = AllocSetContextCreate(context_, "b", ALLOCSET_SMALL_SIZES);
  MemoryContextSetParent(b, a);
  EXPECT_EQ(MemoryContextGetParent(b), a);
  CaughtError e = CatchError([&] { MemoryContextSetParent(a, b); });  // a cycle
  EXPECT_TRUE(e.raised);
  MemoryContext root = AllocSetContextCreate(nullptr, "root", ALLOCSET_SMALL_SIZES);
  MemoryContextSetParent(a, root);
  EXPECT_TRUE(MemoryContextIsEmpty(context_));
  MemoryContextDelete(root);  // takes a and b along
  EXPECT_TRUE(MemoryContextIsEmpty(context_));
}

TEST_F(CompatPallocTest, TopMemoryContextCannotBeDeleted) {
  CaughtError e = CatchError([] { MemoryContextDelete(TopMemoryContext); });
  EXPECT_TRUE(e.raised);
  EXPECT_TRUE(MemoryContextIsValid(TopMemoryContext));
  EXPECT_TRUE(MemoryContextIsValid(ErrorContext));
}

TEST_F(CompatPallocTest, StringHelpers) {
  MemoryContextSwitchTo(context_);
  char* s = pstrdup("hello");
  EXPECT_STREQ(s, "hello");
  EXPECT_EQ(GetMemoryChunkContext(s), context_);
  EXPECT_STREQ(pnstrdup("hello", 3), "hel");
  EXPECT_STREQ(pnstrdup("hi", 10), "hi");
  EXPECT_STREQ(pchomp("line\n\n"), "line");
  EXPECT_STREQ(psprintf("%s-%d", "a", 42), "a-42");
  std::string big(5000, 'z');
  char* long_text = psprintf("[%s]", big.c_str());
  EXPECT_EQ(strlen(long_text), 5002u);
  errno = ENOENT;
  EXPECT_STREQ(psprintf("%m"), "No such file or directory");
  char* top = MemoryContextStrdup(TopMemoryContext, "top");
  EXPECT_STREQ(top, "top");
  pfree(top);
  char buf[4];
  EXPECT_EQ(CallPvsnprintf(buf, sizeof buf, "%s", "abc"), 3u);   // fits
  EXPECT_EQ(CallPvsnprintf(buf, sizeof buf, "%s", "abcd"), 5u);  // needs 5
}

}  // namespace
