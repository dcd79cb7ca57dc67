// Value <-> Datum: the one conversion between the engine's values and the C
// API's, for SQL-callable C functions (sql/fmgr_call.cc: arguments in,
// results out) and SPI (spi/spi.cc: parameters in, result columns out).
//
// The C API exchanges these types by value or pointer, as PostgreSQL does:
// bool, int2, int4, int8, oid, float4, float8 (Datum by value), and name,
// bytea, text, varchar, unknown (palloc'd in CurrentMemoryContext). A value
// of any other type is handed out as its text form (PostgreSQL's output
// function: what executor/spi.h documents), and cannot be handed in.
#pragma once

#include <cstdint>
#include <optional>

#include "common/status.h"
#include "sql/value.h"

// postgres/postgres.h's Datum, repeated (an identical typedef is allowed)
// so this header does not bring PostgreSQL's macros (Min, Max, ...) into
// every file that includes it.
typedef uintptr_t Datum;

namespace bgw::sql {

// `v` (not NULL) as a Datum of `type`, converted as PostgreSQL's input
// functions would: text is parsed (22P02 on bad syntax), numbers are
// range-checked for the integer types (22003) and a real rounds to the
// nearest integer.
Result<Datum> ValueToDatum(const Value& v, uint32_t type);

// A Datum of `type` as a Value; NULL for a null pointer of a by-reference
// type. nullopt when `type` is not one the C API can hand in.
std::optional<Value> DatumToValue(Datum d, uint32_t type);

}  // namespace bgw::sql
