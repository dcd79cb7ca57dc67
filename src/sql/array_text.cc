// PostgreSQL's array text form; see array_text.h.
#include "sql/array_text.h"

#include <cctype>

namespace bgw::sql {
namespace {

bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  if (s.size() == 4 && (s[0] == 'N' || s[0] == 'n') && (s[1] == 'U' || s[1] == 'u') &&
      (s[2] == 'L' || s[2] == 'l') && (s[3] == 'L' || s[3] == 'l')) {
    return true;
  }
  for (char c : s) {
    if (c == '"' || c == '\\' || c == '{' || c == '}' || c == ',' ||
        std::isspace(static_cast<unsigned char>(c))) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string FormatTextArray(const TextArray& elements) {
  std::string out = "{";
  for (size_t i = 0; i < elements.size(); i++) {
    if (i > 0) out += ',';
    if (!elements[i]) {
      out += "NULL";
      continue;
    }
    const std::string& s = *elements[i];
    if (!NeedsQuotes(s)) {
      out += s;
      continue;
    }
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::optional<TextArray> ParseTextArray(std::string_view text) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) i++;
  };
  skip_space();
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  i++;
  TextArray out;
  skip_space();
  if (i < text.size() && text[i] == '}') {
    i++;
    skip_space();
    return i == text.size() ? std::optional<TextArray>(out) : std::nullopt;
  }
  for (;;) {
    skip_space();
    if (i >= text.size()) return std::nullopt;
    std::string item;
    bool quoted = false;
    if (text[i] == '"') {
      quoted = true;
      for (i++;; i++) {
        if (i >= text.size()) return std::nullopt;
        if (text[i] == '"') break;
        if (text[i] == '\\') {
          if (++i >= text.size()) return std::nullopt;
        }
        item += text[i];
      }
      i++;
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '}') {
        if (text[i] == '{' || text[i] == '"') return std::nullopt;  // nested: not ours
        if (text[i] == '\\' && i + 1 < text.size()) i++;
        item += text[i++];
      }
      while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
        item.pop_back();
    }
    const bool is_null =
        !quoted && item.size() == 4 && (item == "NULL" || item == "null" || item == "Null");
    if (is_null) {
      out.emplace_back(std::nullopt);
    } else {
      out.emplace_back(std::move(item));
    }
    skip_space();
    if (i >= text.size()) return std::nullopt;
    if (text[i] == ',') {
      i++;
      continue;
    }
    if (text[i] != '}') return std::nullopt;
    i++;
    skip_space();
    return i == text.size() ? std::optional<TextArray>(out) : std::nullopt;
  }
}

}  // namespace bgw::sql
