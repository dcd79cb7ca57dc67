// The lexer, the statement splitter and string-literal decoding (see
// lexer.h for why this is token-based rather than a parser).
#include "sql/lexer.h"

#include <cctype>

#include "common/strutil.h"

namespace bgw::sql {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '$';
}
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsOpChar(char c) {
  switch (c) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '<':
    case '>':
    case '=':
    case '~':
    case '!':
    case '@':
    case '#':
    case '%':
    case '^':
    case '&':
    case '|':
    case '`':
    case '?':
      return true;
    default:
      return false;
  }
}

// Scans a quoted run starting at `pos` (the opening quote); `backslash`
// makes \x escape the next byte. Returns the end offset (past the closing
// quote) and sets *unterminated when the text ends first.
size_t ScanQuoted(std::string_view s, size_t pos, char quote, bool backslash, bool* unterminated) {
  size_t i = pos + 1;
  while (i < s.size()) {
    if (backslash && s[i] == '\\') {
      i += 2;
      continue;
    }
    if (s[i] == quote) {
      if (i + 1 < s.size() && s[i + 1] == quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  *unterminated = true;
  return s.size();
}

}  // namespace

std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto push = [&](TokenKind kind, size_t begin, size_t end, bool unterminated = false) {
    Token t;
    t.kind = kind;
    t.begin = begin;
    t.end = end;
    t.text = s.substr(begin, end - begin);
    t.unterminated = unterminated;
    out.push_back(t);
    i = end;
  };
  while (i < s.size()) {
    const char c = s[i];
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (IsSpace(c)) {
      size_t j = i;
      while (j < s.size() && IsSpace(s[j])) ++j;
      push(TokenKind::kSpace, i, j);
    } else if (c == '-' && next == '-') {
      size_t j = i;
      while (j < s.size() && s[j] != '\n') ++j;
      push(TokenKind::kComment, i, j);
    } else if (c == '/' && next == '*') {
      int depth = 0;
      size_t j = i;
      bool closed = false;
      while (j < s.size()) {
        if (s[j] == '/' && j + 1 < s.size() && s[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (s[j] == '*' && j + 1 < s.size() && s[j + 1] == '/') {
          j += 2;
          if (--depth == 0) {
            closed = true;
            break;
          }
        } else {
          ++j;
        }
      }
      push(TokenKind::kComment, i, j, !closed);
    } else if (c == '\'') {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i, '\'', false, &unterminated);
      push(TokenKind::kString, i, end, unterminated);
    } else if ((c == 'e' || c == 'E') && next == '\'') {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i + 1, '\'', true, &unterminated);
      push(TokenKind::kString, i, end, unterminated);
    } else if ((c == 'x' || c == 'X' || c == 'b' || c == 'B' || c == 'n' || c == 'N') &&
               next == '\'') {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i + 1, '\'', false, &unterminated);
      push(TokenKind::kString, i, end, unterminated);
    } else if ((c == 'u' || c == 'U') && next == '&' && i + 2 < s.size() &&
               (s[i + 2] == '\'' || s[i + 2] == '"')) {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i + 2, s[i + 2], false, &unterminated);
      push(s[i + 2] == '\'' ? TokenKind::kString : TokenKind::kQuotedIdent, i, end, unterminated);
    } else if (c == '"') {
      bool unterminated = false;
      size_t end = ScanQuoted(s, i, '"', false, &unterminated);
      push(TokenKind::kQuotedIdent, i, end, unterminated);
    } else if (c == '$' && IsDigit(next)) {
      size_t j = i + 1;
      while (j < s.size() && IsDigit(s[j])) ++j;
      push(TokenKind::kParam, i, j);
    } else if (c == '$' && (next == '$' || IsIdentStart(next))) {
      // $tag$ ... $tag$; the tag has no '$' and no digits first.
      size_t j = i + 1;
      while (j < s.size() && s[j] != '$' && (IsIdentStart(s[j]) || IsDigit(s[j]))) ++j;
      if (j < s.size() && s[j] == '$') {
        std::string_view tag = s.substr(i, j + 1 - i);
        size_t close = s.find(tag, j + 1);
        if (close == std::string_view::npos) {
          push(TokenKind::kDollarString, i, s.size(), true);
        } else {
          push(TokenKind::kDollarString, i, close + tag.size());
        }
      } else {
        push(TokenKind::kOp, i, i + 1);
      }
    } else if (IsDigit(c) || (c == '.' && IsDigit(next))) {
      size_t j = i;
      if (c == '0' && (next == 'x' || next == 'X')) {
        j += 2;
        while (j < s.size() && std::isxdigit(static_cast<unsigned char>(s[j]))) ++j;
      } else {
        while (j < s.size() && IsDigit(s[j])) ++j;
        // "1..2" is not a number followed by ".2"; PostgreSQL's lexer agrees.
        if (j < s.size() && s[j] == '.' && !(j + 1 < s.size() && s[j + 1] == '.')) {
          ++j;
          while (j < s.size() && IsDigit(s[j])) ++j;
        }
        if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
          size_t k = j + 1;
          if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
          if (k < s.size() && IsDigit(s[k])) {
            j = k;
            while (j < s.size() && IsDigit(s[j])) ++j;
          }
        }
      }
      push(TokenKind::kNumber, i, j);
    } else if (IsIdentStart(c)) {
      size_t j = i;
      while (j < s.size() && IsIdentChar(s[j])) ++j;
      push(TokenKind::kWord, i, j);
    } else if (c == ':' && next == ':') {
      push(TokenKind::kCast, i, i + 2);
    } else if (c == '(') {
      push(TokenKind::kLParen, i, i + 1);
    } else if (c == ')') {
      push(TokenKind::kRParen, i, i + 1);
    } else if (c == ',') {
      push(TokenKind::kComma, i, i + 1);
    } else if (c == ';') {
      push(TokenKind::kSemicolon, i, i + 1);
    } else if (c == '.') {
      push(TokenKind::kDot, i, i + 1);
    } else if (IsOpChar(c)) {
      size_t j = i;
      while (j < s.size() && IsOpChar(s[j])) {
        // A comment start ends the operator.
        if (j > i && ((s[j] == '-' && j + 1 < s.size() && s[j + 1] == '-') ||
                      (s[j] == '/' && j + 1 < s.size() && s[j + 1] == '*'))) {
          break;
        }
        ++j;
      }
      // PostgreSQL: a multi-character operator may not end in + or - unless it
      // contains one of ~ ! @ # % ^ & | ` ? (so "=-1" is "=" then "-1").
      while (j - i > 1 && (s[j - 1] == '+' || s[j - 1] == '-')) {
        bool special = false;
        for (size_t k = i; k < j; ++k) {
          if (std::string_view("~!@#%^&|`?").find(s[k]) != std::string_view::npos) special = true;
        }
        if (special) break;
        --j;
      }
      push(TokenKind::kOp, i, j);
    } else {
      push(TokenKind::kOp, i, i + 1);
    }
  }
  return out;
}

