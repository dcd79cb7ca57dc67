// Decoding the bodies of the frontend messages of the query cycle (Parse,
// Bind, Describe, Execute, Close, Query) and the startup "options" string.
//
// Pure functions over untrusted bytes, separate from the session loop, so the
// loop, the unit tests and the fuzz target (fuzz/fuzz_frontend_messages.cc)
// all exercise the same code. Every failure is a value carrying PostgreSQL's
// SQLSTATE and message (08P01 for malformed framing, 22023 for an unknown
// format code); nothing allocates in proportion to a count before the bytes
// that count promises are known to be present.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace bgw::protocol {

// PostgreSQL limits Query, Parse, Bind (and a few more) to 1 GB and every
// other frontend message to 10000 bytes; our large limit is smaller because a
// session holds the whole message in memory.
inline constexpr size_t kMaxLargeMessageBody = 64u << 20;
inline constexpr size_t kMaxSmallMessageBody = 10000;

// The body limit for a frontend message type, or nullopt when `type` is not a
// frontend message of the query cycle (the connection is then closed with
// 08P01 "invalid frontend message type N").
std::optional<size_t> MaxFrontendBodyLength(char type);

// Format codes of Bind.
inline constexpr int16_t kFormatText = 0;
inline constexpr int16_t kFormatBinary = 1;

struct QueryMessage {  // 'Q'
  std::string_view query;
};

struct ParseMessage {          // 'P'
  std::string_view statement;  // "" = the unnamed statement
  std::string_view query;
  std::vector<uint32_t> param_types;  // 0 = unspecified
};

struct BindMessage {           // 'B'
  std::string_view portal;     // "" = the unnamed portal
  std::string_view statement;  // "" = the unnamed statement
  // Per parameter (already expanded: none given = all text, one = for all).
  std::vector<int16_t> param_formats;
  // nullopt = NULL. Views into the message body.
  std::vector<std::optional<std::span<const uint8_t>>> params;
  // As sent: empty = all text, one = for every column, else one per column.
  std::vector<int16_t> result_formats;
};

struct DescribeMessage {  // 'D'
  char kind = 'S';        // 'S' statement or 'P' portal
  std::string_view name;
};

struct ExecuteMessage {  // 'E'
  std::string_view portal;
  int32_t max_rows = 0;  // <= 0 = no limit
};

struct CloseMessage {  // 'C'
  char kind = 'S';     // 'S' statement or 'P' portal
  std::string_view name;
};

// The decoders. The views returned point into `body`, which must outlive them.
Result<QueryMessage> DecodeQuery(std::span<const uint8_t> body);
Result<ParseMessage> DecodeParse(std::span<const uint8_t> body);
Result<BindMessage> DecodeBind(std::span<const uint8_t> body);
Result<DescribeMessage> DecodeDescribe(std::span<const uint8_t> body);
Result<ExecuteMessage> DecodeExecute(std::span<const uint8_t> body);
Result<CloseMessage> DecodeClose(std::span<const uint8_t> body);

// The format of result column `column` under Bind's result format list.
int16_t ResultFormat(std::span<const int16_t> result_formats, size_t column);
// Checks a result format list against the number of columns a statement
// returns (08P01 "bind message has 2 result formats but query has 3 columns").
Status CheckResultFormats(std::span<const int16_t> result_formats, size_t columns);

// Splits the startup packet's "options" value into settings, PostgreSQL's
// way: words separated by whitespace, a backslash makes the next character
// literal; each word is "-c name=value", "-cname=value" or "--name=value"
// ('-' in names becomes '_'). Anything else fails with 42601 "invalid
// command-line argument for server process: X".
Result<std::vector<std::pair<std::string, std::string>>> ParseStartupOptions(
    std::string_view options);

}  // namespace bgw::protocol
