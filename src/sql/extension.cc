#include "sql/extension.h"

#include <dirent.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/strutil.h"
#include "port/install_layout.h"

namespace bgw::sql::extension {
namespace {

std::optional<bool> ParseBool(const std::string& v) {
  const std::string l = AsciiLower(v);
  if (l == "on" || l == "true" || l == "yes" || l == "1" || l == "t" || l == "y") return true;
  if (l == "off" || l == "false" || l == "no" || l == "0" || l == "f" || l == "n") return false;
  return std::nullopt;
}

ErrorReport ControlError(const std::string& path, int line, const std::string& what) {
  return MakeError("42601",
                   StringPrintf("%s in file \"%s\" line %d", what.c_str(), path.c_str(), line));
}

// "key = value" with value bare or '...' ('' for a quote), # comments.
Status ParseLine(const std::string& path, int line_no, std::string_view line, std::string* key,
                 std::string* value) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
  };
  skip_space();
  const size_t key_start = i;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) {
    ++i;
  }
  *key = AsciiLower(line.substr(key_start, i - key_start));
  if (key->empty()) return ControlError(path, line_no, "syntax error");
  skip_space();
  if (i < line.size() && line[i] == '=') ++i;
  skip_space();
  value->clear();
  if (i < line.size() && line[i] == '\'') {
    ++i;
    bool closed = false;
    while (i < line.size()) {
      if (line[i] == '\'') {
        if (i + 1 < line.size() && line[i + 1] == '\'') {
          *value += '\'';
          i += 2;
          continue;
        }
        ++i;
        closed = true;
        break;
      }
      *value += line[i++];
    }
    if (!closed) return ControlError(path, line_no, "unterminated quoted string");
  } else {
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '#' &&
           line[i] != '\r') {
      *value += line[i++];
    }
  }
  skip_space();
  if (i < line.size() && line[i] != '#') return ControlError(path, line_no, "syntax error");
  return Status::Ok();
}

// The scripts of an extension in its directory: install scripts by version,
// update scripts as (from, to) edges.
struct Scripts {
  std::map<std::string, std::string> install;  // version -> path
  std::map<std::string, std::vector<std::pair<std::string, std::string>>>
      updates;  // from -> (to, path)
};

Scripts ListScripts(const Control& c) {
  Scripts s;
  DIR* dir = opendir(c.directory.c_str());
  if (dir == nullptr) return s;
  const std::string prefix = c.name + "--";
  while (dirent* e = readdir(dir)) {
    const std::string file = e->d_name;
    if (file.size() <= prefix.size() + 4 || !StartsWith(file, prefix) ||
        file.compare(file.size() - 4, 4, ".sql") != 0) {
      continue;
    }
    const std::string rest = file.substr(prefix.size(), file.size() - prefix.size() - 4);
    const std::string path = c.directory + "/" + file;
    const size_t sep = rest.find("--");
    if (sep == std::string::npos) {
      s.install[rest] = path;
    } else {
      s.updates[rest.substr(0, sep)].emplace_back(rest.substr(sep + 2), path);
    }
  }
  closedir(dir);
  for (auto& [from, edges] : s.updates) std::sort(edges.begin(), edges.end());
  return s;
}

// Shortest chain of updates from `from` to `to` (breadth first), as paths;
// nullopt when there is none.
std::optional<std::vector<std::string>> UpdatePath(const Scripts& s, const std::string& from,
                                                   const std::string& to) {
  std::map<std::string, std::pair<std::string, std::string>> came_from;  // version -> (prev, path)
  std::deque<std::string> queue{from};
  std::set<std::string> seen{from};
  while (!queue.empty()) {
    const std::string v = queue.front();
    queue.pop_front();
    if (v == to) {
      std::vector<std::string> path;
      for (std::string at = to; at != from; at = came_from[at].first) {
        path.push_back(came_from[at].second);
      }
      std::reverse(path.begin(), path.end());
      return path;
    }
    auto it = s.updates.find(v);
    if (it == s.updates.end()) continue;
    for (const auto& [next, file] : it->second) {
      if (seen.insert(next).second) {
        came_from[next] = {v, file};
        queue.push_back(next);
      }
    }
  }
  return std::nullopt;
}

Status CheckName(const std::string& name, const char* what, const char* plural) {
  const char* problem = nullptr;
  if (name.empty()) {
    problem = "must not be empty";
  } else if (name.find("--") != std::string::npos) {
    problem = "must not contain \"--\"";
  } else if (name.front() == '-' || name.back() == '-') {
    problem = "must not begin or end with \"-\"";
  } else if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos) {
    problem = "must not contain directory separator characters";
  }
  if (problem == nullptr) return Status::Ok();
  return MakeError("22023", StringPrintf("invalid %s: \"%s\"", what, name.c_str()),
                   StringPrintf("%s %s.", plural, problem));
}

}  // namespace

Status CheckExtensionName(const std::string& name) {
  return CheckName(name, "extension name", "Extension names");
}

Status CheckVersionName(const std::string& version) {
  return CheckName(version, "extension version name", "Version names");
}

