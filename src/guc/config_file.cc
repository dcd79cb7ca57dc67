// Configuration file parser: PostgreSQL's postgresql.conf grammar.
//
// One "name [=] value" per line; '#' starts a comment outside quotes; values
// are identifiers, numbers with an optional unit (64MB, -1, 1.5e3), unquoted
// words that may contain - . _ : / after a letter, or single-quoted strings
// with '' and backslash escapes. include, include_if_exists and include_dir
// splice other files in place.
//
// The lexer is hand-written but tokenizes exactly as guc-file.l's rules do
// (longest match, earlier rule on ties), so a file PostgreSQL accepts is
// accepted here and errors point at the same token. One deliberate
// extension: names with several dots ("a.b.c") are accepted, as SET accepts
// them.
//
// Files are untrusted input: every file is read with a size cap, include
// nesting is bounded, and no input can crash the parser.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "common/strutil.h"
#include "guc/guc_internal.h"
#include "port/unique_fd.h"

namespace bgw::guc {
namespace {

using internal::GucError;

constexpr int kMaxIncludeDepth = 10;
constexpr size_t kMaxFileSize = 16 * 1024 * 1024;
constexpr int kMaxSyntaxErrorsPerFile = 100;

enum class Tok {
  kEof,
  kEol,
  kId,
  kQualifiedId,
  kString,
  kUnquotedString,
  kInteger,
  kReal,
  kEquals,
  kError,
};

struct Token {
  Tok kind = Tok::kEof;
  std::string text;
  int line = 1;
};

bool IsLetter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         (static_cast<unsigned char>(c) & 0x80) != 0;
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetterOrDigit(char c) { return IsLetter(c) || IsDigit(c); }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsUnitLetter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsUnquotedChar(char c) {
  return IsLetterOrDigit(c) || c == '-' || c == '.' || c == '_' || c == ':' || c == '/';
}

class Lexer {
 public:
  explicit Lexer(const std::string& text) : s_(text) {}

  Token Next() {
    while (true) {
      while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r')) pos_++;
      if (pos_ >= s_.size()) return Token{Tok::kEof, "", line_};
      if (s_[pos_] != '#') break;
      while (pos_ < s_.size() && s_[pos_] != '\n') pos_++;
    }
    const char c = s_[pos_];
    if (c == '\n') {
      pos_++;
      return Token{Tok::kEol, "\n", line_++};
    }
    if (c == '=') return Take(Tok::kEquals, 1);
    if (c == '\'') {
      size_t len = QuotedLength();
      return len > 0 ? Take(Tok::kString, len) : Take(Tok::kError, 1);
    }
    if (IsLetter(c)) return Word();
    size_t int_len = IntegerLength();
    size_t real_len = RealLength();
    if (int_len == 0 && real_len == 0) return Take(Tok::kError, 1);
    return int_len >= real_len ? Take(Tok::kInteger, int_len) : Take(Tok::kReal, real_len);
  }

 private:
  char At(size_t i) const { return i < s_.size() ? s_[i] : '\0'; }

  Token Take(Tok kind, size_t len) {
    Token t{kind, s_.substr(pos_, len), line_};
    pos_ += len;
    return t;
  }

  // ID, QUALIFIED_ID or UNQUOTED_STRING, whichever is longest.
  Token Word() {
    size_t id_end = pos_ + 1;
    while (IsLetterOrDigit(At(id_end))) id_end++;
    size_t word_end = pos_ + 1;
    while (IsUnquotedChar(At(word_end))) word_end++;
    if (word_end == id_end) return Take(Tok::kId, id_end - pos_);
    size_t qual_end = id_end;
    while (At(qual_end) == '.' && IsLetter(At(qual_end + 1))) {
      qual_end += 2;
      while (IsLetterOrDigit(At(qual_end))) qual_end++;
    }
    if (qual_end == word_end) return Take(Tok::kQualifiedId, word_end - pos_);
    return Take(Tok::kUnquotedString, word_end - pos_);
  }

  // SIGN? (DIGIT+ | 0x HEXDIGIT+) UNIT_LETTER*
  size_t IntegerLength() const {
    size_t i = pos_;
    if (At(i) == '-' || At(i) == '+') i++;
    size_t best = 0;
    size_t j = i;
    while (IsDigit(At(j))) j++;
    if (j > i) {
      while (IsUnitLetter(At(j))) j++;
      best = j - pos_;
    }
    if (At(i) == '0' && At(i + 1) == 'x' && IsHexDigit(At(i + 2))) {
      j = i + 2;
      while (IsHexDigit(At(j))) j++;
      while (IsUnitLetter(At(j))) j++;
      best = std::max(best, j - pos_);
    }
    return best;
  }

