// Statement classification: which statements SQLite runs (and the command
// tag PostgreSQL gives each) and which the engine runs itself as utility
// statements (utility.cc), decided from the leading keywords of lexer.h's
// significant tokens.
#include "sql/session_internal.h"

#include <cctype>

#include "common/strutil.h"

namespace bgw::sql {
namespace internal {

std::string LowerWord(const Token& t) {
  return t.kind == TokenKind::kWord ? AsciiLower(t.text) : std::string();
}

std::string WordAt(const std::vector<Token>& t, size_t i) {
  return i < t.size() ? LowerWord(t[i]) : std::string();
}

namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Classified Classify(const std::vector<Token>& t) {
  Classified c;
  if (t.empty()) {
    c.kind = Kind::kEmpty;
    return c;
  }
  const std::string w0 = WordAt(t, 0), w1 = WordAt(t, 1);
  auto noop = [&](std::string tag) {
    c.kind = Kind::kNoop;
    c.tag = std::move(tag);
    return c;
  };
  auto unsupported = [&](std::string what) {
    c.kind = Kind::kUnsupported;
    c.tag = std::move(what);
    return c;
  };
  if (w0 == "begin" || (w0 == "start" && w1 == "transaction")) {
    c.kind = Kind::kBegin;
  } else if (w0 == "commit" || w0 == "end") {
    if (w1 == "prepared") return unsupported("COMMIT PREPARED");
    c.kind = Kind::kCommit;
  } else if (w0 == "rollback" || w0 == "abort") {
    if (w1 == "prepared") return unsupported("ROLLBACK PREPARED");
    c.kind = Kind::kRollback;
    for (size_t i = 1; i < t.size(); ++i) {
      if (WordAt(t, i) == "to") c.kind = Kind::kRollbackTo;
    }
  } else if (w0 == "savepoint") {
    c.kind = Kind::kSavepoint;
  } else if (w0 == "release") {
    c.kind = Kind::kRelease;
  } else if (w0 == "set") {
    c.kind = Kind::kSet;
  } else if (w0 == "show") {
    c.kind = Kind::kShow;
  } else if (w0 == "reset") {
    c.kind = Kind::kReset;
  } else if (w0 == "discard") {
    c.kind = Kind::kDiscard;
  } else if (w0 == "listen") {
    c.kind = Kind::kListen;
  } else if (w0 == "unlisten") {
    c.kind = Kind::kUnlisten;
  } else if (w0 == "notify") {
    c.kind = Kind::kNotify;
  } else if (w0 == "truncate") {
    c.kind = Kind::kTruncate;
  } else if (w0 == "create") {
    size_t i = 1;
    while (i < t.size()) {
      std::string w = WordAt(t, i);
      if (w == "or" || w == "replace" || w == "temp" || w == "temporary" || w == "unique" ||
          w == "trusted" || w == "procedural" || w == "unlogged") {
        ++i;
      } else {
        break;
      }
    }
    const std::string obj = WordAt(t, i);
    if (obj == "function") c.kind = Kind::kCreateFunction;
    if (obj == "procedure") return unsupported("CREATE PROCEDURE");
    if (obj == "database") c.kind = Kind::kCreateDatabase;
    if (obj == "role" || obj == "user" || obj == "group") c.kind = Kind::kCreateRole;
    if (obj == "schema") return noop("CREATE SCHEMA");
    if (obj == "extension") c.kind = Kind::kCreateExtension;
  } else if (w0 == "alter") {
    if (w1 == "database") c.kind = Kind::kAlterDatabase;
    if (w1 == "role" || w1 == "user" || w1 == "group") c.kind = Kind::kAlterRole;
    if (w1 == "system") return unsupported("ALTER SYSTEM");
    if (w1 == "extension") c.kind = Kind::kAlterExtension;
    if (w1 == "table" || w1 == "view" || w1 == "index" || w1 == "sequence" || w1 == "schema" ||
        w1 == "function" || w1 == "materialized") {
      // ... OWNER TO role: ours; the rest of ALTER TABLE is SQLite's.
      for (size_t i = 2; i + 1 < t.size(); ++i) {
        if (WordAt(t, i) == "owner" && WordAt(t, i + 1) == "to") c.kind = Kind::kAlterOwner;
      }
      if (w1 == "schema" && c.kind != Kind::kAlterOwner) return unsupported("ALTER SCHEMA");
    }
  } else if (w0 == "drop") {
    if (w1 == "table" || w1 == "index" || w1 == "view") {
      // SQLite drops one object per statement; PostgreSQL takes a list and
      // CASCADE/RESTRICT.
      for (size_t i = 2; i < t.size(); ++i) {
        const std::string w = WordAt(t, i);
        if (t[i].kind == TokenKind::kComma || w == "cascade" || w == "restrict") {
          c.kind = Kind::kDropObjects;
        }
      }
    }
    if (w1 == "function") c.kind = Kind::kDropFunction;
    if (w1 == "extension") c.kind = Kind::kDropExtension;
    if (w1 == "database") c.kind = Kind::kDropDatabase;
    if (w1 == "role" || w1 == "user" || w1 == "group") c.kind = Kind::kDropRole;
    if (w1 == "schema") return unsupported("DROP SCHEMA");
    if (w1 == "owned") c.kind = Kind::kDropOwned;
  } else if (w0 == "deallocate") {
    return noop(WordAt(t, 1) == "all" || WordAt(t, 2) == "all" ? "DEALLOCATE ALL" : "DEALLOCATE");
  } else if (w0 == "vacuum") {
    // SQLite's VACUUM rewrites the whole file and cannot run in a
    // transaction; PostgreSQL's is maintenance clients may issue freely.
    c.kind = Kind::kVacuum;
    for (size_t i = 1; i < t.size(); ++i) {
      if (WordAt(t, i) == "into") return unsupported("VACUUM INTO");
    }
  } else if (w0 == "checkpoint") {
    return noop("CHECKPOINT");
  } else if (w0 == "lock") {
    return noop("LOCK TABLE");
  } else if (w0 == "comment") {
    return noop("COMMENT");
  } else if (w0 == "grant" || w0 == "revoke") {
    c.kind = Kind::kGrant;
  } else if (w0 == "reassign" && w1 == "owned") {
    c.kind = Kind::kReassignOwned;
  } else if (w0 == "prepare" || w0 == "execute") {
    return unsupported(Upper(w0));
  } else if (w0 == "copy" || w0 == "do" || w0 == "declare" || w0 == "fetch" || w0 == "move" ||
             w0 == "close" || w0 == "call" || w0 == "cluster" || w0 == "refresh" ||
             w0 == "security" || w0 == "import" || w0 == "load") {
    return unsupported(Upper(w0));
  }
  return c;
}

SqliteTag TagFor(const std::vector<Token>& t) {
  SqliteTag tag;
  std::string w0 = WordAt(t, 0);
  if (w0 == "with") {
    int depth = 0;
    for (size_t i = 1; i < t.size(); ++i) {
      if (t[i].kind == TokenKind::kLParen) ++depth;
      if (t[i].kind == TokenKind::kRParen) --depth;
      if (depth != 0) continue;
      std::string w = WordAt(t, i);
      if (w == "select" || w == "insert" || w == "update" || w == "delete" || w == "replace" ||
          w == "values") {
        w0 = w;
        break;
      }
    }
  }
  if (w0 == "select" || w0 == "values" || w0 == "pragma" || w0 == "with") {
    tag.style = TagStyle::kRows;
    tag.base = "SELECT";
  } else if (w0 == "insert" || w0 == "replace") {
    tag.style = TagStyle::kInsert;
  } else if (w0 == "update") {
    tag.style = TagStyle::kUpdate;
  } else if (w0 == "delete") {
    tag.style = TagStyle::kDelete;
  } else if (w0 == "create") {
    size_t i = 1;
    while (i < t.size()) {
      std::string w = WordAt(t, i);
      if (w == "temp" || w == "temporary" || w == "unique" || w == "virtual" || w == "or" ||
          w == "replace" || w == "unlogged") {
        ++i;
      } else {
        break;
      }
    }
    tag.base = "CREATE " + Upper(WordAt(t, i));
    if (WordAt(t, i) == "table") {
      for (size_t k = i; k < t.size(); ++k) {
        if (WordAt(t, k) == "as") tag.base = "CREATE TABLE AS";
        if (t[k].kind == TokenKind::kLParen) break;
      }
    }
  } else if (w0 == "drop" || w0 == "alter") {
    tag.base = Upper(w0) + " " + Upper(WordAt(t, 1));
  } else if (w0 == "explain") {
    tag.style = TagStyle::kRows;
    tag.base = "EXPLAIN";
  } else {
    tag.base = Upper(w0);
  }
  return tag;
}

}  // namespace internal
}  // namespace bgw::sql
