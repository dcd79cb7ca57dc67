/*
 * nodes/pg_list.h: PostgreSQL 13-15's List, compatible: an expansible
 * array of cells (pointers, ints, OIDs or transaction IDs), NIL for the
 * empty list, with its macros (foreach, forboth, lfirst, linitial, ...)
 * and functions (lappend, lcons, list_delete_cell, list_sort, ...).
 *
 * As in PostgreSQL 13+, cells live in one array: a ListCell pointer is valid
 * only until the list is changed, lnext() takes the list, and deleting the
 * current cell in a foreach needs foreach_delete_current(). Lists are
 * allocated in CurrentMemoryContext and grow in the context they were made
 * in. list_member() and the other functions comparing with equal() are not
 * here (this server has no node trees to compare); the _ptr, _int and _oid
 * variants are.
 */
#ifndef BGW_COMPAT_PG_LIST_H
#define BGW_COMPAT_PG_LIST_H

#include "nodes/nodes.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef union ListCell
{
	void	   *ptr_value;
	int			int_value;
	Oid			oid_value;
	TransactionId xid_value;
} ListCell;

typedef struct List
{
	NodeTag		type;			/* T_List, T_IntList, T_OidList or T_XidList */
	int			length;			/* > 0: an empty list is NIL */
	int			max_length;		/* cells allocated */
	ListCell   *elements;		/* initial_elements, or a separate array once grown */
	ListCell	initial_elements[FLEXIBLE_ARRAY_MEMBER];
} List;

#define NIL ((List *) NULL)

/* State of foreach() and forboth() loops. */
typedef struct ForEachState
{
	const List *l;
	int			i;
} ForEachState;

typedef struct ForBothState
{
	const List *l1;
	const List *l2;
	int			i;
} ForBothState;

static inline ListCell *
list_head(const List *l)
{
	return l ? &l->elements[0] : NULL;
}

static inline ListCell *
list_tail(const List *l)
{
	return l ? &l->elements[l->length - 1] : NULL;
}

static inline ListCell *
list_second_cell(const List *l)
{
	return (l && l->length >= 2) ? &l->elements[1] : NULL;
}

static inline int
list_length(const List *l)
{
	return l ? l->length : 0;
}

#define lfirst(lc) ((lc)->ptr_value)
#define lfirst_int(lc) ((lc)->int_value)
#define lfirst_oid(lc) ((lc)->oid_value)
#define lfirst_xid(lc) ((lc)->xid_value)
#define lfirst_node(type, lc) castNode(type, lfirst(lc))

#define linitial(l) lfirst(list_nth_cell(l, 0))
#define linitial_int(l) lfirst_int(list_nth_cell(l, 0))
#define linitial_oid(l) lfirst_oid(list_nth_cell(l, 0))
#define linitial_node(type, l) castNode(type, linitial(l))
#define lsecond(l) lfirst(list_nth_cell(l, 1))
#define lsecond_int(l) lfirst_int(list_nth_cell(l, 1))
#define lsecond_oid(l) lfirst_oid(list_nth_cell(l, 1))
#define lsecond_node(type, l) castNode(type, lsecond(l))
#define lthird(l) lfirst(list_nth_cell(l, 2))
#define lthird_int(l) lfirst_int(list_nth_cell(l, 2))
#define lthird_oid(l) lfirst_oid(list_nth_cell(l, 2))
#define lthird_node(type, l) castNode(type, lthird(l))
#define lfourth(l) lfirst(list_nth_cell(l, 3))
#define lfourth_int(l) lfirst_int(list_nth_cell(l, 3))
#define lfourth_oid(l) lfirst_oid(list_nth_cell(l, 3))
#define lfourth_node(type, l) castNode(type, lfourth(l))
#define llast(l) lfirst(list_last_cell(l))
#define llast_int(l) lfirst_int(list_last_cell(l))
#define llast_oid(l) lfirst_oid(list_last_cell(l))
#define llast_xid(l) lfirst_xid(list_last_cell(l))
#define llast_node(type, l) castNode(type, llast(l))

/* Cells for the list_makeN macros (functions here, so C++ modules can use them too). */
static inline ListCell
list_make_ptr_cell(void *v)
{
	ListCell	c;

	c.ptr_value = v;
	return c;
}

