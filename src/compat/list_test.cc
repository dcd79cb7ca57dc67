// nodes/pg_list.h: the List operations as PostgreSQL documents them:
// appends that grow past the inline cells, foreach with deletion of the
// current cell, forboth, typed lists, copies, concatenation, sorting and
// the NIL cases.
#include <gtest/gtest.h>

#include <vector>

#include "compat/compat_testing.h"
// After gtest: c.h's Max/Min macros would break its headers.
#include "postgres/nodes/pg_list.h"
#include "postgres/utils/memutils.h"

namespace {

std::vector<int> Ints(const List* l) {
  std::vector<int> out;
  const ListCell* lc;
  foreach (lc, l) out.push_back(lfirst_int(lc));
  return out;
}

TEST(ListTest, AppendsGrowAndKeepOrder) {
  List* l = NIL;
  EXPECT_EQ(list_length(l), 0);
  for (int i = 0; i < 100; i++) l = lappend_int(l, i);
  ASSERT_EQ(list_length(l), 100);
  EXPECT_TRUE(IsA(l, IntList));
  EXPECT_EQ(linitial_int(l), 0);
  EXPECT_EQ(lsecond_int(l), 1);
  EXPECT_EQ(llast_int(l), 99);
  EXPECT_EQ(list_nth_int(l, 42), 42);
  EXPECT_TRUE(list_member_int(l, 77));
  EXPECT_FALSE(list_member_int(l, 100));
  l = lcons_int(-1, l);
  EXPECT_EQ(linitial_int(l), -1);
  l = list_insert_nth_int(l, 2, 500);
  EXPECT_EQ(list_nth_int(l, 2), 500);
  EXPECT_EQ(list_length(l), 102);
  list_free(l);
}

TEST(ListTest, ForeachDeleteCurrentVisitsEveryCell) {
  List* l = NIL;
  for (int i = 0; i < 10; i++) l = lappend_int(l, i);
  ListCell* lc;
  int visited = 0;
  foreach (lc, l) {
    visited++;
    if (lfirst_int(lc) % 2 == 0) l = foreach_delete_current(l, lc);
  }
  EXPECT_EQ(visited, 10);
  EXPECT_EQ(Ints(l), (std::vector<int>{1, 3, 5, 7, 9}));
  // Deleting every cell leaves NIL.
  foreach (lc, l) l = foreach_delete_current(l, lc);
  EXPECT_EQ(l, NIL);
}

TEST(ListTest, PointersCopiesConcatAndDeletes) {
  int a = 1, b = 2, c = 3;
  List* l = list_make3(&a, &b, &c);
  EXPECT_TRUE(IsA(l, List));
  EXPECT_EQ(linitial(l), &a);
  EXPECT_EQ(lthird(l), &c);
  ListCell* second = lnext(l, list_head(l));
  EXPECT_EQ(lfirst(second), &b);
  EXPECT_EQ(lnext(l, list_tail(l)), nullptr);
  List* copy = list_copy(l);
  l = list_delete_ptr(l, &b);
  EXPECT_EQ(list_length(l), 2);
  EXPECT_EQ(list_length(copy), 3);  // the copy is its own
  EXPECT_FALSE(list_member_ptr(l, &b));
  copy = list_concat(copy, l);
  EXPECT_EQ(list_length(copy), 5);
  EXPECT_EQ(llast(copy), &c);
  List* tail = list_copy_tail(copy, 3);
  EXPECT_EQ(list_length(tail), 2);
  EXPECT_EQ(linitial(tail), &a);
  EXPECT_EQ(list_copy_tail(copy, 5), NIL);
  copy = list_delete_first(copy);
  copy = list_delete_last(copy);
  EXPECT_EQ(list_length(copy), 3);
  copy = list_truncate(copy, 1);
  EXPECT_EQ(list_length(copy), 1);
  EXPECT_EQ(list_truncate(copy, 0), NIL);
  EXPECT_EQ(list_concat(NIL, NIL), NIL);
  l = list_append_unique_ptr(l, &a);
  EXPECT_EQ(list_length(l), 2);
  l = list_append_unique_ptr(l, &b);
  EXPECT_EQ(list_length(l), 3);
  list_free(l);
  list_free(tail);
}

TEST(ListTest, ForbothEndsWithTheShorterAndSortSorts) {
  List* a = list_make3_int(3, 1, 2);
  List* b = list_make2_oid(10, 20);
  ListCell* la;
  ListCell* lb;
  int pairs = 0;
  forboth(la, a, lb, b) {
    pairs++;
    EXPECT_EQ(lfirst_oid(lb), static_cast<Oid>(10 * pairs));
  }
  EXPECT_EQ(pairs, 2);
  list_sort(a, list_int_cmp);
  EXPECT_EQ(Ints(a), (std::vector<int>{1, 2, 3}));
  int index_sum = 0;
  foreach (la, a) index_sum += foreach_current_index(la);
  EXPECT_EQ(index_sum, 0 + 1 + 2);
  list_free(a);
  list_free(b);
}

TEST(ListTest, FreeDeepFreesTheCells) {
  MemoryContext cxt = AllocSetContextCreate(TopMemoryContext, "list test", ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(cxt);
  List* l = NIL;
  for (int i = 0; i < 20; i++) l = lappend(l, palloc(16));
  list_free_deep(l);
  MemoryContextSwitchTo(old);
  MemoryContextDelete(cxt);
}

}  // namespace
