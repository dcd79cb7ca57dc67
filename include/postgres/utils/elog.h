/*
 * utils/elog.h: error reporting (ereport/elog) and error recovery
 * (PG_TRY/PG_CATCH), PostgreSQL 13-15 compatible.
 *
 * Why shaped so: modules call ereport() in both of PostgreSQL's spellings,
 * the PostgreSQL 12+ one `ereport(ERROR, errcode(...), errmsg(...))` and the
 * older parenthesized one `ereport(ERROR, (errcode(...), errmsg(...)))`, and
 * they rely on PostgreSQL's evaluation rules: errstart() decides first
 * whether the message is wanted at all, and the errmsg()/errdetail()
 * arguments are only evaluated when it is. So ereport is a macro around
 * errstart()/errfinish() exactly as in PostgreSQL, and the aux functions
 * (errmsg, errdetail, ...) fill in the error being built.
 *
 * How each level ends:
 *   - below ERROR: the message is written (server log via the log hook and
 *     bgw's logger; the client, once a client sink is installed) and
 *     ereport returns.
 *   - ERROR: the error is saved on the error stack and control jumps with
 *     siglongjmp() to *PG_exception_stack: the innermost PG_TRY(), or the
 *     process's top-level handler (a background worker's reports the error
 *     and exits with status 1). With no handler at all, the ERROR is
 *     promoted to FATAL. ERROR is never written before the jump; whoever
 *     catches it decides (EmitErrorReport, or FlushErrorState to drop it).
 *   - FATAL: written, then proc_exit(1) (exit callbacks run).
 *   - PANIC: written, then abort(); the postmaster treats that as a crash.
 *
 * ERROR unwinds with siglongjmp (PostgreSQL's mechanism), NOT with a C++
 * exception. C++ code must therefore not have objects with non-trivial
 * destructors (std::string, std::vector, smart pointers, lock guards...)
 * alive in any frame between a PG_TRY/handler and a call that can raise
 * ERROR: their destructors would be skipped (leaks, held locks) and the
 * behaviour is undefined by the C++ standard. Keep such objects in an inner
 * scope that ends before the call, or catch the ERROR with PG_TRY in the
 * same frame and convert it. Locals of the function containing PG_TRY that
 * are modified inside the PG_TRY block and read in PG_CATCH must be
 * declared volatile.
 *
 * Not thread-safe: like PostgreSQL, one thread per process uses this API.
 */
#ifndef BGW_COMPAT_ELOG_H
#define BGW_COMPAT_ELOG_H

#include <setjmp.h>

#include "c.h"
#include "utils/errcodes.h"

/*
 * Under a strict ISO mode (gcc -std=c99 without _GNU_SOURCE/_POSIX_C_SOURCE)
 * glibc's <setjmp.h> hides the POSIX sigjmp_buf, sigsetjmp and siglongjmp
 * that PG_TRY needs. They are the same objects as the always-visible
 * __jmp_buf_tag/__sigsetjmp, so name them here in that case.
 */
#if defined(__GLIBC__) && !defined(__USE_POSIX)
typedef struct __jmp_buf_tag sigjmp_buf[1];
#define sigsetjmp(env, savemask) __sigsetjmp(env, savemask)
extern void siglongjmp(sigjmp_buf env, int val) __attribute__((noreturn));
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Error levels, PostgreSQL's values. */
#define DEBUG5 10
#define DEBUG4 11
#define DEBUG3 12
#define DEBUG2 13
#define DEBUG1 14
#define LOG 15             /* server log only; ranks above ERROR there */
#define LOG_SERVER_ONLY 16 /* like LOG, never sent to the client */
#define COMMERROR LOG_SERVER_ONLY
#define INFO 17 /* always sent to the client */
#define NOTICE 18
#define WARNING 19
#define PGWARNING 19
#define WARNING_CLIENT_ONLY 20 /* client only, never the server log */
#define ERROR 21
#define PGERROR 21
#define FATAL 22
#define PANIC 23

/* Message translation domain; we do not translate, the value is recorded. */
#ifndef TEXTDOMAIN
#define TEXTDOMAIN NULL
#endif

/* PostgreSQL uses this to reject `errno` as an elevel; a no-op here. */
#define pg_prevent_errno_in_scope() ((void)0)

/*
 * ereport(elevel, aux...): when elevel is a compile-time constant >= ERROR
 * the compiler learns that the statement does not return.
 */
#define ereport_domain(elevel, domain, ...)                                               \
  do {                                                                                    \
    pg_prevent_errno_in_scope();                                                          \
    if (__builtin_constant_p(elevel) && (elevel) >= ERROR ? errstart_cold(elevel, domain) \
                                                          : errstart(elevel, domain))     \
      __VA_ARGS__, errfinish(__FILE__, __LINE__, __func__);                               \
    if (__builtin_constant_p(elevel) && (elevel) >= ERROR) pg_unreachable();              \
  } while (0)

