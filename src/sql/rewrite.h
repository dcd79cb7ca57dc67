// The rewriter: PostgreSQL spellings turned into SQLite ones inside
// otherwise ordinary statements ($n, expr::type, E'' strings, dollar
// quotes, current_user, IS DISTINCT FROM, OPERATOR(...), = ANY(...), ...).
//
// It works on lexer.h's tokens, never inside a literal or a quoted
// identifier. It also learns, for the outermost select list (or RETURNING
// list), what PostgreSQL would name each result column and which type an
// explicit cast or a literal gives it, so RowDescription matches
// PostgreSQL's where SQLite has no declared type to offer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bgw::sql {

// What the rewriter learned about one outermost result column.
struct ResultItem {
  std::string name;       // PostgreSQL's column name; "" = let SQLite name it (alias, '*')
  uint32_t type_oid = 0;  // 0 = unknown (use declared type or the value)
  int param = 0;          // > 0: the column is exactly $param (typed as the parameter)
  std::string call;       // untyped call of this function (a C function's type is looked up)
};

struct Rewritten {
  std::string sql;                    // SQLite's dialect
  int max_param = 0;                  // highest $n used
  std::vector<uint32_t> param_casts;  // per $n (index n-1): cast type, 0 = none
  bool items_known = false;           // `items` corresponds 1:1 to result columns
  std::vector<ResultItem> items;
  std::string error;  // non-empty: cannot rewrite (42601 with this message)
};

// Rewrites one statement. Type OIDs come from value.h's TypeOidFromName.
Rewritten RewriteForSqlite(std::string_view sql);

}  // namespace bgw::sql
