// Server-side helpers of the C GUC API (postgres/utils/guc.h); see guc_c.cc.
//
// The settings registry's check hooks are not told where a value comes
// from, but PostgreSQL's C check hooks are (GucSource). Server code that
// sets values outside SetConfigOption()/ProcessConfigFile() (SET from a
// client, -c on the command line) says so here, around the registry call.
#pragma once

#include "postgres/utils/guc.h"

namespace bgw::compat {

// Sets the source C check hooks are told about; returns the previous one.
// Not thread-safe (nor is the registry).
GucSource SetGucCheckSource(GucSource source);

// Restores the previous source at scope exit.
class ScopedGucCheckSource {
 public:
  explicit ScopedGucCheckSource(GucSource source) : saved_(SetGucCheckSource(source)) {}
  ~ScopedGucCheckSource() { SetGucCheckSource(saved_); }
  ScopedGucCheckSource(const ScopedGucCheckSource&) = delete;
  ScopedGucCheckSource& operator=(const ScopedGucCheckSource&) = delete;

 private:
  GucSource saved_;
};

}  // namespace bgw::compat
