// The one catalogue of built-in functions. Each subsystem that implements
// functions (functions.cc: the engine's own; system.cc: server control;
// catalog_views.cc: the catalogue questions psql and drivers ask) declares
// them in a table of builtins::Function beside their code; this header
// registers those tables with SQLite and answers, from all of them, what
// type PostgreSQL gives a call (for result columns SQLite cannot type).
// C functions made with CREATE FUNCTION live in the per-database catalogue
// (fmgr_call.h) instead: they are the user's, these are ours.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"

struct sqlite3;
struct sqlite3_context;
struct sqlite3_value;

namespace bgw::sql::builtins {

struct Function {
  const char* name;
  int nargs;             // -1: any number
  uint32_t return_type;  // PostgreSQL's result type; 0: as the value says
  // SQLite's function flags: SQLITE_INNOCUOUS for what may run inside a
  // view, trigger, default or index expression someone else defined,
  // SQLITE_DIRECTONLY for what changes state or waits (see sandbox.h),
  // SQLITE_DETERMINISTIC where it holds.
  int flags;
  void (*scalar)(sqlite3_context*, int, sqlite3_value**) = nullptr;
  // An aggregate instead: step per row, final once.
  void (*step)(sqlite3_context*, int, sqlite3_value**) = nullptr;
  void (*final)(sqlite3_context*) = nullptr;
};

// Registers `functions` on `db`, each with `user_data`. When `destroy` is
// given, SQLite owns `user_data` and calls it once the connection closes.
Status Register(sqlite3* db, std::span<const Function> functions, void* user_data,
                void (*destroy)(void*) = nullptr);

// The PostgreSQL result type of a call of `name`: a built-in's declared
// type, or how PostgreSQL types SQLite's own functions of the same name
// (count is int8, length int4, ...); 0 when neither says.
uint32_t ReturnType(std::string_view name);

}  // namespace bgw::sql::builtins
