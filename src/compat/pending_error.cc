// See pending_error.h.
#include "compat/pending_error.h"

#include "postgres/postgres.h"

namespace bgw {

void Capture(const Status& status, int elevel, PendingError* out) {
  if (status.ok()) return;
  const ErrorReport& e = status.error();
  out->elevel = e.severity == "FATAL" ? FATAL : elevel;
  const std::string& s = e.sqlstate;
  out->sqlerrcode =
      s.size() == 5 ? MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]) : ERRCODE_INTERNAL_ERROR;
  out->message = pstrdup(e.message.c_str());
  out->detail = e.detail.empty() ? nullptr : pstrdup(e.detail.c_str());
  out->hint = e.hint.empty() ? nullptr : pstrdup(e.hint.c_str());
}

void Capture(const Status& status, PendingError* out) { Capture(status, ERROR, out); }

void CaptureOwn(int elevel, int sqlerrcode, const char* message, const char* hint,
                PendingError* out) {
  out->elevel = elevel;
  out->sqlerrcode = sqlerrcode;
  out->message = pstrdup(message);
  out->detail = nullptr;
  out->hint = hint != nullptr ? pstrdup(hint) : nullptr;
}

void RaiseIfSet(const PendingError& e) {
  if (!e.pending()) return;
  ereport(e.elevel, errcode(e.sqlerrcode), errmsg_internal("%s", e.message),
          e.detail != nullptr ? errdetail_internal("%s", e.detail) : 0,
          e.hint != nullptr ? errhint("%s", e.hint) : 0);
}

}  // namespace bgw
