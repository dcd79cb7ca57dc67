#include "compat/session_roles.h"

namespace bgw::compat {
namespace {

SessionRoles published;

}  // namespace

void PublishSessionRoles(const SessionRoles& roles) { published = roles; }

const SessionRoles& PublishedSessionRoles() { return published; }

}  // namespace bgw::compat
