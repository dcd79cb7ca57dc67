/*
 * utils/resowner.h: resource owners, PostgreSQL 13-15 compatible: a tree of
 * owners released in three phases, with release callbacks for modules.
 *
 * What differs: no server resource (buffers, locks, DSM mappings, files)
 * is tracked by an owner here. A DSM mapping lasts until dsm_detach() or
 * process exit, as it does in PostgreSQL for a process without a current
 * owner; releasing an owner runs the registered callbacks (for it and its
 * children, children first, at each phase) and nothing else.
 */
#ifndef BGW_COMPAT_RESOWNER_H
#define BGW_COMPAT_RESOWNER_H

#include "c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ResourceOwnerData *ResourceOwner;

extern PGDLLIMPORT ResourceOwner CurrentResourceOwner;
extern PGDLLIMPORT ResourceOwner CurTransactionResourceOwner;
extern PGDLLIMPORT ResourceOwner TopTransactionResourceOwner;
extern PGDLLIMPORT ResourceOwner AuxProcessResourceOwner;

typedef enum
{
	RESOURCE_RELEASE_BEFORE_LOCKS,
	RESOURCE_RELEASE_LOCKS,
	RESOURCE_RELEASE_AFTER_LOCKS
} ResourceReleasePhase;

typedef void (*ResourceReleaseCallback) (ResourceReleasePhase phase, bool isCommit,
										 bool isTopLevel, void *arg);

/* A new owner (in TopMemoryContext), a child of parent unless NULL. */
extern ResourceOwner ResourceOwnerCreate(ResourceOwner parent, const char *name);
extern void ResourceOwnerRelease(ResourceOwner owner, ResourceReleasePhase phase, bool isCommit,
								 bool isTopLevel);
/* Deletes the owner and its children (CurrentResourceOwner may not be among them). */
extern void ResourceOwnerDelete(ResourceOwner owner);
extern ResourceOwner ResourceOwnerGetParent(ResourceOwner owner);
extern void ResourceOwnerNewParent(ResourceOwner owner, ResourceOwner newparent);
extern void RegisterResourceReleaseCallback(ResourceReleaseCallback callback, void *arg);
extern void UnregisterResourceReleaseCallback(ResourceReleaseCallback callback, void *arg);
extern void CreateAuxProcessResourceOwner(void);
extern void ReleaseAuxProcessResources(bool isCommit);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_RESOWNER_H */