static inline ListCell
list_make_int_cell(int v)
{
	ListCell	c;

	c.int_value = v;
	return c;
}

static inline ListCell
list_make_oid_cell(Oid v)
{
	ListCell	c;

	c.oid_value = v;
	return c;
}

static inline ListCell
list_make_xid_cell(TransactionId v)
{
	ListCell	c;

	c.xid_value = v;
	return c;
}

extern List *list_make1_impl(NodeTag t, ListCell datum1);
extern List *list_make2_impl(NodeTag t, ListCell datum1, ListCell datum2);
extern List *list_make3_impl(NodeTag t, ListCell datum1, ListCell datum2, ListCell datum3);
extern List *list_make4_impl(NodeTag t, ListCell datum1, ListCell datum2, ListCell datum3,
							 ListCell datum4);
extern List *list_make5_impl(NodeTag t, ListCell datum1, ListCell datum2, ListCell datum3,
							 ListCell datum4, ListCell datum5);

#define list_make1(x1) list_make1_impl(T_List, list_make_ptr_cell(x1))
#define list_make2(x1, x2) \
	list_make2_impl(T_List, list_make_ptr_cell(x1), list_make_ptr_cell(x2))
#define list_make3(x1, x2, x3) \
	list_make3_impl(T_List, list_make_ptr_cell(x1), list_make_ptr_cell(x2), \
					list_make_ptr_cell(x3))
#define list_make4(x1, x2, x3, x4) \
	list_make4_impl(T_List, list_make_ptr_cell(x1), list_make_ptr_cell(x2), \
					list_make_ptr_cell(x3), list_make_ptr_cell(x4))
#define list_make5(x1, x2, x3, x4, x5) \
	list_make5_impl(T_List, list_make_ptr_cell(x1), list_make_ptr_cell(x2), \
					list_make_ptr_cell(x3), list_make_ptr_cell(x4), list_make_ptr_cell(x5))
#define list_make1_int(x1) list_make1_impl(T_IntList, list_make_int_cell(x1))
#define list_make2_int(x1, x2) \
	list_make2_impl(T_IntList, list_make_int_cell(x1), list_make_int_cell(x2))
#define list_make3_int(x1, x2, x3) \
	list_make3_impl(T_IntList, list_make_int_cell(x1), list_make_int_cell(x2), \
					list_make_int_cell(x3))
#define list_make1_oid(x1) list_make1_impl(T_OidList, list_make_oid_cell(x1))
#define list_make2_oid(x1, x2) \
	list_make2_impl(T_OidList, list_make_oid_cell(x1), list_make_oid_cell(x2))
#define list_make3_oid(x1, x2, x3) \
	list_make3_impl(T_OidList, list_make_oid_cell(x1), list_make_oid_cell(x2), \
					list_make_oid_cell(x3))
#define list_make1_xid(x1) list_make1_impl(T_XidList, list_make_xid_cell(x1))

static inline ListCell *
list_nth_cell(const List *list, int n)
{
	Assert(list != NIL);
	Assert(n >= 0 && n < list->length);
	return &list->elements[n];
}

static inline ListCell *
list_last_cell(const List *list)
{
	Assert(list != NIL);
	return &list->elements[list->length - 1];
}

static inline void *
list_nth(const List *list, int n)
{
	Assert(IsA(list, List));
	return lfirst(list_nth_cell(list, n));
}

static inline int
list_nth_int(const List *list, int n)
{
	Assert(IsA(list, IntList));
	return lfirst_int(list_nth_cell(list, n));
}

static inline Oid
list_nth_oid(const List *list, int n)
{
	Assert(IsA(list, OidList));
	return lfirst_oid(list_nth_cell(list, n));
}

#define list_nth_node(type, list, n) castNode(type, list_nth(list, n))

static inline int
list_cell_number(const List *l, const ListCell *c)
{
	Assert(c >= &l->elements[0] && c < &l->elements[l->length]);
	return (int) (c - l->elements);
}

/* The cell after c, or NULL at the end. */
static inline ListCell *
lnext(const List *l, const ListCell *c)
{
	Assert(c >= &l->elements[0] && c < &l->elements[l->length]);
	c++;
	if (c < &l->elements[l->length])
		return (ListCell *) c;
	return NULL;
}