  // SIGN? DIGIT* "." DIGIT* ([Ee] SIGN? DIGIT+)?
  size_t RealLength() const {
    size_t i = pos_;
    if (At(i) == '-' || At(i) == '+') i++;
    while (IsDigit(At(i))) i++;
    if (At(i) != '.') return 0;
    i++;
    while (IsDigit(At(i))) i++;
    if (At(i) == 'e' || At(i) == 'E') {
      size_t j = i + 1;
      if (At(j) == '-' || At(j) == '+') j++;
      if (IsDigit(At(j))) {
        while (IsDigit(At(j))) j++;
        i = j;
      }
    }
    return i - pos_;
  }

  // Length of the longest quoted string starting at pos_ (0 if none): any
  // quote not swallowed by a backslash may close it; '' continues it.
  size_t QuotedLength() const {
    size_t longest = 0;
    size_t i = pos_ + 1;
    while (i < s_.size()) {
      char c = s_[i];
      if (c == '\n') break;
      if (c == '\\') {
        if (i + 1 >= s_.size() || s_[i + 1] == '\n') break;
        i += 2;
      } else if (c == '\'') {
        longest = i + 1 - pos_;
        if (At(i + 1) != '\'') break;
        i += 2;
      } else {
        i++;
      }
    }
    return longest;
  }

  const std::string& s_;
  size_t pos_ = 0;
  int line_ = 1;
};

// Strips the quotes and resolves '' and backslash escapes. A C string ends at
// its first NUL, so an escaped \0 ends the value.
std::string Unquote(const std::string& token) {
  std::string out;
  const size_t end = token.size() - 1;  // the closing quote
  for (size_t i = 1; i < end; i++) {
    char c = token[i];
    if (c == '\\' && i + 1 < end) {
      c = token[++i];
      switch (c) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7': {
          int value = 0;
          int k = 0;
          for (; k < 3 && i + k < end && token[i + k] >= '0' && token[i + k] <= '7'; k++) {
            value = value * 8 + (token[i + k] - '0');
          }
          i += k - 1;
          out += static_cast<char>(value & 0xFF);
          break;
        }
        default:
          out += c;
          break;
      }
    } else if (c == '\'' && i + 1 < end && token[i + 1] == '\'') {
      out += '\'';
      i++;
    } else {
      out += c;
    }
  }
  return std::string(out.c_str());
}

// Reads a whole file; ENOENT/ENOTDIR are reported through *missing.
Status ReadFile(const std::string& path, std::string* out, bool* missing) {
  *missing = false;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    *missing = errno == ENOENT || errno == ENOTDIR;
    return Status::FromErrno(
        StringPrintf("could not open configuration file \"%s\"", path.c_str()));
  }
  out->clear();
  char buf[8192];
  while (true) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(
          StringPrintf("could not read configuration file \"%s\"", path.c_str()));
    }
    if (n == 0) break;
    if (out->size() + static_cast<size_t>(n) > kMaxFileSize) {
      return Status::Error(StringPrintf("configuration file \"%s\" is too large (limit %zu bytes)",
                                        path.c_str(), kMaxFileSize));
    }
    out->append(buf, static_cast<size_t>(n));
  }
  return Status::Ok();
}

class Parser {
 public:
  explicit Parser(internal::ParsedConfig* out) : out_(out) {}

  // Relative paths are relative to the including file's directory; the top
  // file is taken as given (relative to the working directory).
  static std::string Resolve(const std::string& path, const std::string& calling_file) {
    namespace fs = std::filesystem;
    fs::path p(path);
    if (p.is_absolute() || calling_file.empty()) return p.lexically_normal().string();
    return (fs::path(calling_file).parent_path() / p).lexically_normal().string();
  }

  bool ParseFile(const std::string& path, bool strict, const std::string& calling_file, int depth) {
    if (depth > kMaxIncludeDepth) {
      return Fail(
          StringPrintf("could not open configuration file \"%s\": maximum nesting depth exceeded",
                       path.c_str()));
    }
    const std::string abs_path = Resolve(path, calling_file);
    if (!calling_file.empty() && abs_path == calling_file) {
      return Fail(StringPrintf("configuration file recursion in \"%s\"", calling_file.c_str()));
    }
    std::string text;
    bool missing = false;
    if (Status s = ReadFile(abs_path, &text, &missing); !s.ok()) {
      if (missing && !strict) {
        internal::Report(
            log::Level::kLog,
            GucError(StringPrintf("skipping missing configuration file \"%s\"", abs_path.c_str()),
                     "", ""));
        return true;
      }
      return Fail(s.message());
    }
    return ParseText(text, abs_path, depth);
  }

