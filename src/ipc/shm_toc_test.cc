// Tests of shm_toc (storage/shm_toc.h): layout and alignment of chunks,
// lookups through a second mapping of the same memory at another address
// (the TOC holds offsets, never pointers), the estimator's sizes being
// exactly enough, and the failure paths: out of space for chunks and for
// keys, missing keys, magic mismatch, bad addresses, size overflow.
// gtest first: the PostgreSQL headers define Max() and Min() macros.
#include <gtest/gtest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "compat/compat_testing.h"
#include "postgres/storage/shm_toc.h"

namespace {

using bgw::compat::testing::CatchError;
using bgw::compat::testing::CaughtError;

constexpr uint64 kMagic = 0x79fb2447;

class ShmTocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    space_ = static_cast<char*>(aligned_alloc(4096, kSpace));
    ASSERT_NE(space_, nullptr);
    memset(space_, 0x7f, kSpace);
  }
  void TearDown() override { free(space_); }
  static constexpr size_t kSpace = 64 * 1024;
  char* space_ = nullptr;
};

TEST_F(ShmTocTest, ChunksAreBufferAlignedDisjointAndFoundByKey) {
  shm_toc* toc = shm_toc_create(kMagic, space_, kSpace);
  ASSERT_EQ(static_cast<void*>(toc), static_cast<void*>(space_));
  size_t sizes[] = {1, 64, 65, 1000, 0, 7};
  char* chunks[6];
  for (int i = 0; i < 6; i++) {
    chunks[i] = static_cast<char*>(shm_toc_allocate(toc, sizes[i]));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(chunks[i]) % 64, 0u) << i;
    EXPECT_GT(chunks[i], space_);
    EXPECT_LE(chunks[i] + sizes[i], space_ + kSpace);
    memset(chunks[i], i + 1, sizes[i]);
    shm_toc_insert(toc, 100 + i, chunks[i]);
  }
  // Carved downwards from the end, BUFFERALIGN'd sizes.
  EXPECT_EQ(chunks[0], space_ + kSpace - 64);
  EXPECT_EQ(chunks[1], chunks[0] - 64);
  EXPECT_EQ(chunks[2], chunks[1] - 128);
  EXPECT_EQ(chunks[3], chunks[2] - 1024);
  for (int i = 0; i < 6; i++) {
    EXPECT_EQ(shm_toc_lookup(toc, 100 + i, false), chunks[i]);
    for (size_t b = 0; b < sizes[i]; b++) ASSERT_EQ(chunks[i][b], i + 1);
  }
  EXPECT_EQ(shm_toc_lookup(toc, 99, true), nullptr);
  // Header and 6 entries (one 128-byte unit), chunks 64+64+128+1024+0+64.
  EXPECT_EQ(shm_toc_freespace(toc), kSpace - 128 - 1344);
}

TEST_F(ShmTocTest, AttachChecksTheMagicNumber) {
  shm_toc_create(kMagic, space_, kSpace);
  EXPECT_NE(shm_toc_attach(kMagic, space_), nullptr);
  EXPECT_EQ(shm_toc_attach(kMagic + 1, space_), nullptr);
  memset(space_, 0, 64);
  EXPECT_EQ(shm_toc_attach(kMagic, space_), nullptr);
}

