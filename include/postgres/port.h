/*
 * port.h: portability helpers of PostgreSQL's src/port, PostgreSQL 13-15
 * compatible subset for modules: signal handlers, sleeping, sockets,
 * string and path helpers, random bytes.
 *
 * Unlike PostgreSQL's port.h, this header does not redefine libc names
 * (snprintf, strerror, qsort...): modules get the C library's own, and the
 * PostgreSQL-flavoured versions only under their pg_ names. strlcpy/strlcat
 * are provided only where the C library lacks them (glibc before 2.38), so
 * they never conflict with a libc declaration.
 */
#ifndef BGW_COMPAT_PORT_H
#define BGW_COMPAT_PORT_H

#include <ctype.h>

#include "c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sockets. */
typedef int pgsocket;
#define PGINVALID_SOCKET (-1)
#define closesocket close

/* Sets/clears O_NONBLOCK; false (errno set) on failure. */
extern bool pg_set_noblock(pgsocket sock);
extern bool pg_set_block(pgsocket sock);

/* Files. */
#define PG_BINARY 0
#define PG_BINARY_A "a"
#define PG_BINARY_R "r"
#define PG_BINARY_W "w"
#define PG_IOLBF _IOLBF
#define DEVNULL "/dev/null"
#define EXE ""
typedef off_t pgoff_t;

/* Paths (Unix only: '/' is the one separator). */
#define IS_DIR_SEP(ch) ((ch) == '/')
#define is_absolute_path(filename) (IS_DIR_SEP((filename)[0]))

/* First/last '/' of filename, or NULL. */
extern char* first_dir_separator(const char* filename);
extern char* last_dir_separator(const char* filename);
/*
 * ret_path = head "/" tail (no '/' when head is empty), truncated to
 * MAXPGPATH. ret_path may be head itself.
 */
extern void join_path_components(char* ret_path, const char* head, const char* tail);
/*
 * Normalizes a path in place, lexically: collapses repeated '/', drops "."
 * components and trailing '/', folds "x/.." away ("/.." is "/"; leading ".."
 * of a relative path stays). An empty relative result is ".".
 */
extern void canonicalize_path(char* path);
/* Removes the last component (and the '/' before it) in place; never the leading '/'. */
extern void get_parent_directory(char* path);
/* True when some component of path is "..". */
extern bool path_contains_parent_reference(const char* path);
/* True when path1 is a directory prefix of path2 ("/a" of "/a/b", not of "/ab"). */
extern bool path_is_prefix_of_path(const char* path1, const char* path2);

/*
 * Sleeps for microsec microseconds. A signal ends the sleep early (as in
 * PostgreSQL): callers that must wait should use WaitLatch.
 */
extern void pg_usleep(long microsec);

/* Case-insensitive comparison: ASCII always, high-bit bytes per the C locale. */
extern int pg_strcasecmp(const char* s1, const char* s2);
extern int pg_strncasecmp(const char* s1, const char* s2, size_t n);
extern unsigned char pg_toupper(unsigned char ch);
extern unsigned char pg_tolower(unsigned char ch);
extern unsigned char pg_ascii_toupper(unsigned char ch);
extern unsigned char pg_ascii_tolower(unsigned char ch);

/*
 * strerror that never fails: unknown codes read "operating system error N".
 * pg_strerror uses a static buffer; pg_strerror_r writes to buf (and returns
 * a pointer to the text, which may or may not be buf).
 */
#define PG_STRERROR_R_BUFLEN 256
extern char* pg_strerror(int errnum);
extern char* pg_strerror_r(int errnum, char* buf, size_t buflen);

/*
 * strlcpy/strlcat (BSD semantics: always NUL-terminate when size > 0,
 * return the length of the string they tried to create).
 */
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if !__GLIBC_PREREQ(2, 38)
#define BGW_NEED_STRLCPY 1
#endif
#endif
#if defined(BGW_NEED_STRLCPY) || (defined(__GLIBC__) && !defined(__USE_MISC))
/* Ours (old glibc), or the C library's hidden by a strict -std= mode. */
extern size_t strlcpy(char* dst, const char* src, size_t siz);
extern size_t strlcat(char* dst, const char* src, size_t siz);
#endif

/*
 * The login name of user_id in buffer. On failure returns false with an
 * error message in buffer instead.
 */
extern bool pg_get_user_name(uid_t user_id, char* buffer, size_t buflen);
extern bool pg_get_user_home_dir(uid_t user_id, char* buffer, size_t buflen);

/* Fills buf with len bytes from the kernel's CSPRNG; false on failure. */
extern void pg_strong_random_init(void);
extern bool pg_strong_random(void* buf, size_t len);
#define pg_backend_random pg_strong_random

/*
 * Installs a signal handler with sigaction(): SA_RESTART, nothing extra
 * blocked while it runs (SA_NOCLDSTOP for SIGCHLD). SIG_IGN and SIG_DFL
 * are accepted. Returns the previous handler, or SIG_ERR on failure.
 */
typedef void (*pqsigfunc)(int signo);
extern pqsigfunc pqsignal(int signo, pqsigfunc func);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_PORT_H */
