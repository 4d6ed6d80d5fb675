// /etc/passwd and /etc/group parsing and AGENT_USER resolution
// (common/passwd). Input: the AGENT_USER spec on the first line, then the
// passwd file, a line "%%", then the group file. Entries must be well
// formed; a resolved user must be what the files say (a name never yields
// another entry's uid), with the primary gid first and no duplicate groups.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "common/passwd.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

bool HasAny(std::string_view s, std::string_view chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

bool Digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  const std::string_view spec = input.substr(0, eol);
  std::string_view files = eol == std::string_view::npos ? "" : input.substr(eol + 1);
  std::string_view passwd = files;
  std::string_view group;
  if (const size_t sep = files.find("\n%%\n"); sep != std::string_view::npos) {
    passwd = files.substr(0, sep + 1);
    group = files.substr(sep + 4);
  }

  const auto users = sagewai::ParsePasswdFile(passwd);
  for (const auto& u : users) {
    FUZZ_CHECK(!u.name.empty() && !HasAny(u.name, ":\n"), "bad user name");
    FUZZ_CHECK(u.uid != static_cast<uid_t>(-1) && u.gid != static_cast<gid_t>(-1), "id -1");
    FUZZ_CHECK(!HasAny(u.home, ":\n") && !HasAny(u.shell, ":\n"), "field spans a separator");
  }
  const auto groups = sagewai::ParseGroupFile(group);
  for (const auto& g : groups) {
    FUZZ_CHECK(!g.name.empty() && !HasAny(g.name, ":\n"), "bad group name");
    FUZZ_CHECK(g.gid != static_cast<gid_t>(-1), "gid -1");
    for (const auto& m : g.members) {
      FUZZ_CHECK(!m.empty() && !HasAny(m, ",:\n"), "bad member");
    }
  }

  uint32_t id = 0;
  if (sagewai::ParseId(spec, &id)) {
    FUZZ_CHECK(Digits(spec) && std::strtoull(std::string(spec).c_str(), nullptr, 10) == id &&
                   id != 0xffffffffu,
               "ParseId disagrees with strtoull");
  }

  sagewai::ResolvedUser user;
  std::string error;
  if (!sagewai::ResolveUser(spec, passwd, group, &user, &error)) {
    FUZZ_CHECK(!error.empty(), "failure without a message");
    return 0;
  }
  FUZZ_CHECK(user.uid != static_cast<uid_t>(-1) && user.gid != static_cast<gid_t>(-1), "id -1");
  FUZZ_CHECK(!user.name.empty(), "no name");
  const std::string_view user_part = spec.substr(0, spec.find(':'));
  if (!Digits(user_part)) {
    FUZZ_CHECK(user.has_passwd_entry && user.name == user_part, "a name resolved to another user");
    const auto it = std::find_if(users.begin(), users.end(),
                                 [&](const auto& u) { return u.name == user_part; });
    FUZZ_CHECK(it != users.end() && it->uid == user.uid, "uid is not the named entry's");
  }
  if (user.has_passwd_entry) {
    FUZZ_CHECK(!user.groups.empty() && user.groups[0] == user.gid, "primary gid not first");
    FUZZ_CHECK(std::set<gid_t>(user.groups.begin(), user.groups.end()).size() == user.groups.size(),
               "duplicate supplementary group");
    for (size_t i = 1; i < user.groups.size(); ++i) {
      FUZZ_CHECK(std::any_of(groups.begin(), groups.end(),
                             [&](const auto& g) {
                               return g.gid == user.groups[i] &&
                                      std::find(g.members.begin(), g.members.end(), user.name) !=
                                          g.members.end();
                             }),
                 "a group the user is not a member of");
    }
  } else {
    FUZZ_CHECK(user.groups.empty() && user.name == std::to_string(user.uid),
               "a uid without entry got groups or a name");
  }
  return 0;
}