#define ereport(elevel, ...) ereport_domain(elevel, TEXTDOMAIN, __VA_ARGS__)

/* elog(elevel, fmt, ...): an ereport with only an untranslated message. */
#define elog(elevel, ...) ereport(elevel, errmsg_internal(__VA_ARGS__))

/*
 * Starts an error report. Returns false (and nothing else happens) when a
 * message of this level would be written nowhere; levels >= ERROR always
 * return true. Saves errno for %m.
 */
extern bool errstart(int elevel, const char* domain);
extern bool errstart_cold(int elevel, const char* domain) __attribute__((cold));
/* Ends the report started by errstart(): writes it and/or ends control. */
extern void errfinish(const char* filename, int lineno, const char* funcname);
/* True when a message of this level would be written anywhere. */
extern bool message_level_is_interesting(int elevel);

/*
 * Aux functions, valid only between errstart() and errfinish() (that is,
 * inside ereport()). They return a dummy int so they can be comma-joined.
 * Every format string may use %m: strerror() of the errno saved by
 * errstart().
 */
extern int errcode(int sqlerrcode);
extern int errcode_for_file_access(void);
extern int errcode_for_socket_access(void);
extern int errmsg(const char* fmt, ...) pg_attribute_printf(1, 2);
extern int errmsg_internal(const char* fmt, ...) pg_attribute_printf(1, 2);
extern int errmsg_plural(const char* fmt_singular, const char* fmt_plural, unsigned long n, ...)
    pg_attribute_printf(1, 4) pg_attribute_printf(2, 4);
extern int errdetail(const char* fmt, ...) pg_attribute_printf(1, 2);
extern int errdetail_internal(const char* fmt, ...) pg_attribute_printf(1, 2);
extern int errdetail_log(const char* fmt, ...) pg_attribute_printf(1, 2);
extern int errdetail_log_plural(const char* fmt_singular, const char* fmt_plural, unsigned long n,
                                ...) pg_attribute_printf(1, 4) pg_attribute_printf(2, 4);
extern int errdetail_plural(const char* fmt_singular, const char* fmt_plural, unsigned long n, ...)
    pg_attribute_printf(1, 4) pg_attribute_printf(2, 4);
extern int errhint(const char* fmt, ...) pg_attribute_printf(1, 2);

/*
 * errcontext() is called from error context callbacks (and may be used
 * inside ereport too); each call appends one line to the error's context.
 */
#define errcontext set_errcontext_domain(TEXTDOMAIN), errcontext_msg
extern int set_errcontext_domain(const char* domain);
extern int errcontext_msg(const char* fmt, ...) pg_attribute_printf(1, 2);

extern int errhidestmt(bool hide_stmt);
extern int errhidecontext(bool hide_ctx);
extern int errbacktrace(void); /* accepted; no backtrace is collected */
extern int errposition(int cursorpos);
extern int internalerrposition(int cursorpos);
extern int internalerrquery(const char* query);

/* Fields of the error being built (valid inside ereport or a context callback). */
extern int geterrcode(void);
extern int geterrposition(void);
extern int getinternalerrposition(void);

/*
 * Building an error string outside ereport (used by GUC_check_errdetail and
 * friends): pre_format_elog_string() records the errno for %m,
 * format_elog_string() formats; the result lives in ErrorContext.
 */
extern void pre_format_elog_string(int errnumber, const char* domain);
extern char* format_elog_string(const char* fmt, ...) pg_attribute_printf(1, 2);

/* Error context callbacks: a stack of frames, called by errfinish(). */
typedef struct ErrorContextCallback {
  struct ErrorContextCallback* previous;
  void (*callback)(void* arg);
  void* arg;
} ErrorContextCallback;

extern PGDLLIMPORT ErrorContextCallback* error_context_stack;

/*
 * Catching ERROR:
 *
 *     PG_TRY();
 *     {
 *         ... code that may raise ERROR ...
 *     }
 *     PG_CATCH();          or   PG_FINALLY();
 *     {
 *         ... recovery; PG_RE_THROW() to pass it on ...
 *     }
 *     PG_END_TRY();
 *
 * PG_FINALLY's block runs on both paths and a caught error is rethrown
 * after it. FATAL and PANIC are never caught. In PG_CATCH the current
 * memory context is ErrorContext: switch back before CopyErrorData().
 * PG_TRY takes an optional suffix (PG_TRY(a) ... PG_END_TRY(a)) so that
 * nested blocks in one function need not shadow each other's variables.
 */
