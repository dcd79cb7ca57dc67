// utils/resowner.h: the owner tree and module release callbacks (see the
// header for what is not tracked). Owners and callback records live in
// TopMemoryContext, as PostgreSQL's do.
#include "postgres/utils/resowner.h"

#include "postgres/utils/elog.h"
#include "postgres/utils/memutils.h"
#include "postgres/utils/palloc.h"

struct ResourceOwnerData {
  ResourceOwner parent;
  ResourceOwner firstchild;
  ResourceOwner nextchild;
  const char* name;
};

ResourceOwner CurrentResourceOwner = nullptr;
ResourceOwner CurTransactionResourceOwner = nullptr;
ResourceOwner TopTransactionResourceOwner = nullptr;
ResourceOwner AuxProcessResourceOwner = nullptr;

namespace {

struct Callback {
  ResourceReleaseCallback callback;
  void* arg;
  Callback* next;
};

Callback* callbacks = nullptr;

void Unlink(ResourceOwner owner) {
  ResourceOwner parent = owner->parent;
  if (parent == nullptr) return;
  ResourceOwner* link = &parent->firstchild;
  while (*link != nullptr && *link != owner) link = &(*link)->nextchild;
  if (*link == owner) *link = owner->nextchild;
  owner->parent = nullptr;
  owner->nextchild = nullptr;
}

void Link(ResourceOwner owner, ResourceOwner parent) {
  owner->parent = parent;
  if (parent != nullptr) {
    owner->nextchild = parent->firstchild;
    parent->firstchild = owner;
  }
}

}  // namespace

extern "C" {

ResourceOwner ResourceOwnerCreate(ResourceOwner parent, const char* name) {
  auto* owner = static_cast<ResourceOwner>(
      MemoryContextAllocZero(TopMemoryContext, sizeof(ResourceOwnerData)));
  owner->name = name;
  Link(owner, parent);
  return owner;
}

void ResourceOwnerRelease(ResourceOwner owner, ResourceReleasePhase phase, bool isCommit,
                          bool isTopLevel) {
  // Children first, then this owner: each gives the callbacks their turn.
  for (ResourceOwner child = owner->firstchild; child != nullptr; child = child->nextchild) {
    ResourceOwnerRelease(child, phase, isCommit, isTopLevel);
  }
  for (Callback* c = callbacks; c != nullptr;) {
    Callback* next = c->next;  // a callback may unregister itself
    c->callback(phase, isCommit, isTopLevel, c->arg);
    c = next;
  }
}

void ResourceOwnerDelete(ResourceOwner owner) {
  if (owner == CurrentResourceOwner) {
    elog(ERROR, "cannot delete the current resource owner \"%s\"", owner->name);
  }
  while (owner->firstchild != nullptr) ResourceOwnerDelete(owner->firstchild);
  Unlink(owner);
  pfree(owner);
}

ResourceOwner ResourceOwnerGetParent(ResourceOwner owner) { return owner->parent; }

void ResourceOwnerNewParent(ResourceOwner owner, ResourceOwner newparent) {
  Unlink(owner);
  Link(owner, newparent);
}

void RegisterResourceReleaseCallback(ResourceReleaseCallback callback, void* arg) {
  auto* c = static_cast<Callback*>(MemoryContextAlloc(TopMemoryContext, sizeof(Callback)));
  c->callback = callback;
  c->arg = arg;
  c->next = callbacks;
  callbacks = c;
}

void UnregisterResourceReleaseCallback(ResourceReleaseCallback callback, void* arg) {
  for (Callback** link = &callbacks; *link != nullptr; link = &(*link)->next) {
    if ((*link)->callback == callback && (*link)->arg == arg) {
      Callback* c = *link;
      *link = c->next;
      pfree(c);
      return;
    }
  }
}

void CreateAuxProcessResourceOwner(void) {
  AuxProcessResourceOwner = ResourceOwnerCreate(nullptr, "AuxiliaryProcess");
  CurrentResourceOwner = AuxProcessResourceOwner;
}

void ReleaseAuxProcessResources(bool isCommit) {
  if (AuxProcessResourceOwner == nullptr) return;
  ResourceOwnerRelease(AuxProcessResourceOwner, RESOURCE_RELEASE_BEFORE_LOCKS, isCommit, true);
  ResourceOwnerRelease(AuxProcessResourceOwner, RESOURCE_RELEASE_LOCKS, isCommit, true);
  ResourceOwnerRelease(AuxProcessResourceOwner, RESOURCE_RELEASE_AFTER_LOCKS, isCommit, true);
}

}  // extern "C"