// The same memory mapped twice: entries made through one mapping are found,
// at the corresponding addresses, through the other.
TEST_F(ShmTocTest, OffsetsWorkWhereverTheSpaceIsMapped) {
  int fd = memfd_create("shm_toc_test", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, kSpace), 0);
  void* a = mmap(nullptr, kSpace, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  void* b = mmap(nullptr, kSpace, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  ASSERT_NE(a, MAP_FAILED);
  ASSERT_NE(b, MAP_FAILED);
  ASSERT_NE(a, b);
  shm_toc* ta = shm_toc_create(kMagic, a, kSpace);
  char* chunk = static_cast<char*>(shm_toc_allocate(ta, 100));
  strcpy(chunk, "through mapping a");
  shm_toc_insert(ta, 7, chunk);
  shm_toc* tb = shm_toc_attach(kMagic, b);
  ASSERT_NE(tb, nullptr);
  char* found = static_cast<char*>(shm_toc_lookup(tb, 7, false));
  EXPECT_EQ(found - static_cast<char*>(b), chunk - static_cast<char*>(a));
  EXPECT_STREQ(found, "through mapping a");
  munmap(a, kSpace);
  munmap(b, kSpace);
}

TEST_F(ShmTocTest, EstimateIsEnoughForTheEstimatedChunksAndKeys) {
  shm_toc_estimator e;
  shm_toc_initialize_estimator(&e);
  size_t sizes[] = {100, 1, 4096, 333};
  for (size_t s : sizes) shm_toc_estimate_chunk(&e, s);
  shm_toc_estimate_keys(&e, 4);
  Size total = shm_toc_estimate(&e);
  EXPECT_EQ(total % 64, 0u);
  EXPECT_EQ(e.space_for_chunks, 128u + 64u + 4096u + 384u);
  EXPECT_EQ(e.number_of_keys, 4u);
  ASSERT_LE(total, kSpace);
  shm_toc* toc = shm_toc_create(kMagic, space_, total);
  CaughtError err = CatchError([&] {
    for (int i = 0; i < 4; i++) shm_toc_insert(toc, i, shm_toc_allocate(toc, sizes[i]));
  });
  EXPECT_FALSE(err.raised) << err.message;
  EXPECT_LT(shm_toc_freespace(toc), 64u);
}

TEST_F(ShmTocTest, RunningOutOfSpaceRaisesOutOfSharedMemory) {
  shm_toc* toc = shm_toc_create(kMagic, space_, 1024);
  CaughtError e = CatchError([&] { shm_toc_allocate(toc, 2000); });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.message, "out of shared memory");
  EXPECT_EQ(e.sqlstate, "53200");
  e = CatchError([&] { shm_toc_allocate(toc, SIZE_MAX - 10); });
  EXPECT_TRUE(e.raised) << "size that overflows when aligned";
  // Fill the chunk space, then the key space.
  void* last = nullptr;
  e = CatchError([&] {
    for (;;) last = shm_toc_allocate(toc, 64);
  });
  EXPECT_TRUE(e.raised);
  ASSERT_NE(last, nullptr);
  e = CatchError([&] {
    for (uint64 k = 0;; k++) shm_toc_insert(toc, k, last);
  });
  EXPECT_TRUE(e.raised);
  EXPECT_EQ(e.message, "out of shared memory");
  EXPECT_EQ(shm_toc_lookup(toc, 0, false), last) << "entries made before the error remain";
}

TEST_F(ShmTocTest, MissingKeyIsAnErrorUnlessNoError) {
  shm_toc* toc = shm_toc_create(kMagic, space_, kSpace);
  EXPECT_EQ(shm_toc_lookup(toc, 42, true), nullptr);
  CaughtError e = CatchError([&] { shm_toc_lookup(toc, 42, false); });
  EXPECT_TRUE(e.raised);
  EXPECT_NE(e.message.find("could not find key 42 in shm TOC"), std::string::npos) << e.message;
}

TEST_F(ShmTocTest, BadArgumentsRaiseErrors) {
  EXPECT_TRUE(CatchError([&] { shm_toc_create(kMagic, space_ + 8, 4096); }).raised)
      << "address not BUFFERALIGN'd";
  EXPECT_TRUE(CatchError([&] { shm_toc_create(kMagic, space_, 16); }).raised) << "too small";
  shm_toc* toc = shm_toc_create(kMagic, space_, 4096);
  EXPECT_TRUE(CatchError([&] { shm_toc_insert(toc, 1, space_ + 8192); }).raised)
      << "address outside the TOC";
  shm_toc_estimator e;
  shm_toc_initialize_estimator(&e);
  shm_toc_estimate_chunk(&e, 100);
  CaughtError err = CatchError([&] { shm_toc_estimate_chunk(&e, SIZE_MAX - 100); });
  EXPECT_TRUE(err.raised);
  EXPECT_NE(err.message.find("overflows size_t"), std::string::npos) << err.message;
  shm_toc_initialize_estimator(&e);
  shm_toc_estimate_keys(&e, SIZE_MAX / 2);
  EXPECT_TRUE(CatchError([&] { shm_toc_estimate(&e); }).raised);
}

}  // namespace