#define PG_TRY(...)                                                               \
  do {                                                                            \
    sigjmp_buf* _save_exception_stack##__VA_ARGS__ = PG_exception_stack;          \
    ErrorContextCallback* _save_context_stack##__VA_ARGS__ = error_context_stack; \
    sigjmp_buf _local_sigjmp_buf##__VA_ARGS__;                                    \
    volatile bool _do_rethrow##__VA_ARGS__ = false;                               \
    if (sigsetjmp(_local_sigjmp_buf##__VA_ARGS__, 0) == 0) {                      \
    PG_exception_stack = &_local_sigjmp_buf##__VA_ARGS__

#define PG_CATCH(...)                                        \
  }                                                          \
  else {                                                     \
    PG_exception_stack = _save_exception_stack##__VA_ARGS__; \
    error_context_stack = _save_context_stack##__VA_ARGS__

#define PG_FINALLY(...)                                      \
  }                                                          \
  else _do_rethrow##__VA_ARGS__ = true;                      \
  {                                                          \
    PG_exception_stack = _save_exception_stack##__VA_ARGS__; \
    error_context_stack = _save_context_stack##__VA_ARGS__

#define PG_END_TRY(...)                                    \
  }                                                        \
  if (_do_rethrow##__VA_ARGS__) PG_RE_THROW();             \
  PG_exception_stack = _save_exception_stack##__VA_ARGS__; \
  error_context_stack = _save_context_stack##__VA_ARGS__;  \
  }                                                        \
  while (0)

#define PG_RE_THROW() pg_re_throw()

/* The innermost handler for ERROR; NULL when there is none. */
extern PGDLLIMPORT sigjmp_buf* PG_exception_stack;

/*
 * Everything one ereport() collected. Non-const strings are palloc'd in
 * assoc_context (ErrorContext while the error is on the error stack); the
 * const ones point at constant strings.
 */
typedef struct ErrorData {
  int elevel;
  bool output_to_server; /* will be written to the server log */
  bool output_to_client; /* will be sent to the client */
  bool hide_stmt;
  bool hide_ctx;
  const char* filename; /* __FILE__, __LINE__, __func__ of the ereport */
  int lineno;
  const char* funcname;
  const char* domain;
  const char* context_domain;
  int sqlerrcode; /* MAKE_SQLSTATE value */
  char* message;
  char* detail;
  char* detail_log; /* server-log-only detail */
  char* hint;
  char* context; /* context lines, newline-separated */
  char* backtrace;
  const char* message_id; /* the untranslated format of message */
  char* schema_name;
  char* table_name;
  char* column_name;
  char* datatype_name;
  char* constraint_name;
  int cursorpos;
  int internalpos;
  char* internalquery;
  int saved_errno; /* errno at errstart() */
  struct MemoryContextData* assoc_context;
} ErrorData;

/* Writes the error on top of the error stack (the one being handled). */
extern void EmitErrorReport(void);
/*
 * Returns a copy of the error being handled, allocated in the current
 * memory context (which must not be ErrorContext). Free with
 * FreeErrorData().
 */
extern ErrorData* CopyErrorData(void);
extern void FreeErrorData(ErrorData* edata);
/* Forgets every error being handled and frees ErrorContext's memory. */
extern void FlushErrorState(void);
/* Raises again, as ERROR, an error saved by CopyErrorData(). */
extern void ReThrowError(ErrorData* edata) pg_attribute_noreturn();
/* Reports an error built by hand, at its elevel (may not return). */
extern void ThrowErrorData(ErrorData* edata);
/* Jumps to the innermost handler with the current error (PG_RE_THROW). */
extern void pg_re_throw(void) pg_attribute_noreturn();

/*
 * Called for every message that will be written to the server log, before
 * it is written. The hook may clear edata->output_to_server to suppress it.
 * Chain to the previous hook, as in PostgreSQL.
 */
typedef void (*emit_log_hook_type)(ErrorData* edata);
extern PGDLLIMPORT emit_log_hook_type emit_log_hook;

/*
 * bgw extension: where messages for the connected client go (NOTICE and
 * above, and INFO; never LOG_SERVER_ONLY). NULL (the default) means no
 * client is connected. The sink must not raise ERROR.
 */
extern void bgw_set_client_error_sink(void (*fn)(const ErrorData* edata));

/* The five-character SQLSTATE text of a MAKE_SQLSTATE value (static buffer). */
extern char* unpack_sql_state(int sql_state);
/* True when an error occurred while reporting an error, more than once. */
extern bool in_error_recursion_trouble(void);
/* "ERROR", "WARNING", ... as written in the log. */
extern const char* error_severity(int elevel);
/* Writes straight to stderr; usable before anything else is set up. */
extern void write_stderr(const char* fmt, ...) pg_attribute_printf(1, 2);

#ifdef __cplusplus
}
#endif

#endif /* BGW_COMPAT_ELOG_H */
