// Frontend message bodies; see messages.h for the contracts.
//
// All reads go through MessageReader, which bounds-checks each field; a
// count read from the message is compared against the bytes that remain
// before anything is reserved for it, so a hostile count costs nothing.
#include "protocol/messages.h"

#include <cctype>

#include "common/status.h"
#include "common/strutil.h"
#include "protocol/wire.h"

namespace bgw::protocol {
namespace {

ErrorReport Violation(std::string message) { return MakeError("08P01", std::move(message)); }

ErrorReport FromStatus(const Status& s) { return Violation(s.message()); }

// PostgreSQL reads these counts as unsigned 16-bit numbers.
Result<size_t> ReadCount(MessageReader& r, size_t bytes_per_item) {
  Result<int16_t> n = r.Int16();
  if (!n.ok()) return FromStatus(n.status());
  size_t count = static_cast<uint16_t>(*n);
  if (count * bytes_per_item > r.Remaining()) return Violation("insufficient data left in message");
  return count;
}

Status CheckFormat(int16_t format) {
  if (format != kFormatText && format != kFormatBinary) {
    return MakeError("22023", StringPrintf("unsupported format code: %d", format));
  }
  return Status::Ok();
}

}  // namespace

std::optional<size_t> MaxFrontendBodyLength(char type) {
  switch (type) {
    case 'Q':  // Query
    case 'P':  // Parse
    case 'B':  // Bind
    case 'F':  // FunctionCall
    case 'd':  // CopyData
      return kMaxLargeMessageBody;
    case 'D':  // Describe
    case 'E':  // Execute
    case 'C':  // Close
    case 'S':  // Sync
    case 'H':  // Flush
    case 'X':  // Terminate
    case 'c':  // CopyDone
    case 'f':  // CopyFail
      return kMaxSmallMessageBody;
    default:
      return std::nullopt;
  }
}

Result<QueryMessage> DecodeQuery(std::span<const uint8_t> body) {
  MessageReader r(body);
  Result<std::string_view> q = r.String();
  if (!q.ok()) return FromStatus(q.status());
  if (Status s = r.ExpectEnd(); !s.ok()) return FromStatus(s);
  return QueryMessage{*q};
}

Result<ParseMessage> DecodeParse(std::span<const uint8_t> body) {
  MessageReader r(body);
  ParseMessage m;
  Result<std::string_view> name = r.String();
  if (!name.ok()) return FromStatus(name.status());
  m.statement = *name;
  Result<std::string_view> query = r.String();
  if (!query.ok()) return FromStatus(query.status());
  m.query = *query;
  Result<size_t> n = ReadCount(r, 4);
  if (!n.ok()) return n.error();
  m.param_types.reserve(*n);
  for (size_t i = 0; i < *n; i++) {
    Result<int32_t> t = r.Int32();
    if (!t.ok()) return FromStatus(t.status());
    m.param_types.push_back(static_cast<uint32_t>(*t));
  }
  if (Status s = r.ExpectEnd(); !s.ok()) return FromStatus(s);
  return m;
}

Result<BindMessage> DecodeBind(std::span<const uint8_t> body) {
  MessageReader r(body);
  BindMessage m;
  Result<std::string_view> portal = r.String();
  if (!portal.ok()) return FromStatus(portal.status());
  m.portal = *portal;
  Result<std::string_view> stmt = r.String();
  if (!stmt.ok()) return FromStatus(stmt.status());
  m.statement = *stmt;

  Result<size_t> nformats = ReadCount(r, 2);
  if (!nformats.ok()) return nformats.error();
  std::vector<int16_t> formats;
  formats.reserve(*nformats);
  for (size_t i = 0; i < *nformats; i++) {
    Result<int16_t> f = r.Int16();
    if (!f.ok()) return FromStatus(f.status());
    formats.push_back(*f);
  }

  // Each parameter takes at least its 4-byte length word.
  Result<size_t> nparams = ReadCount(r, 4);
  if (!nparams.ok()) return nparams.error();
  if (formats.size() > 1 && formats.size() != *nparams) {
    return Violation(StringPrintf("bind message has %zu parameter formats but %zu parameters",
                                  formats.size(), *nparams));
  }
  m.param_formats.reserve(*nparams);
  m.params.reserve(*nparams);
  for (size_t i = 0; i < *nparams; i++) {
    int16_t format = formats.empty() ? kFormatText : formats.size() == 1 ? formats[0] : formats[i];
    if (Status s = CheckFormat(format); !s.ok()) return s.error();
    m.param_formats.push_back(format);
    Result<int32_t> len = r.Int32();
    if (!len.ok()) return FromStatus(len.status());
    if (*len == -1) {
      m.params.emplace_back(std::nullopt);
      continue;
    }
    if (*len < 0) return Violation("insufficient data left in message");
    Result<std::span<const uint8_t>> bytes = r.Bytes(static_cast<size_t>(*len));
    if (!bytes.ok()) return FromStatus(bytes.status());
    m.params.emplace_back(*bytes);
  }

  Result<size_t> nresults = ReadCount(r, 2);
  if (!nresults.ok()) return nresults.error();
  m.result_formats.reserve(*nresults);
  for (size_t i = 0; i < *nresults; i++) {
    Result<int16_t> f = r.Int16();
    if (!f.ok()) return FromStatus(f.status());
    if (Status s = CheckFormat(*f); !s.ok()) return s.error();
    m.result_formats.push_back(*f);
  }
  if (Status s = r.ExpectEnd(); !s.ok()) return FromStatus(s);
  return m;
}

namespace {

// Describe and Close share their layout: a kind byte and a name.
Result<std::pair<char, std::string_view>> DecodeKindAndName(std::span<const uint8_t> body,
                                                            const char* what) {
  MessageReader r(body);
  Result<uint8_t> kind = r.Int8();
  if (!kind.ok()) return FromStatus(kind.status());
  Result<std::string_view> name = r.String();
  if (!name.ok()) return FromStatus(name.status());
  if (Status s = r.ExpectEnd(); !s.ok()) return FromStatus(s);
  if (*kind != 'S' && *kind != 'P') {
    return Violation(StringPrintf("invalid %s message subtype %d", what, *kind));
  }
  return std::pair<char, std::string_view>(static_cast<char>(*kind), *name);
}

}  // namespace

Result<DescribeMessage> DecodeDescribe(std::span<const uint8_t> body) {
  auto kn = DecodeKindAndName(body, "DESCRIBE");
  if (!kn.ok()) return kn.error();
  return DescribeMessage{kn->first, kn->second};
}

Result<CloseMessage> DecodeClose(std::span<const uint8_t> body) {
  auto kn = DecodeKindAndName(body, "CLOSE");
  if (!kn.ok()) return kn.error();
  return CloseMessage{kn->first, kn->second};
}

Result<ExecuteMessage> DecodeExecute(std::span<const uint8_t> body) {
  MessageReader r(body);
  ExecuteMessage m;
  Result<std::string_view> portal = r.String();
  if (!portal.ok()) return FromStatus(portal.status());
  m.portal = *portal;
  Result<int32_t> max_rows = r.Int32();
  if (!max_rows.ok()) return FromStatus(max_rows.status());
  m.max_rows = *max_rows;
  if (Status s = r.ExpectEnd(); !s.ok()) return FromStatus(s);
  return m;
}

int16_t ResultFormat(std::span<const int16_t> result_formats, size_t column) {
  if (result_formats.empty()) return kFormatText;
  if (result_formats.size() == 1) return result_formats[0];
  return column < result_formats.size() ? result_formats[column] : kFormatText;
}

Status CheckResultFormats(std::span<const int16_t> result_formats, size_t columns) {
  if (result_formats.size() > 1 && result_formats.size() != columns) {
    return Violation(StringPrintf("bind message has %zu result formats but query has %zu columns",
                                  result_formats.size(), columns));
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> ParseStartupOptions(
    std::string_view options) {
  // Words first, with backslash escapes.
  std::vector<std::string> words;
  size_t i = 0;
  while (i < options.size()) {
    while (i < options.size() && std::isspace(static_cast<unsigned char>(options[i]))) i++;
    if (i >= options.size()) break;
    std::string word;
    while (i < options.size() && !std::isspace(static_cast<unsigned char>(options[i]))) {
      if (options[i] == '\\' && i + 1 < options.size()) i++;
      word.push_back(options[i++]);
    }
    words.push_back(std::move(word));
  }

  std::vector<std::pair<std::string, std::string>> settings;
  auto add = [&settings](const std::string& flag, std::string_view arg) -> Status {
    size_t eq = arg.find('=');
    if (eq == std::string_view::npos) {
      return MakeError("42601", flag + std::string(arg) + " requires a value");
    }
    std::string name(arg.substr(0, eq));
    for (char& c : name) {
      if (c == '-') c = '_';
    }
    settings.emplace_back(std::move(name), std::string(arg.substr(eq + 1)));
    return Status::Ok();
  };
  for (size_t w = 0; w < words.size(); w++) {
    const std::string& word = words[w];
    Status st = Status::Ok();
    if (word.starts_with("--") && word.size() > 2) {
      st = add("--", std::string_view(word).substr(2));
    } else if (word == "-c") {
      if (w + 1 >= words.size()) {
        return MakeError("42601", "option requires an argument -- 'c'");
      }
      st = add("-c ", words[++w]);
    } else if (word.starts_with("-c")) {
      st = add("-c ", std::string_view(word).substr(2));
    } else {
      return MakeError("42601", "invalid command-line argument for server process: " + word, "",
                       "Try \"bgw --help\" for more information.");
    }
    if (!st.ok()) return st.error();
  }
  return settings;
}

}  // namespace bgw::protocol
