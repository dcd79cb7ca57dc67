/*
 * nodes/nodes.h: the node tag every PostgreSQL node starts with, 13-15
 * compatible subset. Only the tags of the node types these headers define
 * exist (the lists of nodes/pg_list.h); code that names another node type
 * does not compile, rather than meet a node this server never builds.
 */
#ifndef BGW_COMPAT_NODES_H
#define BGW_COMPAT_NODES_H

#include "postgres.h"

typedef enum NodeTag
{
	T_Invalid = 0,
	T_List,
	T_IntList,
	T_OidList,
	T_XidList
} NodeTag;

typedef struct Node
{
	NodeTag		type;
} Node;

#define nodeTag(nodeptr) (((const Node *) (nodeptr))->type)
#define IsA(nodeptr, _type_) (nodeTag(nodeptr) == T_##_type_)
#define castNode(_type_, nodeptr) ((_type_ *) (nodeptr))

#endif /* BGW_COMPAT_NODES_H */
