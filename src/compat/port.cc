// Portability helpers: the implementation behind port.h.
//
// Plain libc/syscall wrappers with PostgreSQL's contracts; nothing here
// raises ERROR or allocates from a memory context, so these are safe to
// call anywhere, including before the error machinery is usable.
#include "postgres/port.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/process.h"
#include "common/status.h"

namespace {

// Removes the last component and the separators before it; never the
// leading '/' of an absolute path.
void TrimDirectory(char* path) {
  if (path[0] == '\0') return;
  char* p = path + strlen(path) - 1;
  while (p > path && IS_DIR_SEP(*p)) p--;     // trailing separators
  while (p > path && !IS_DIR_SEP(*p)) p--;    // the last component
  while (p > path && IS_DIR_SEP(p[-1])) p--;  // separators before it
  if (p == path && IS_DIR_SEP(*p)) p++;       // keep the root
  *p = '\0';
}

}  // namespace

extern "C" {

bool pg_set_noblock(pgsocket sock) {
  const int flags = fcntl(sock, F_GETFL);
  if (flags < 0) return false;
  return fcntl(sock, F_SETFL, flags | O_NONBLOCK) != -1;
}

bool pg_set_block(pgsocket sock) {
  const int flags = fcntl(sock, F_GETFL);
  if (flags < 0) return false;
  return fcntl(sock, F_SETFL, flags & ~O_NONBLOCK) != -1;
}

char* first_dir_separator(const char* filename) {
  for (const char* p = filename; *p != '\0'; p++) {
    if (IS_DIR_SEP(*p)) return const_cast<char*>(p);
  }
  return nullptr;
}

char* last_dir_separator(const char* filename) {
  const char* last = nullptr;
  for (const char* p = filename; *p != '\0'; p++) {
    if (IS_DIR_SEP(*p)) last = p;
  }
  return const_cast<char*>(last);
}

void join_path_components(char* ret_path, const char* head, const char* tail) {
  if (ret_path != head) strlcpy(ret_path, head, MAXPGPATH);
  if (*tail == '\0') return;
  const size_t len = strlen(ret_path);
  snprintf(ret_path + len, MAXPGPATH - len, "%s%s", head[0] != '\0' ? "/" : "", tail);
}

void canonicalize_path(char* path) {
  const bool absolute = is_absolute_path(path);
  // Component starts are rewritten in place: the output never outruns the
  // input, so a single left-to-right pass suffices.
  char* out = path;
  int kept = 0;  // components in the output that a ".." may remove
  const char* in = path;
  if (absolute) {
    *out++ = '/';
    in++;
  }
  char* const base = out;
  while (*in != '\0') {
    while (IS_DIR_SEP(*in)) in++;
    if (*in == '\0') break;
    const char* end = in;
    while (*end != '\0' && !IS_DIR_SEP(*end)) end++;
    const size_t n = static_cast<size_t>(end - in);
    if (n == 1 && in[0] == '.') {
      // "." adds nothing
    } else if (n == 2 && in[0] == '.' && in[1] == '.') {
      if (kept > 0) {
        // Drop the previous component (and its separator).
        char* p = out;
        while (p > base && !IS_DIR_SEP(p[-1])) p--;
        out = p > base ? p - 1 : base;
        kept--;
      } else if (!absolute) {
        // A leading ".." of a relative path stays.
        if (out > base) *out++ = '/';
        *out++ = '.';
        *out++ = '.';
      }
      // "/.." is "/"
    } else {
      if (out > base) *out++ = '/';
      memmove(out, in, n);
      out += n;
      kept++;
    }
    in = end;
  }
  if (out == path) *out++ = '.';  // empty relative path
  *out = '\0';
}

void get_parent_directory(char* path) { TrimDirectory(path); }

bool path_contains_parent_reference(const char* path) {
  const char* p = path;
  while (*p != '\0') {
    const char* end = p;
    while (*end != '\0' && !IS_DIR_SEP(*end)) end++;
    if (end - p == 2 && p[0] == '.' && p[1] == '.') return true;
    p = *end != '\0' ? end + 1 : end;
  }
  return false;
}

bool path_is_prefix_of_path(const char* path1, const char* path2) {
  const size_t len = strlen(path1);
  return strncmp(path1, path2, len) == 0 && (IS_DIR_SEP(path2[len]) || path2[len] == '\0');
}

void pg_usleep(long microsec) {
  if (microsec <= 0) return;
  struct timespec delay;
  delay.tv_sec = microsec / 1000000L;
  delay.tv_nsec = (microsec % 1000000L) * 1000;
  // Not restarted on EINTR: a signal ends the sleep, as in PostgreSQL.
  (void)nanosleep(&delay, nullptr);
}

unsigned char pg_ascii_toupper(unsigned char ch) {
  return ch >= 'a' && ch <= 'z' ? static_cast<unsigned char>(ch - 'a' + 'A') : ch;
}

unsigned char pg_ascii_tolower(unsigned char ch) {
  return ch >= 'A' && ch <= 'Z' ? static_cast<unsigned char>(ch - 'A' + 'a') : ch;
}

unsigned char pg_toupper(unsigned char ch) {
  if (ch >= 'a' && ch <= 'z') return static_cast<unsigned char>(ch - 'a' + 'A');
  if (ch >= 0x80 && islower(ch)) return static_cast<unsigned char>(toupper(ch));
  return ch;
}

unsigned char pg_tolower(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z') return static_cast<unsigned char>(ch - 'A' + 'a');
  if (ch >= 0x80 && isupper(ch)) return static_cast<unsigned char>(tolower(ch));
  return ch;
}

int pg_strncasecmp(const char* s1, const char* s2, size_t n) {
  for (; n > 0; n--, s1++, s2++) {
    const unsigned char c1 = pg_tolower(static_cast<unsigned char>(*s1));
    const unsigned char c2 = pg_tolower(static_cast<unsigned char>(*s2));
    if (c1 != c2) return static_cast<int>(c1) - static_cast<int>(c2);
    if (c1 == '\0') break;
  }
  return 0;
}

int pg_strcasecmp(const char* s1, const char* s2) { return pg_strncasecmp(s1, s2, SIZE_MAX); }

char* pg_strerror_r(int errnum, char* buf, size_t buflen) {
  if (buflen == 0) return buf;
  return const_cast<char*>(bgw::ErrnoText(errnum, buf, buflen));
}

char* pg_strerror(int errnum) {
  static char buf[PG_STRERROR_R_BUFLEN];
  return pg_strerror_r(errnum, buf, sizeof buf);
}

#ifdef BGW_NEED_STRLCPY
size_t strlcpy(char* dst, const char* src, size_t siz) {
  const size_t len = strlen(src);
  if (siz > 0) {
    const size_t n = len < siz - 1 ? len : siz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
  }
  return len;
}

size_t strlcat(char* dst, const char* src, size_t siz) {
  const size_t dlen = strnlen(dst, siz);
  if (dlen == siz) return siz + strlen(src);  // dst not terminated within siz
  return dlen + strlcpy(dst + dlen, src, siz - dlen);
}
#endif

bool pg_get_user_name(uid_t user_id, char* buffer, size_t buflen) {
  char storage[4096];
  struct passwd pwd;
  struct passwd* result = nullptr;
  errno = 0;
  const int rc = getpwuid_r(user_id, &pwd, storage, sizeof storage, &result);
  if (rc == 0 && result != nullptr) {
    strlcpy(buffer, pwd.pw_name, buflen);
    return true;
  }
  char errbuf[PG_STRERROR_R_BUFLEN];
  snprintf(buffer, buflen, "could not look up local user ID %d: %s", static_cast<int>(user_id),
           rc != 0 ? pg_strerror_r(rc, errbuf, sizeof errbuf) : "user does not exist");
  return false;
}

bool pg_get_user_home_dir(uid_t user_id, char* buffer, size_t buflen) {
  char storage[4096];
  struct passwd pwd;
  struct passwd* result = nullptr;
  const int rc = getpwuid_r(user_id, &pwd, storage, sizeof storage, &result);
  if (rc == 0 && result != nullptr) {
    strlcpy(buffer, pwd.pw_dir, buflen);
    return true;
  }
  char errbuf[PG_STRERROR_R_BUFLEN];
  snprintf(buffer, buflen, "could not look up local user ID %d: %s", static_cast<int>(user_id),
           rc != 0 ? pg_strerror_r(rc, errbuf, sizeof errbuf) : "user does not exist");
  return false;
}

void pg_strong_random_init(void) {}

bool pg_strong_random(void* buf, size_t len) {
  auto* p = static_cast<unsigned char*>(buf);
  while (len > 0) {
    const ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

pqsigfunc pqsignal(int signo, pqsigfunc func) {
  struct sigaction act;
  struct sigaction oact;
  memset(&act, 0, sizeof act);
  act.sa_handler = func;
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_RESTART;
  if (signo == SIGCHLD) act.sa_flags |= SA_NOCLDSTOP;
  if (sigaction(signo, &act, &oact) < 0) return SIG_ERR;
  // In the postmaster, children must reset this one (common/process.h).
  if (func != SIG_DFL) bgw::NoteSignalDisposition(signo);
  return oact.sa_handler;
}

}  // extern "C"