const char* UnterminatedMessage(TokenKind kind) {
  switch (kind) {
    case TokenKind::kComment:
      return "unterminated /* comment";
    case TokenKind::kQuotedIdent:
      return "unterminated quoted identifier";
    case TokenKind::kDollarString:
      return "unterminated dollar-quoted string";
    default:
      return "unterminated quoted string";
  }
}

std::vector<Token> SignificantTokens(std::string_view sql) {
  std::vector<Token> out;
  for (const Token& t : Lex(sql)) {
    if (t.kind != TokenKind::kSpace && t.kind != TokenKind::kComment) out.push_back(t);
  }
  return out;
}

std::string FirstKeyword(std::string_view sql) {
  for (const Token& t : Lex(sql)) {
    if (t.kind == TokenKind::kSpace || t.kind == TokenKind::kComment) continue;
    return t.kind == TokenKind::kWord ? IdentifierValue(t) : std::string();
  }
  return {};
}

std::vector<std::string> SplitSql(std::string_view sql) {
  std::vector<std::string> out;
  size_t start = 0;
  bool significant = false;
  // BEGIN ... END of CREATE TRIGGER bodies contain semicolons that do not
  // end the statement (SQLite's trigger syntax); track that nesting.
  int trigger_depth = 0;
  bool create_trigger = false;
  int words = 0;
  std::string first_words;
  auto flush = [&](size_t end) {
    if (significant) out.emplace_back(Trim(sql.substr(start, end - start)));
    start = end + 1;
    significant = false;
    trigger_depth = 0;
    create_trigger = false;
    words = 0;
    first_words.clear();
  };
  for (const Token& t : Lex(sql)) {
    if (t.kind == TokenKind::kSpace || t.kind == TokenKind::kComment) continue;
    if (t.kind == TokenKind::kSemicolon && trigger_depth == 0) {
      flush(t.begin);
      continue;
    }
    significant = true;
    // Only the first words and a trigger body's need looking at; this runs
    // over every simple query's text.
    if (t.kind == TokenKind::kWord && (words < 4 || create_trigger)) {
      std::string w = AsciiLower(t.text);
      if (words < 4) {
        first_words += w + " ";
        ++words;
        if (first_words.rfind("create ", 0) == 0 && w == "trigger") create_trigger = true;
      }
      if (create_trigger && (w == "begin" || w == "case")) ++trigger_depth;
      if (create_trigger && w == "end" && trigger_depth > 0) --trigger_depth;
    }
  }
  flush(sql.size());
  return out;
}

