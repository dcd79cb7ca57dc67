// Access control lists; see acl.h.
#include "sql/acl.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "sql/array_text.h"

namespace bgw::sql::acl {
namespace {

constexpr char kLetters[] = "arwdDxtXUCTc";
constexpr const char* kNames[] = {"INSERT",   "SELECT",     "UPDATE",    "DELETE",
                                  "TRUNCATE", "REFERENCES", "TRIGGER",   "EXECUTE",
                                  "USAGE",    "CREATE",     "TEMPORARY", "CONNECT"};
constexpr int kCount = sizeof kLetters - 1;

Item* Find(Acl* acl, uint32_t grantee, uint32_t grantor) {
  for (Item& item : *acl) {
    if (item.grantee == grantee && item.grantor == grantor) return &item;
  }
  return nullptr;
}

void DropEmpty(Acl* acl) {
  acl->erase(
      std::remove_if(acl->begin(), acl->end(), [](const Item& i) { return i.privileges == 0; }),
      acl->end());
}

// The grant options `role` holds through any grantor.
uint32_t OptionsOf(const Acl& acl, uint32_t role) {
  uint32_t options = 0;
  for (const Item& item : acl) {
    if (item.grantee == role) options |= item.grant_options;
  }
  return options;
}

// PostgreSQL's putid: a role name as an aclitem shows it.
std::string QuoteRole(const std::string& name) {
  bool plain = !name.empty();
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        static_cast<unsigned char>(c) < 0x80) {
      plain = false;
    }
  }
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

bool ParseOid(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

uint32_t AllPrivileges(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kTable:
      return kInsert | kSelect | kUpdate | kDelete | kTruncate | kReferences | kTrigger;
    case ObjectKind::kColumn:
      return kInsert | kSelect | kUpdate | kReferences;
    case ObjectKind::kSchema:
      return kUsage | kCreate;
    case ObjectKind::kDatabase:
      return kCreate | kTemporary | kConnect;
    case ObjectKind::kFunction:
      return kExecute;
  }
  return 0;
}

Acl DefaultAcl(ObjectKind kind, uint32_t owner) {
  Acl acl;
  uint32_t world = 0;
  if (kind == ObjectKind::kDatabase) world = kTemporary | kConnect;
  if (kind == ObjectKind::kFunction) world = kExecute;
  if (world != 0) acl.push_back(Item{kPublic, owner, world, 0});
  // Columns have no default privileges of their own: a column's ACL only
  // adds to its table's.
  if (kind != ObjectKind::kColumn) acl.push_back(Item{owner, owner, AllPrivileges(kind), 0});
  return acl;
}

char Letter(uint32_t privilege) {
  for (int i = 0; i < kCount; i++) {
    if (privilege == (1u << i)) return kLetters[i];
  }
  return 0;
}

const char* Name(uint32_t privilege) {
  for (int i = 0; i < kCount; i++) {
    if (privilege == (1u << i)) return kNames[i];
  }
  return "";
}

uint32_t FromName(std::string_view name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "TEMP") return kTemporary;
  for (int i = 0; i < kCount; i++) {
    if (upper == kNames[i]) return 1u << i;
  }
  return 0;
}

std::string Letters(uint32_t privileges, uint32_t grant_options) {
  std::string out;
  for (int i = 0; i < kCount; i++) {
    if (privileges & (1u << i)) {
      out += kLetters[i];
      if (grant_options & (1u << i)) out += '*';
    }
  }
  return out;
}

std::string Encode(const Acl& acl) {
  std::string out;
  for (const Item& item : acl) {
    if (!out.empty()) out += ',';
    out += std::to_string(item.grantee) + "=" + Letters(item.privileges, item.grant_options) + "/" +
           std::to_string(item.grantor);
  }
  return out;
}

std::optional<Acl> Decode(std::string_view text) {
  Acl acl;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t eq = part.find('=');
    size_t slash = part.rfind('/');
    if (eq == std::string_view::npos || slash == std::string_view::npos || slash < eq) {
      return std::nullopt;
    }
    Item item;
    if (!ParseOid(part.substr(0, eq), &item.grantee) ||
        !ParseOid(part.substr(slash + 1), &item.grantor)) {
      return std::nullopt;
    }
    uint32_t last = 0;
    for (char c : part.substr(eq + 1, slash - eq - 1)) {
      if (c == '*') {
        if (last == 0) return std::nullopt;
        item.grant_options |= last;
        continue;
      }
      const char* at = std::char_traits<char>::find(kLetters, kCount, c);
      if (at == nullptr) return std::nullopt;
      last = 1u << (at - kLetters);
      item.privileges |= last;
    }
    acl.push_back(item);
  }
  return acl;
}

