// Error reporting: the implementation behind utils/elog.h.
//
// Shape (PostgreSQL's): a small stack of ErrorData entries. errstart()
// pushes one, the aux functions (errmsg, errdetail...) fill it with strings
// palloc'd in ErrorContext, errfinish() runs the error context callbacks
// and then either writes the message and pops the entry (below ERROR),
// jumps to the innermost handler leaving the entry in place (ERROR: the
// handler reports it or flushes it), or writes it and ends the process
// (FATAL, PANIC). The stack is bounded (five entries): an error raised while
// reporting an error nests, and runaway nesting ends in PANIC instead of
// recursing forever.
//
// Writing goes to the server log through bgw::log (after emit_log_hook) and,
// once the protocol layer installs a sink, to the connected client.
//
// Nothing here keeps an object with a destructor alive across a call that
// can raise ERROR or jump: the C++ pieces (building a log::Message) live in
// helper functions that return before any jump.
#include <errno.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "common/status.h"
#include "postgres/miscadmin.h"
#include "postgres/postgres.h"
#include "postgres/storage/ipc.h"
#include "postgres/utils/memutils.h"

extern "C" {
ErrorContextCallback* error_context_stack = nullptr;
sigjmp_buf* PG_exception_stack = nullptr;
emit_log_hook_type emit_log_hook = nullptr;
}

