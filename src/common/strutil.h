// Small string helpers shared by every subsystem: printf-style formatting
// (checked by the compiler), trimming and splitting.
#pragma once

#include <cstdarg>
#include <string>
#include <string_view>
#include <vector>

namespace bgw {

std::string StringPrintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string StringPrintfV(const char* fmt, va_list ap);

std::string_view Trim(std::string_view s);
// Splits on `sep`, trimming each piece; empty pieces are kept.
std::vector<std::string> SplitTrimmed(std::string_view s, char sep);
bool StartsWith(std::string_view s, std::string_view prefix);
// Case-insensitive ASCII comparison.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// ASCII letters folded to lower case (as PostgreSQL folds unquoted
// identifiers); other bytes unchanged.
std::string AsciiLower(std::string_view s);

}  // namespace bgw
