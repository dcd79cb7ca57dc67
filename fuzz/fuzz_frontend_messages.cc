// libFuzzer target: arbitrary bytes through the backend's frontend-message
// decoding (protocol/messages.h), as the session loop meets them.
//
// The input is read as a stream of typed frontend messages, framed the way
// Connection::ReadMessage frames them (type byte, Int32 length, body, with
// the per-type length cap); each body goes to the decoder of its type, and
// the decoded fields are touched so a view past the end of the body would be
// caught by AddressSanitizer. A second pass feeds the whole input to the
// startup "options" splitter. A crash, an ASan report or a leak is a bug;
// an error value is the expected answer to garbage.
//
// Built only with -DBGW_FUZZ=ON and clang (scripts/fuzz does both).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/messages.h"

namespace {

using bgw::protocol::MaxFrontendBodyLength;

// Reads every byte of a view: ASan checks each access.
size_t Touch(std::string_view s) {
  size_t sum = 0;
  for (char c : s) sum += static_cast<unsigned char>(c);
  return sum;
}

size_t Touch(std::span<const uint8_t> s) {
  size_t sum = 0;
  for (uint8_t c : s) sum += c;
  return sum;
}

size_t DecodeOne(char type, std::span<const uint8_t> body) {
  namespace p = bgw::protocol;
  size_t sum = 0;
  switch (type) {
    case 'Q':
      if (auto q = p::DecodeQuery(body); q.ok()) sum += Touch(q->query);
      break;
    case 'P':
      if (auto m = p::DecodeParse(body); m.ok()) {
        sum += Touch(m->statement) + Touch(m->query) + m->param_types.size();
      }
      break;
    case 'B':
      if (auto m = p::DecodeBind(body); m.ok()) {
        sum += Touch(m->portal) + Touch(m->statement);
        for (size_t i = 0; i < m->params.size(); i++) {
          if (m->params[i]) sum += Touch(*m->params[i]);
          sum += static_cast<size_t>(m->param_formats.at(i));
        }
        for (size_t i = 0; i < m->result_formats.size() + 2; i++) {
          sum += static_cast<size_t>(p::ResultFormat(m->result_formats, i));
        }
        (void)p::CheckResultFormats(m->result_formats, m->params.size());
      }
      break;
    case 'D':
      if (auto m = p::DecodeDescribe(body); m.ok()) sum += Touch(m->name);
      break;
    case 'E':
      if (auto m = p::DecodeExecute(body); m.ok()) sum += Touch(m->portal);
      break;
    case 'C':
      if (auto m = p::DecodeClose(body); m.ok()) sum += Touch(m->name);
      break;
    default:
      break;
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  volatile size_t sink = 0;
  // Every decoder sees the whole input as a body once...
  for (char type : {'Q', 'P', 'B', 'D', 'E', 'C'}) sink = sink + DecodeOne(type, in);
  // ...and the input is also read as a message stream.
  size_t pos = 0;
  while (size - pos >= 5) {
    char type = static_cast<char>(in[pos]);
    uint32_t len = (uint32_t{in[pos + 1]} << 24) | (uint32_t{in[pos + 2]} << 16) |
                   (uint32_t{in[pos + 3]} << 8) | uint32_t{in[pos + 4]};
    auto max = MaxFrontendBodyLength(type);
    if (!max || len < 4 || len - 4 > *max) break;  // the loop closes the connection here
    size_t body_len = len - 4;
    if (size - pos - 5 < body_len) break;  // truncated: the loop waits, then sees EOF
    sink = sink + DecodeOne(type, in.subspan(pos + 5, body_len));
    pos += 5 + body_len;
  }
  auto opts = bgw::protocol::ParseStartupOptions(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (opts.ok()) {
    for (const auto& [name, value] : *opts) sink = sink + name.size() + value.size();
  }
  (void)sink;
  return 0;
}