namespace {

constexpr int kErrorDataStackSize = 5;

ErrorData errordata[kErrorDataStackSize];
int errordata_stack_depth = -1;  // index of the entry being built/handled
int recursion_depth = 0;         // > 0 while an error is being processed

void (*client_error_sink)(const ErrorData*) = nullptr;

// errno recorded by pre_format_elog_string() for format_elog_string().
int format_saved_errno = 0;

bgw::log::Level ServerLevel(int elevel) {
  if (elevel == LOG_SERVER_ONLY) return bgw::log::Level::kLog;
  if (elevel < DEBUG5) return bgw::log::Level::kDebug5;
  if (elevel > PANIC) return bgw::log::Level::kPanic;
  if (elevel == WARNING_CLIENT_ONLY) return bgw::log::Level::kWarning;
  return static_cast<bgw::log::Level>(elevel);
}

bool OutputToServer(int elevel) {
  if (elevel == WARNING_CLIENT_ONLY) return false;
  return bgw::log::ShouldEmit(ServerLevel(elevel));
}

// PostgreSQL's client_min_messages default (NOTICE); INFO always goes out.
bool OutputToClient(int elevel) {
  if (client_error_sink == nullptr || elevel == LOG_SERVER_ONLY) return false;
  return elevel >= NOTICE || elevel == INFO;
}

// The entry the aux functions work on; ERROR if errstart() was not called.
ErrorData* CurrentEntry() {
  if (errordata_stack_depth < 0) {
    errordata_stack_depth = -1;
    ereport(ERROR, errmsg_internal("errstart was not called"));
  }
  return &errordata[errordata_stack_depth];
}

// Pushes a fresh entry; PANIC when the stack is full (runaway recursion).
ErrorData* PushEntry() {
  if (++errordata_stack_depth >= kErrorDataStackSize) {
    // Make room for the PANIC report itself.
    errordata_stack_depth = -1;
    ereport(PANIC, errmsg_internal("ERRORDATA_STACK_SIZE exceeded"));
  }
  ErrorData* edata = &errordata[errordata_stack_depth];
  memset(edata, 0, sizeof(*edata));
  return edata;
}

// strerror for %m, never NULL or empty (common/status.cc's one strerror).
const char* ErrorText(int errnum, char* buf, size_t len) {
  return bgw::ErrnoText(errnum, buf, len);
}

// fmt with every %m replaced by strerror(errnum) (its own '%' doubled), in
// CurrentMemoryContext; fmt itself when it has no %m.
const char* ExpandPercentM(const char* fmt, int errnum) {
  bool has_m = false;
  for (const char* p = fmt; *p != '\0'; p++) {
    if (*p == '%' && p[1] != '\0') {
      if (p[1] == 'm') has_m = true;
      p++;
    }
  }
  if (!has_m) return fmt;
  char buf[256];
  const char* text = ErrorText(errnum, buf, sizeof buf);
  size_t text_len = 0;
  for (const char* t = text; *t != '\0'; t++) text_len += *t == '%' ? 2 : 1;
  size_t count = 0;
  for (const char* p = fmt; *p != '\0'; p++) {
    if (*p == '%' && p[1] == 'm') count++;
  }
  auto* out = static_cast<char*>(palloc(strlen(fmt) + count * text_len + 1));
  char* o = out;
  for (const char* p = fmt; *p != '\0'; p++) {
    if (*p == '%' && p[1] == 'm') {
      for (const char* t = text; *t != '\0'; t++) {
        *o++ = *t;
        if (*t == '%') *o++ = '%';
      }
      p++;
    } else if (*p == '%' && p[1] != '\0') {
      *o++ = *p++;
      *o++ = *p;
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
  return out;
}

// Formats into a new string in CurrentMemoryContext, %m included.
char* FormatMessage(const char* fmt, int errnum, va_list args) {
  const char* expanded = ExpandPercentM(fmt, errnum);
  size_t len = 128;
  for (;;) {
    auto* buf = static_cast<char*>(palloc(len));
    va_list copy;
    va_copy(copy, args);
    const size_t needed = pvsnprintf(buf, len, expanded, copy);
    va_end(copy);
    if (needed < len) {
      if (expanded != fmt) pfree(const_cast<char*>(expanded));
      return buf;
    }
    pfree(buf);
    len = needed;
  }
}

// Sets (or, with append, extends by one line) one string field of the
// current entry. Runs in the entry's memory context.
void SetField(char** field, bool append, const char* fmt, va_list args) {
  ErrorData* edata = CurrentEntry();
  recursion_depth++;
  MemoryContext old = MemoryContextSwitchTo(edata->assoc_context);
  char* text = FormatMessage(fmt, edata->saved_errno, args);
  if (append && *field != nullptr) {
    char* joined = psprintf("%s\n%s", *field, text);
    pfree(text);
    text = joined;
  }
  if (*field != nullptr) pfree(*field);
  *field = text;
  MemoryContextSwitchTo(old);
  recursion_depth--;
}

#define SET_FIELD(field, append, fmt)       \
  do {                                      \
    va_list args_;                          \
    va_start(args_, fmt);                   \
    SetField(&(field), append, fmt, args_); \
    va_end(args_);                          \
  } while (0)

const char* Plural(const char* singular, const char* plural, unsigned long n) {
  return n == 1 ? singular : plural;
}

void FreeStrings(ErrorData* edata) {
  char** fields[] = {&edata->message,       &edata->detail,          &edata->detail_log,
                     &edata->hint,          &edata->context,         &edata->backtrace,
                     &edata->schema_name,   &edata->table_name,      &edata->column_name,
                     &edata->datatype_name, &edata->constraint_name, &edata->internalquery};
  for (char** f : fields) {
    if (*f != nullptr) pfree(*f);
    *f = nullptr;
  }
}

// Copies every string of `from` into CurrentMemoryContext.
void DupStrings(ErrorData* to, const ErrorData* from) {
  auto dup = [](const char* s) -> char* { return s != nullptr ? pstrdup(s) : nullptr; };
  to->message = dup(from->message);
  to->detail = dup(from->detail);
  to->detail_log = dup(from->detail_log);
  to->hint = dup(from->hint);
  to->context = dup(from->context);
  to->backtrace = dup(from->backtrace);
  to->schema_name = dup(from->schema_name);
  to->table_name = dup(from->table_name);
  to->column_name = dup(from->column_name);
  to->datatype_name = dup(from->datatype_name);
  to->constraint_name = dup(from->constraint_name);
  to->internalquery = dup(from->internalquery);
}

template <typename T>
concept MessageWithContext = requires(T m) {
  m.context = std::string();
};

// Writes one entry to the server log. Returns before anything can jump.
void SendToServerLog(const ErrorData* edata) {
  bgw::log::Message m;
  m.level = ServerLevel(edata->elevel);
  m.text = edata->message != nullptr ? edata->message : "missing error text";
  const char* detail = edata->detail_log != nullptr ? edata->detail_log : edata->detail;
  if (detail != nullptr) m.detail = detail;
  if (edata->hint != nullptr) m.hint = edata->hint;
  m.sqlstate = unpack_sql_state(edata->sqlerrcode);
  // The logger may not carry context lines (yet); pass them when it does.
  if constexpr (MessageWithContext<bgw::log::Message>) {
    if (edata->context != nullptr && !edata->hide_ctx) m.context = edata->context;
  }
  bgw::log::Emit(m);
}

[[noreturn]] void ExitAfterReport(int elevel) {
  fflush(stdout);
  fflush(stderr);
  if (elevel >= PANIC) abort();
  // FATAL. An ERROR raised by an exit callback has nowhere to go back to.
  PG_exception_stack = nullptr;
  proc_exit(1);
}

}  // namespace

extern "C" {

bool message_level_is_interesting(int elevel) {
  return OutputToServer(elevel) || OutputToClient(elevel);
}

bool errstart(int elevel, const char* domain) {
  if (elevel >= ERROR) {
    // An ERROR inside a critical section cannot be recovered from.
    if (CritSectionCount > 0) elevel = PANIC;
    // With nowhere to jump to (or while exiting), ERROR ends the process.
    if (elevel == ERROR && (PG_exception_stack == nullptr || proc_exit_inprogress)) {
      elevel = FATAL;
    }
    // An error pending on the stack is lost when we do not return: keep the
    // worst level of them.
    for (int i = 0; i <= errordata_stack_depth; i++) {
      if (errordata[i].elevel > elevel) elevel = errordata[i].elevel;
    }
  }
  const bool to_server = OutputToServer(elevel);
  const bool to_client = OutputToClient(elevel);
  if (elevel < ERROR && !to_server && !to_client) return false;

  if (recursion_depth++ > 0 && elevel >= ERROR) {
    // An error while processing an error: the original one will never be
    // reported, so its memory can go, and after repeated trouble the
    // context callbacks (a likely culprit) are dropped.
    MemoryContextReset(ErrorContext);
    if (in_error_recursion_trouble()) error_context_stack = nullptr;
  }

  ErrorData* edata = PushEntry();
  edata->elevel = elevel;
  edata->output_to_server = to_server;
  edata->output_to_client = to_client;
  edata->domain = domain;
  edata->context_domain = domain;
  if (elevel >= ERROR) {
    edata->sqlerrcode = ERRCODE_INTERNAL_ERROR;
  } else if (elevel >= WARNING) {
    edata->sqlerrcode = ERRCODE_WARNING;
  } else {
    edata->sqlerrcode = ERRCODE_SUCCESSFUL_COMPLETION;
  }
  edata->saved_errno = errno;
  edata->assoc_context = ErrorContext;
  recursion_depth--;
  return true;
}

bool errstart_cold(int elevel, const char* domain) { return errstart(elevel, domain); }

void errfinish(const char* filename, int lineno, const char* funcname) {
  ErrorData* edata = CurrentEntry();
  const int elevel = edata->elevel;
  recursion_depth++;
  if (filename != nullptr) {
    const char* slash = strrchr(filename, '/');
    if (slash != nullptr) filename = slash + 1;
  }
  edata->filename = filename;
  edata->lineno = lineno;
  edata->funcname = funcname;

  MemoryContext old = MemoryContextSwitchTo(ErrorContext);
  for (ErrorContextCallback* cb = error_context_stack; cb != nullptr; cb = cb->previous) {
    cb->callback(cb->arg);
  }

  if (elevel == ERROR) {
    // The handler starts from a clean interrupt state, as in PostgreSQL.
    InterruptHoldoffCount = 0;
    QueryCancelHoldoffCount = 0;
    CritSectionCount = 0;
    recursion_depth--;
    PG_RE_THROW();
  }

  EmitErrorReport();
  FreeStrings(edata);
  errordata_stack_depth--;
  MemoryContextSwitchTo(old);
  recursion_depth--;

  if (elevel >= FATAL) ExitAfterReport(elevel);
}

int errcode(int sqlerrcode) {
  CurrentEntry()->sqlerrcode = sqlerrcode;
  return 0;
}

// The errno -> SQLSTATE mapping has one home, common/status.cc, shared with
// Status::FromErrno.
static int PackSqlstate(const char* s) { return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]); }

int errcode_for_file_access(void) {
  ErrorData* edata = CurrentEntry();
  edata->sqlerrcode =
      PackSqlstate(bgw::SqlstateForErrno(edata->saved_errno, bgw::ErrnoSource::kFile));
  return 0;
}

int errcode_for_socket_access(void) {
  ErrorData* edata = CurrentEntry();
  edata->sqlerrcode =
      PackSqlstate(bgw::SqlstateForErrno(edata->saved_errno, bgw::ErrnoSource::kSocket));
  return 0;
}

int errmsg(const char* fmt, ...) {
  CurrentEntry()->message_id = fmt;
  SET_FIELD(CurrentEntry()->message, false, fmt);
  return 0;
}

int errmsg_internal(const char* fmt, ...) {
  CurrentEntry()->message_id = fmt;
  SET_FIELD(CurrentEntry()->message, false, fmt);
  return 0;
}

int errmsg_plural(const char* fmt_singular, const char* fmt_plural, unsigned long n, ...) {
  const char* fmt = Plural(fmt_singular, fmt_plural, n);
  CurrentEntry()->message_id = fmt_singular;
  va_list args;
  va_start(args, n);
  SetField(&CurrentEntry()->message, false, fmt, args);
  va_end(args);
  return 0;
}

int errdetail(const char* fmt, ...) {
  SET_FIELD(CurrentEntry()->detail, false, fmt);
  return 0;
}

int errdetail_internal(const char* fmt, ...) {
  SET_FIELD(CurrentEntry()->detail, false, fmt);
  return 0;
}

int errdetail_log(const char* fmt, ...) {
  SET_FIELD(CurrentEntry()->detail_log, false, fmt);
  return 0;
}

int errdetail_log_plural(const char* fmt_singular, const char* fmt_plural, unsigned long n, ...) {
  va_list args;
  va_start(args, n);
  SetField(&CurrentEntry()->detail_log, false, Plural(fmt_singular, fmt_plural, n), args);
  va_end(args);
  return 0;
}

int errdetail_plural(const char* fmt_singular, const char* fmt_plural, unsigned long n, ...) {
  va_list args;
  va_start(args, n);
  SetField(&CurrentEntry()->detail, false, Plural(fmt_singular, fmt_plural, n), args);
  va_end(args);
  return 0;
}

int errhint(const char* fmt, ...) {
  SET_FIELD(CurrentEntry()->hint, false, fmt);
  return 0;
}

int set_errcontext_domain(const char* domain) {
  CurrentEntry()->context_domain = domain;
  return 0;
}

int errcontext_msg(const char* fmt, ...) {
  SET_FIELD(CurrentEntry()->context, true, fmt);
  return 0;
}

int errhidestmt(bool hide_stmt) {
  CurrentEntry()->hide_stmt = hide_stmt;
  return 0;
}

int errhidecontext(bool hide_ctx) {
  CurrentEntry()->hide_ctx = hide_ctx;
  return 0;
}

int errbacktrace(void) {
  (void)CurrentEntry();
  return 0;
}

int errposition(int cursorpos) {
  CurrentEntry()->cursorpos = cursorpos;
  return 0;
}

int internalerrposition(int cursorpos) {
  CurrentEntry()->internalpos = cursorpos;
  return 0;
}

int internalerrquery(const char* query) {
  ErrorData* edata = CurrentEntry();
  if (edata->internalquery != nullptr) {
    pfree(edata->internalquery);
    edata->internalquery = nullptr;
  }
  if (query != nullptr) edata->internalquery = MemoryContextStrdup(edata->assoc_context, query);
  return 0;
}

int geterrcode(void) { return CurrentEntry()->sqlerrcode; }
int geterrposition(void) { return CurrentEntry()->cursorpos; }
int getinternalerrposition(void) { return CurrentEntry()->internalpos; }

void pre_format_elog_string(int errnumber, const char*) { format_saved_errno = errnumber; }

char* format_elog_string(const char* fmt, ...) {
  MemoryContext old = MemoryContextSwitchTo(ErrorContext);
  va_list args;
  va_start(args, fmt);
  char* result = FormatMessage(fmt, format_saved_errno, args);
  va_end(args);
  MemoryContextSwitchTo(old);
  return result;
}

void EmitErrorReport(void) {
  ErrorData* edata = CurrentEntry();
  recursion_depth++;
  MemoryContext old = MemoryContextSwitchTo(edata->assoc_context);
  if (edata->output_to_server && emit_log_hook != nullptr) emit_log_hook(edata);
  if (edata->output_to_server) SendToServerLog(edata);
  if (edata->output_to_client && client_error_sink != nullptr) client_error_sink(edata);
  MemoryContextSwitchTo(old);
  recursion_depth--;
}

ErrorData* CopyErrorData(void) {
  ErrorData* edata = CurrentEntry();
  auto* copy = static_cast<ErrorData*>(palloc(sizeof(ErrorData)));
  memcpy(copy, edata, sizeof(ErrorData));
  DupStrings(copy, edata);
  copy->assoc_context = CurrentMemoryContext;
  return copy;
}

void FreeErrorData(ErrorData* edata) {
  FreeStrings(edata);
  pfree(edata);
}

void FlushErrorState(void) {
  errordata_stack_depth = -1;
  recursion_depth = 0;
  MemoryContextReset(ErrorContext);
}

void ReThrowError(ErrorData* edata) {
  recursion_depth++;
  ErrorData* entry = PushEntry();
  memcpy(entry, edata, sizeof(ErrorData));
  MemoryContext old = MemoryContextSwitchTo(ErrorContext);
  DupStrings(entry, edata);
  MemoryContextSwitchTo(old);
  entry->assoc_context = ErrorContext;
  // Like errstart: ERROR with nowhere to go ends the process.
  if (entry->elevel < ERROR) entry->elevel = ERROR;
  recursion_depth--;
  PG_RE_THROW();
}

void ThrowErrorData(ErrorData* edata) {
  if (!errstart(edata->elevel, edata->domain)) return;
  ErrorData* entry = CurrentEntry();
  recursion_depth++;
  MemoryContext old = MemoryContextSwitchTo(entry->assoc_context);
  if (edata->sqlerrcode != 0) entry->sqlerrcode = edata->sqlerrcode;
  auto dup = [](const char* s) -> char* { return s != nullptr ? pstrdup(s) : nullptr; };
  entry->message = dup(edata->message);
  entry->detail = dup(edata->detail);
  entry->detail_log = dup(edata->detail_log);
  entry->hint = dup(edata->hint);
  entry->context = dup(edata->context);
  entry->backtrace = dup(edata->backtrace);
  entry->schema_name = dup(edata->schema_name);
  entry->table_name = dup(edata->table_name);
  entry->column_name = dup(edata->column_name);
  entry->datatype_name = dup(edata->datatype_name);
  entry->constraint_name = dup(edata->constraint_name);
  entry->internalquery = dup(edata->internalquery);
  entry->message_id = edata->message_id;
  entry->cursorpos = edata->cursorpos;
  entry->internalpos = edata->internalpos;
  MemoryContextSwitchTo(old);
  recursion_depth--;
  errfinish(edata->filename, edata->lineno, edata->funcname);
}

void pg_re_throw(void) {
  if (PG_exception_stack != nullptr) siglongjmp(*PG_exception_stack, 1);
  // No handler: report the pending error as FATAL and exit.
  if (errordata_stack_depth < 0) {
    ereport(FATAL, errmsg_internal("PG_RE_THROW called with no error pending"));
  }
  ErrorData* edata = &errordata[errordata_stack_depth];
  if (edata->elevel < FATAL) edata->elevel = FATAL;
  edata->output_to_server = OutputToServer(edata->elevel);
  edata->output_to_client = OutputToClient(edata->elevel);
  error_context_stack = nullptr;
  errfinish(edata->filename, edata->lineno, edata->funcname);
  abort();  // errfinish does not return for FATAL
}

void bgw_set_client_error_sink(void (*fn)(const ErrorData* edata)) { client_error_sink = fn; }

char* unpack_sql_state(int sql_state) {
  static char buf[12];
  for (int i = 0; i < 5; i++) {
    buf[i] = static_cast<char>(PGUNSIXBIT(sql_state));
    sql_state >>= 6;
  }
  buf[5] = '\0';
  return buf;
}

bool in_error_recursion_trouble(void) { return recursion_depth > 2; }

const char* error_severity(int elevel) {
  switch (elevel) {
    case DEBUG1:
    case DEBUG2:
    case DEBUG3:
    case DEBUG4:
    case DEBUG5:
      return "DEBUG";
    case LOG:
    case LOG_SERVER_ONLY:
      return "LOG";
    case INFO:
      return "INFO";
    case NOTICE:
      return "NOTICE";
    case WARNING:
    case WARNING_CLIENT_ONLY:
      return "WARNING";
    case ERROR:
      return "ERROR";
    case FATAL:
      return "FATAL";
    case PANIC:
      return "PANIC";
    default:
      return "???";
  }
}

void write_stderr(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fflush(stderr);
}

}  // extern "C"
