// nodes/pg_list.h: PostgreSQL's List as one array of cells (see the header
// for the contract). A new list has room for its cells in the same chunk as
// its header (initial_elements); growing moves the cells to a separate
// array in the list's own memory context, doubling, so appends are
// amortized O(1).
#include "postgres/nodes/pg_list.h"

#include <algorithm>
#include <cstring>

#include "postgres/utils/memutils.h"
#include "postgres/utils/palloc.h"

namespace {

constexpr int kMinCells = 4;

List* NewList(NodeTag type, int length) {
  const int capacity = std::max(length, kMinCells);
  auto* l = static_cast<List*>(
      palloc(offsetof(List, initial_elements) + sizeof(ListCell) * static_cast<size_t>(capacity)));
  l->type = type;
  l->length = length;
  l->max_length = capacity;
  l->elements = l->initial_elements;
  return l;
}

void Reserve(List* l, int needed) {
  if (needed <= l->max_length) return;
  const int capacity = std::max(needed, l->max_length * 2);
  const size_t bytes = sizeof(ListCell) * static_cast<size_t>(capacity);
  if (l->elements == l->initial_elements) {
    auto* cells = static_cast<ListCell*>(MemoryContextAlloc(GetMemoryChunkContext(l), bytes));
    std::memcpy(cells, l->initial_elements, sizeof(ListCell) * static_cast<size_t>(l->length));
    l->elements = cells;
  } else {
    l->elements = static_cast<ListCell*>(repalloc(l->elements, bytes));
  }
  l->max_length = capacity;
}

// Room for one more cell at `pos` (0..length); returns the list (new if NIL).
List* Insert(List* list, NodeTag type, int pos) {
  if (list == NIL) return NewList(type, 1);
  Assert(list->type == type);
  Assert(pos >= 0 && pos <= list->length);
  Reserve(list, list->length + 1);
  std::memmove(&list->elements[pos + 1], &list->elements[pos],
               sizeof(ListCell) * static_cast<size_t>(list->length - pos));
  list->length++;
  return list;
}

List* Append(List* list, NodeTag type, ListCell cell) {
  const int pos = list_length(list);
  list = Insert(list, type, pos);
  list->elements[pos] = cell;
  return list;
}

List* InsertAt(List* list, NodeTag type, int pos, ListCell cell) {
  list = Insert(list, type, pos);
  list->elements[pos] = cell;
  return list;
}

template <typename Eq>
int Find(const List* list, Eq eq) {
  for (int i = 0; i < list_length(list); i++) {
    if (eq(list->elements[i])) return i;
  }
  return -1;
}

List* Make(NodeTag t, std::initializer_list<ListCell> cells) {
  List* l = NewList(t, static_cast<int>(cells.size()));
  std::copy(cells.begin(), cells.end(), l->elements);
  return l;
}

}  // namespace