#define foreach(cell, lst) \
	for (ForEachState cell##__state = {(lst), 0}; \
		 (cell##__state.l != NIL && cell##__state.i < cell##__state.l->length) ? \
		 (cell = &cell##__state.l->elements[cell##__state.i], true) : (cell = NULL, false); \
		 cell##__state.i++)

/* Deletes the current cell of a foreach over lst; the loop goes on with the next. */
#define foreach_delete_current(lst, cell) \
	(cell##__state.i--, (List *) (cell##__state.l = list_delete_cell(lst, cell)))

#define foreach_current_index(cell) (cell##__state.i)

#define for_each_from(cell, lst, N) \
	for (ForEachState cell##__state = {(lst), (N)}; \
		 (cell##__state.l != NIL && cell##__state.i < cell##__state.l->length) ? \
		 (cell = &cell##__state.l->elements[cell##__state.i], true) : (cell = NULL, false); \
		 cell##__state.i++)

#define for_each_cell(cell, lst, initcell) \
	for (ForEachState cell##__state = {(lst), \
		 (initcell) != NULL ? list_cell_number(lst, initcell) : list_length(lst)}; \
		 (cell##__state.l != NIL && cell##__state.i < cell##__state.l->length) ? \
		 (cell = &cell##__state.l->elements[cell##__state.i], true) : (cell = NULL, false); \
		 cell##__state.i++)

#define multi_for_advance_cell(cell, state, l, i) \
	(cell = ((state).l != NIL && (state).i < (state).l->length) ? \
	 &(state).l->elements[(state).i] : NULL)

/* Both lists in step; ends with the shorter. */
#define forboth(cell1, list1, cell2, list2) \
	for (ForBothState cell1##__state = {(list1), (list2), 0}; \
		 multi_for_advance_cell(cell1, cell1##__state, l1, i), \
		 multi_for_advance_cell(cell2, cell1##__state, l2, i), \
		 (cell1 != NULL && cell2 != NULL); \
		 cell1##__state.i++)

extern List *lappend(List *list, void *datum);
extern List *lappend_int(List *list, int datum);
extern List *lappend_oid(List *list, Oid datum);
extern List *lappend_xid(List *list, TransactionId datum);
extern List *list_insert_nth(List *list, int pos, void *datum);
extern List *list_insert_nth_int(List *list, int pos, int datum);
extern List *list_insert_nth_oid(List *list, int pos, Oid datum);
extern List *lcons(void *datum, List *list);
extern List *lcons_int(int datum, List *list);
extern List *lcons_oid(Oid datum, List *list);
/* list1 with list2's cells appended (list2 unchanged). */
extern List *list_concat(List *list1, const List *list2);
extern List *list_concat_copy(const List *list1, const List *list2);
extern List *list_truncate(List *list, int new_size);

extern bool list_member_ptr(const List *list, const void *datum);
extern bool list_member_int(const List *list, int datum);
extern bool list_member_oid(const List *list, Oid datum);
extern bool list_member_xid(const List *list, TransactionId datum);

extern List *list_delete_ptr(List *list, void *datum);
extern List *list_delete_int(List *list, int datum);
extern List *list_delete_oid(List *list, Oid datum);
extern List *list_delete_first(List *list);
extern List *list_delete_last(List *list);
extern List *list_delete_first_n(List *list, int n);
extern List *list_delete_nth_cell(List *list, int n);
extern List *list_delete_cell(List *list, ListCell *cell);

extern List *list_append_unique_ptr(List *list, void *datum);
extern List *list_append_unique_int(List *list, int datum);
extern List *list_append_unique_oid(List *list, Oid datum);

extern List *list_copy(const List *list);
extern List *list_copy_tail(const List *list, int nskip);
extern void list_free(List *list);
/* list_free, and pfree of every pointer cell. */
extern void list_free_deep(List *list);

typedef int (*list_sort_comparator) (const ListCell *a, const ListCell *b);
extern void list_sort(List *list, list_sort_comparator cmp);
extern int	list_int_cmp(const ListCell *p1, const ListCell *p2);
extern int	list_oid_cmp(const ListCell *p1, const ListCell *p2);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PG_LIST_H */
