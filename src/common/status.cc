// The one place errno becomes text and a SQLSTATE (see status.h).
#include "common/status.h"

#include <cstdio>
#include <cstring>

namespace bgw {

const char* SqlstateForErrno(int err, ErrnoSource source) {
  if (source == ErrnoSource::kSocket) {
    switch (err) {
      case EPIPE:
      case ECONNRESET:
      case ECONNABORTED:
      case EHOSTDOWN:
      case EHOSTUNREACH:
      case ENETDOWN:
      case ENETRESET:
      case ENETUNREACH:
      case ETIMEDOUT:
        return "08006";  // connection_failure
      default:
        return "XX000";  // internal_error, as errcode_for_socket_access
    }
  }
  switch (err) {
    case EPERM:
    case EACCES:
    case EROFS:
      return "42501";  // insufficient_privilege
    case ENOENT:
      return "58P01";  // undefined_file
    case EEXIST:
      return "58P02";  // duplicate_file
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
      return "42809";  // wrong_object_type
    case ENOSPC:
      return "53100";  // disk_full
    case ENFILE:
    case EMFILE:
      return "53000";  // insufficient_resources
    case EIO:
      return "58030";  // io_error
    default:
      return "XX000";  // internal_error, as errcode_for_file_access
  }
}

namespace {
// strerror_r comes in two flavours (XSI returns int, GNU returns the text).
[[maybe_unused]] const char* FromStrerrorR(int rc, const char* buf) {
  return rc == 0 ? buf : nullptr;
}
[[maybe_unused]] const char* FromStrerrorR(const char* result, const char*) { return result; }
}  // namespace

const char* ErrnoText(int err, char* buf, size_t len) {
  if (len == 0) return "";
  buf[0] = '\0';
  const char* text = FromStrerrorR(strerror_r(err, buf, len), buf);
  if (text == nullptr || text[0] == '\0') {
    snprintf(buf, len, "operating system error %d", err);
    text = buf;
  }
  return text;
}

std::string ErrnoText(int err) {
  char buf[256];
  return ErrnoText(err, buf, sizeof buf);
}

std::string Status::ToString() const {
  if (ok()) return {};
  std::string text = rep_->message;
  if (!rep_->detail.empty()) text += "\nDETAIL:  " + rep_->detail;
  if (!rep_->hint.empty()) text += "\nHINT:  " + rep_->hint;
  return text;
}

}  // namespace bgw