std::string Format(const Acl& acl, const std::function<std::string(uint32_t)>& name_of) {
  TextArray items;
  for (const Item& item : acl) {
    std::string text = item.grantee == kPublic ? "" : QuoteRole(name_of(item.grantee));
    text +=
        "=" + Letters(item.privileges, item.grant_options) + "/" + QuoteRole(name_of(item.grantor));
    items.emplace_back(std::move(text));
  }
  return FormatTextArray(items);
}

void Grant(Acl* acl, uint32_t grantee, uint32_t grantor, uint32_t privileges,
           bool with_grant_option) {
  if (privileges == 0) return;
  Item* item = Find(acl, grantee, grantor);
  if (item == nullptr) {
    acl->push_back(Item{grantee, grantor, 0, 0});
    item = &acl->back();
  }
  item->privileges |= privileges;
  if (with_grant_option) item->grant_options |= privileges;
}

bool Revoke(Acl* acl, uint32_t grantee, uint32_t grantor, uint32_t privileges,
            bool grant_option_only, bool cascade) {
  Acl updated = *acl;
  if (Item* item = Find(&updated, grantee, grantor)) {
    item->grant_options &= ~privileges;
    if (!grant_option_only) item->privileges &= ~privileges;
  }
  DropEmpty(&updated);
  // What the grantee can no longer pass on: whatever it granted of that
  // depends on this grant (PostgreSQL's recursive_revoke). PUBLIC never
  // holds grant options, and an owner's own grants need no option.
  const uint32_t lost = OptionsOf(*acl, grantee) & ~OptionsOf(updated, grantee);
  if (lost != 0 && grantee != grantor) {
    bool dependents = false;
    for (const Item& item : updated) {
      if (item.grantor == grantee && (item.privileges & lost) != 0) dependents = true;
    }
    if (dependents) {
      if (!cascade) return false;
      std::vector<uint32_t> to_revoke;
      for (const Item& item : updated) {
        if (item.grantor == grantee && (item.privileges & lost) != 0) {
          to_revoke.push_back(item.grantee);
        }
      }
      for (uint32_t g : to_revoke) (void)Revoke(&updated, g, grantee, lost, false, true);
    }
  }
  *acl = std::move(updated);
  return true;
}

void ReplaceRole(Acl* acl, uint32_t from, uint32_t to) {
  Acl merged;
  for (Item item : *acl) {
    if (item.grantee == from) item.grantee = to;
    if (item.grantor == from) item.grantor = to;
    if (Item* same = Find(&merged, item.grantee, item.grantor)) {
      same->privileges |= item.privileges;
      same->grant_options |= item.grant_options;
    } else {
      merged.push_back(item);
    }
  }
  *acl = std::move(merged);
}

void RemoveGrantee(Acl* acl, uint32_t role) {
  acl->erase(
      std::remove_if(acl->begin(), acl->end(), [role](const Item& i) { return i.grantee == role; }),
      acl->end());
}

bool Mentions(const Acl& acl, uint32_t role) {
  return std::any_of(acl.begin(), acl.end(),
                     [role](const Item& i) { return i.grantee == role || i.grantor == role; });
}

uint32_t Mask(const Acl& acl, const std::function<bool(uint32_t grantee)>& holds) {
  uint32_t mask = 0;
  for (const Item& item : acl) {
    if ((item.privileges & ~mask) != 0 && holds(item.grantee)) mask |= item.privileges;
  }
  return mask;
}

uint32_t GrantOptionMask(const Acl& acl, const std::function<bool(uint32_t grantee)>& holds) {
  uint32_t mask = 0;
  for (const Item& item : acl) {
    if (item.grantee != kPublic && (item.grant_options & ~mask) != 0 && holds(item.grantee)) {
      mask |= item.grant_options;
    }
  }
  return mask;
}

}  // namespace bgw::sql::acl