extern "C" {

List* list_make1_impl(NodeTag t, ListCell a) { return Make(t, {a}); }
List* list_make2_impl(NodeTag t, ListCell a, ListCell b) { return Make(t, {a, b}); }
List* list_make3_impl(NodeTag t, ListCell a, ListCell b, ListCell c) { return Make(t, {a, b, c}); }
List* list_make4_impl(NodeTag t, ListCell a, ListCell b, ListCell c, ListCell d) {
  return Make(t, {a, b, c, d});
}
List* list_make5_impl(NodeTag t, ListCell a, ListCell b, ListCell c, ListCell d, ListCell e) {
  return Make(t, {a, b, c, d, e});
}

List* lappend(List* list, void* datum) { return Append(list, T_List, list_make_ptr_cell(datum)); }
List* lappend_int(List* list, int datum) {
  return Append(list, T_IntList, list_make_int_cell(datum));
}
List* lappend_oid(List* list, Oid datum) {
  return Append(list, T_OidList, list_make_oid_cell(datum));
}
List* lappend_xid(List* list, TransactionId datum) {
  return Append(list, T_XidList, list_make_xid_cell(datum));
}

List* list_insert_nth(List* list, int pos, void* datum) {
  return InsertAt(list, T_List, pos, list_make_ptr_cell(datum));
}
List* list_insert_nth_int(List* list, int pos, int datum) {
  return InsertAt(list, T_IntList, pos, list_make_int_cell(datum));
}
List* list_insert_nth_oid(List* list, int pos, Oid datum) {
  return InsertAt(list, T_OidList, pos, list_make_oid_cell(datum));
}

List* lcons(void* datum, List* list) { return list_insert_nth(list, 0, datum); }
List* lcons_int(int datum, List* list) { return list_insert_nth_int(list, 0, datum); }
List* lcons_oid(Oid datum, List* list) { return list_insert_nth_oid(list, 0, datum); }

List* list_concat(List* list1, const List* list2) {
  if (list2 == NIL) return list1;
  if (list1 == NIL) return list_copy(list2);
  Assert(list1->type == list2->type);
  const int n2 = list2->length;  // list2 may be list1
  Reserve(list1, list1->length + n2);
  std::memcpy(&list1->elements[list1->length], list2->elements,
              sizeof(ListCell) * static_cast<size_t>(n2));
  list1->length += n2;
  return list1;
}

List* list_concat_copy(const List* list1, const List* list2) {
  return list_concat(list_copy(list1), list2);
}

List* list_truncate(List* list, int new_size) {
  if (new_size <= 0) return NIL;
  if (list != NIL && new_size < list->length) list->length = new_size;
  return list;
}

bool list_member_ptr(const List* list, const void* datum) {
  return Find(list, [datum](const ListCell& c) { return c.ptr_value == datum; }) >= 0;
}
bool list_member_int(const List* list, int datum) {
  return Find(list, [datum](const ListCell& c) { return c.int_value == datum; }) >= 0;
}
bool list_member_oid(const List* list, Oid datum) {
  return Find(list, [datum](const ListCell& c) { return c.oid_value == datum; }) >= 0;
}
bool list_member_xid(const List* list, TransactionId datum) {
  return Find(list, [datum](const ListCell& c) { return c.xid_value == datum; }) >= 0;
}

List* list_delete_nth_cell(List* list, int n) {
  Assert(list != NIL && n >= 0 && n < list->length);
  if (list->length == 1) {
    list_free(list);
    return NIL;
  }
  std::memmove(&list->elements[n], &list->elements[n + 1],
               sizeof(ListCell) * static_cast<size_t>(list->length - n - 1));
  list->length--;
  return list;
}

List* list_delete_cell(List* list, ListCell* cell) {
  return list_delete_nth_cell(list, list_cell_number(list, cell));
}

List* list_delete_ptr(List* list, void* datum) {
  const int i = Find(list, [datum](const ListCell& c) { return c.ptr_value == datum; });
  return i >= 0 ? list_delete_nth_cell(list, i) : list;
}
List* list_delete_int(List* list, int datum) {
  const int i = Find(list, [datum](const ListCell& c) { return c.int_value == datum; });
  return i >= 0 ? list_delete_nth_cell(list, i) : list;
}
List* list_delete_oid(List* list, Oid datum) {
  const int i = Find(list, [datum](const ListCell& c) { return c.oid_value == datum; });
  return i >= 0 ? list_delete_nth_cell(list, i) : list;
}

List* list_delete_first(List* list) { return list == NIL ? NIL : list_delete_nth_cell(list, 0); }
List* list_delete_last(List* list) {
  return list == NIL ? NIL : list_delete_nth_cell(list, list->length - 1);
}

List* list_delete_first_n(List* list, int n) {
  if (n <= 0) return list;
  if (list == NIL || n >= list->length) {
    list_free(list);
    return NIL;
  }
  std::memmove(&list->elements[0], &list->elements[n],
               sizeof(ListCell) * static_cast<size_t>(list->length - n));
  list->length -= n;
  return list;
}

List* list_append_unique_ptr(List* list, void* datum) {
  return list_member_ptr(list, datum) ? list : lappend(list, datum);
}
List* list_append_unique_int(List* list, int datum) {
  return list_member_int(list, datum) ? list : lappend_int(list, datum);
}
List* list_append_unique_oid(List* list, Oid datum) {
  return list_member_oid(list, datum) ? list : lappend_oid(list, datum);
}

List* list_copy(const List* list) { return list_copy_tail(list, 0); }

List* list_copy_tail(const List* list, int nskip) {
  if (nskip < 0) nskip = 0;
  if (list == NIL || nskip >= list->length) return NIL;
  List* copy = NewList(list->type, list->length - nskip);
  std::memcpy(copy->elements, &list->elements[nskip],
              sizeof(ListCell) * static_cast<size_t>(copy->length));
  return copy;
}

void list_free(List* list) {
  if (list == NIL) return;
  if (list->elements != list->initial_elements) pfree(list->elements);
  pfree(list);
}

void list_free_deep(List* list) {
  if (list == NIL) return;
  Assert(IsA(list, List));
  for (int i = 0; i < list->length; i++) {
    if (list->elements[i].ptr_value != nullptr) pfree(list->elements[i].ptr_value);
  }
  list_free(list);
}

void list_sort(List* list, list_sort_comparator cmp) {
  if (list_length(list) < 2) return;
  std::sort(list->elements, list->elements + list->length,
            [cmp](const ListCell& a, const ListCell& b) { return cmp(&a, &b) < 0; });
}

int list_int_cmp(const ListCell* p1, const ListCell* p2) {
  return p1->int_value < p2->int_value ? -1 : (p1->int_value > p2->int_value ? 1 : 0);
}

int list_oid_cmp(const ListCell* p1, const ListCell* p2) {
  return p1->oid_value < p2->oid_value ? -1 : (p1->oid_value > p2->oid_value ? 1 : 0);
}

}  // extern "C"