std::string ControlDirectory() { return Layout().sharedir + "/extension"; }

Result<Control> ReadControl(const std::string& name, const std::string& directory) {
  if (Status s = CheckExtensionName(name); !s.ok()) return s.error();
  const std::string dir = directory.empty() ? ControlDirectory() : directory;
  const std::string path = dir + "/" + name + ".control";
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    return MakeError("58P01", StringPrintf("extension \"%s\" is not available", name.c_str()),
                     StringPrintf("Could not open extension control file \"%s\": %s.", path.c_str(),
                                  ErrnoText(err).c_str()),
                     "The extension must first be installed on the system where the server "
                     "is running (make install of its PGXS Makefile).");
  }
  Control c;
  c.name = name;
  c.directory = dir;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    std::string key, value;
    if (Status s = ParseLine(path, line_no, line, &key, &value); !s.ok()) return s.error();
    auto boolean = [&](bool* out) -> Status {
      std::optional<bool> b = ParseBool(value);
      if (!b) {
        return ControlError(path, line_no, "parameter \"" + key + "\" requires a Boolean value");
      }
      *out = *b;
      return Status::Ok();
    };
    Status ok = Status::Ok();
    if (key == "directory") {
      c.directory = !value.empty() && value[0] == '/' ? value : Layout().sharedir + "/" + value;
    } else if (key == "default_version") {
      c.default_version = value;
    } else if (key == "module_pathname") {
      c.module_pathname = value;
    } else if (key == "comment") {
      c.comment = value;
    } else if (key == "schema") {
      c.schema = value;
    } else if (key == "requires") {
      for (const std::string& r : SplitTrimmed(value, ',')) {
        if (!r.empty()) c.required.push_back(r);
      }
    } else if (key == "relocatable") {
      ok = boolean(&c.relocatable);
    } else if (key == "superuser") {
      ok = boolean(&c.superuser);
    } else if (key == "trusted") {
      ok = boolean(&c.trusted);
    } else if (key == "encoding" || key == "no_relocate") {
      // UTF8 is the only encoding; no_relocate matters only to relocation.
    } else {
      return ControlError(path, line_no, "unrecognized parameter \"" + key + "\"");
    }
    if (!ok.ok()) return ok.error();
  }
  return c;
}

Result<std::vector<std::string>> ScriptPath(const Control& c, const std::string& version,
                                            const std::optional<std::string>& from) {
  if (Status st = CheckVersionName(version); !st.ok()) return st.error();
  if (from) {
    if (Status st = CheckVersionName(*from); !st.ok()) return st.error();
  }
  const Scripts s = ListScripts(c);
  if (from) {
    std::optional<std::vector<std::string>> path = UpdatePath(s, *from, version);
    if (!path) {
      return MakeError("22023", StringPrintf("extension \"%s\" has no update path from version "
                                             "\"%s\" to version \"%s\"",
                                             c.name.c_str(), from->c_str(), version.c_str()));
    }
    return *path;
  }
  if (auto it = s.install.find(version); it != s.install.end()) {
    return std::vector<std::string>{it->second};
  }
  // An older install script and updates from it, the shortest chain.
  std::optional<std::vector<std::string>> best;
  for (const auto& [v, file] : s.install) {
    std::optional<std::vector<std::string>> path = UpdatePath(s, v, version);
    if (path && (!best || path->size() + 1 < best->size())) {
      path->insert(path->begin(), file);
      best = std::move(path);
    }
  }
  if (!best) {
    return MakeError("22023", StringPrintf("extension \"%s\" has no installation script nor "
                                           "update path for version \"%s\"",
                                           c.name.c_str(), version.c_str()));
  }
  return *best;
}

Result<std::string> ReadScript(const Control& c, const std::string& path, const std::string& schema,
                               const std::string& owner) {
  std::ifstream in(path);
  if (!in) {
    return Status::FromErrno("could not open extension script file \"" + path + "\"").error();
  }
  std::ostringstream text;
  std::string line;
  while (std::getline(in, line)) {
    // The guard against running the script with psql's \i.
    if (!StartsWith(line, "\\echo")) text << line;
    text << '\n';
  }
  std::string sql = text.str();
  auto replace_all = [&sql](const std::string& from, const std::string& to) {
    for (size_t at = sql.find(from); at != std::string::npos; at = sql.find(from, at + to.size())) {
      sql.replace(at, from.size(), to);
    }
  };
  if (!c.module_pathname.empty()) replace_all("MODULE_PATHNAME", c.module_pathname);
  auto quote = [](const std::string& ident) {
    std::string out = "\"";
    for (char ch : ident) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
  };
  replace_all("@extschema@", quote(schema));
  replace_all("@extowner@", quote(owner));
  return sql;
}

std::vector<Control> Available() {
  std::vector<Control> out;
  const std::string dir = ControlDirectory();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    const std::string file = e->d_name;
    if (file.size() > 8 && file.compare(file.size() - 8, 8, ".control") == 0) {
      names.push_back(file.substr(0, file.size() - 8));
    }
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    Result<Control> c = ReadControl(n, dir);
    if (c.ok()) out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace bgw::sql::extension