std::string IdentifierValue(const Token& token) {
  if (token.kind == TokenKind::kQuotedIdent) {
    std::string_view body = token.text;
    if (body.size() >= 2 && body.front() == '"') body = body.substr(1);
    if (!token.unterminated && !body.empty() && body.back() == '"') body.remove_suffix(1);
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
      out += body[i];
      if (body[i] == '"' && i + 1 < body.size() && body[i + 1] == '"') ++i;
    }
    return out;
  }
  return AsciiLower(token.text);
}

namespace {

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool StringValue(const Token& token, std::string* out) {
  out->clear();
  if (token.unterminated) return false;
  std::string_view t = token.text;
  if (token.kind == TokenKind::kDollarString) {
    size_t tag_end = t.find('$', 1);
    size_t tag_len = tag_end + 1;
    *out = std::string(t.substr(tag_len, t.size() - 2 * tag_len));
    return true;
  }
  if (token.kind != TokenKind::kString) return false;
  bool escapes = false;
  if (t[0] == 'e' || t[0] == 'E') {
    escapes = true;
    t = t.substr(1);
  } else if (t[0] == 'n' || t[0] == 'N') {
    t = t.substr(1);
  } else if (t[0] != '\'') {
    return false;  // X'', B'', U&'' are not plain strings
  }
  std::string_view body = t.substr(1, t.size() - 2);
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\'' && i + 1 < body.size() && body[i + 1] == '\'') {
      *out += '\'';
      ++i;
    } else if (escapes && c == '\\' && i + 1 < body.size()) {
      char e = body[++i];
      switch (e) {
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'x': {
          int v = 0, n = 0;
          while (n < 2 && i + 1 < body.size() && HexValue(body[i + 1]) >= 0) {
            v = v * 16 + HexValue(body[++i]);
            ++n;
          }
          if (n == 0) {
            *out += 'x';
          } else {
            *out += static_cast<char>(v);
          }
          break;
        }
        case 'u':
        case 'U': {
          int digits = e == 'u' ? 4 : 8;
          uint32_t v = 0;
          for (int k = 0; k < digits; ++k) {
            if (i + 1 >= body.size() || HexValue(body[i + 1]) < 0) return false;
            v = v * 16 + static_cast<uint32_t>(HexValue(body[++i]));
          }
          if (v == 0 || v > 0x10FFFF) return false;
          AppendUtf8(out, v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0', n = 1;
            while (n < 3 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7') {
              v = v * 8 + (body[++i] - '0');
              ++n;
            }
            *out += static_cast<char>(v & 0xFF);
          } else {
            *out += e;
          }
      }
    } else {
      *out += c;
    }
  }
  return true;
}

std::string QuoteLiteral(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace bgw::sql