 private:
  bool Fail(std::string message) {
    out_->errors.push_back(GucError(std::move(message), "", ""));
    return false;
  }

  bool ParseDirectory(const std::string& dir, const std::string& calling_file, int depth) {
    namespace fs = std::filesystem;
    const std::string directory = Resolve(dir, calling_file);
    std::error_code ec;
    fs::directory_iterator it(directory, ec);
    if (ec) {
      return Fail(StringPrintf("could not open configuration directory \"%s\": %s",
                               directory.c_str(), ec.message().c_str()));
    }
    std::vector<std::string> files;
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      // Only *.conf; dotfiles (editor debris, "." and "..") never.
      if (name.size() < 6 || name[0] == '.' || name.compare(name.size() - 5, 5, ".conf") != 0) {
        continue;
      }
      const std::string full = (fs::path(directory) / name).string();
      std::error_code stat_ec;
      fs::file_status st = fs::status(full, stat_ec);
      if (stat_ec) {
        return Fail(StringPrintf("could not stat file \"%s\": %s", full.c_str(),
                                 stat_ec.message().c_str()));
      }
      if (!fs::is_directory(st)) files.push_back(full);
    }
    if (ec) {
      return Fail(StringPrintf("could not read configuration directory \"%s\": %s",
                               directory.c_str(), ec.message().c_str()));
    }
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      if (!ParseFile(f, /*strict=*/true, calling_file, depth)) return false;
    }
    return true;
  }

  bool ParseText(const std::string& text, const std::string& file, int depth) {
    Lexer lex(text);
    bool ok = true;
    int syntax_errors = 0;
    while (true) {
      Token tok = lex.Next();
      if (tok.kind == Tok::kEof) break;
      if (tok.kind == Tok::kEol) continue;

      std::string name;
      std::string value;
      int line = tok.line;
      bool good = false;
      if (tok.kind == Tok::kId || tok.kind == Tok::kQualifiedId) {
        name = tok.text;
        tok = lex.Next();
        if (tok.kind == Tok::kEquals) tok = lex.Next();
        switch (tok.kind) {
          case Tok::kId:
          case Tok::kQualifiedId:
          case Tok::kString:
          case Tok::kInteger:
          case Tok::kReal:
          case Tok::kUnquotedString:
            value = tok.kind == Tok::kString ? Unquote(tok.text) : tok.text;
            tok = lex.Next();
            good = tok.kind == Tok::kEol || tok.kind == Tok::kEof;
            break;
          default:
            break;
        }
      }
      if (!good) {
        ok = false;
        if (tok.kind == Tok::kEol || tok.kind == Tok::kEof) {
          Fail(StringPrintf("syntax error in file \"%s\" line %d, near end of line", file.c_str(),
                            tok.line));
        } else {
          Fail(StringPrintf("syntax error in file \"%s\" line %d, near token \"%s\"", file.c_str(),
                            tok.line, tok.text.c_str()));
        }
        if (++syntax_errors >= kMaxSyntaxErrorsPerFile) {
          Fail(StringPrintf("too many syntax errors found, abandoning file \"%s\"", file.c_str()));
          break;
        }
        while (tok.kind != Tok::kEol && tok.kind != Tok::kEof) tok = lex.Next();
        if (tok.kind == Tok::kEof) break;
        continue;
      }

      if (EqualsIgnoreCase(name, "include_dir")) {
        if (!ParseDirectory(value, file, depth + 1)) ok = false;
      } else if (EqualsIgnoreCase(name, "include_if_exists")) {
        if (!ParseFile(value, /*strict=*/false, file, depth + 1)) ok = false;
      } else if (EqualsIgnoreCase(name, "include")) {
        if (!ParseFile(value, /*strict=*/true, file, depth + 1)) ok = false;
      } else {
        out_->items.push_back(ConfigItem{std::move(name), std::move(value), file, line});
      }
      if (tok.kind == Tok::kEof) break;
    }
    return ok;
  }

  internal::ParsedConfig* out_;
};

}  // namespace

namespace internal {

ParsedConfig ParseConfigFileAll(const std::string& path) {
  ParsedConfig parsed;
  Parser(&parsed).ParseFile(path, /*strict=*/true, /*calling_file=*/"", /*depth=*/0);
  return parsed;
}

}  // namespace internal

Result<std::vector<ConfigItem>> ParseConfigFile(const std::string& path) {
  internal::ParsedConfig parsed = internal::ParseConfigFileAll(path);
  if (!parsed.errors.empty()) return Status(parsed.errors.front());
  return std::move(parsed.items);
}

}  // namespace bgw::guc
