#include "common/passwd.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sagewai {
namespace {

// Splits `line` at every `sep` (empty fields kept).
std::vector<std::string_view> SplitFields(std::string_view line, char sep) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t end = line.find(sep, start);
    if (end == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, end - start));
    start = end + 1;
  }
}

// Calls `fn` for each line, without the trailing "\r\n" / "\n".
template <typename Fn>
void ForEachLine(std::string_view content, Fn fn) {
  while (!content.empty()) {
    size_t end = content.find('\n');
    std::string_view line = content.substr(0, end);
    content = end == std::string_view::npos ? std::string_view() : content.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
  }
}

bool SkippableLine(std::string_view line) {
  return line.empty() || line.front() == '#' || line.front() == '+' || line.front() == '-' ||
         line.find_first_not_of(" \t") == std::string_view::npos;
}

const PasswdEntry* FindUserByName(const std::vector<PasswdEntry>& users, std::string_view name) {
  for (const PasswdEntry& u : users) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

const PasswdEntry* FindUserById(const std::vector<PasswdEntry>& users, uid_t uid) {
  for (const PasswdEntry& u : users) {
    if (u.uid == uid) return &u;
  }
  return nullptr;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool ParseId(std::string_view text, uint32_t* id) {
  if (!AllDigits(text) || text.size() > 10) return false;
  uint64_t value = 0;
  for (char c : text) value = value * 10 + static_cast<uint64_t>(c - '0');
  if (value >= 0xffffffffu) return false;
  *id = static_cast<uint32_t>(value);
  return true;
}

bool ParsePasswdLine(std::string_view line, PasswdEntry* entry) {
  if (SkippableLine(line)) return false;
  // name:password:uid:gid:gecos:home:shell
  std::vector<std::string_view> f = SplitFields(line, ':');
  if (f.size() < 7 || f[0].empty()) return false;
  uint32_t uid = 0;
  uint32_t gid = 0;
  if (!ParseId(f[2], &uid) || !ParseId(f[3], &gid)) return false;
  entry->name = std::string(f[0]);
  entry->uid = uid;
  entry->gid = gid;
  entry->home = std::string(f[5]);
  entry->shell = std::string(f[6]);
  return true;
}

bool ParseGroupLine(std::string_view line, GroupEntry* entry) {
  if (SkippableLine(line)) return false;
  // name:password:gid:member,member,...
  std::vector<std::string_view> f = SplitFields(line, ':');
  if (f.size() < 4 || f[0].empty()) return false;
  uint32_t gid = 0;
  if (!ParseId(f[2], &gid)) return false;
  entry->name = std::string(f[0]);
  entry->gid = gid;
  entry->members.clear();
  if (!f[3].empty()) {
    for (std::string_view m : SplitFields(f[3], ',')) {
      if (!m.empty()) entry->members.emplace_back(m);
    }
  }
  return true;
}

std::vector<PasswdEntry> ParsePasswdFile(std::string_view content) {
  std::vector<PasswdEntry> entries;
  ForEachLine(content, [&](std::string_view line) {
    PasswdEntry e;
    if (ParsePasswdLine(line, &e)) entries.push_back(std::move(e));
  });
  return entries;
}

std::vector<GroupEntry> ParseGroupFile(std::string_view content) {
  std::vector<GroupEntry> entries;
  ForEachLine(content, [&](std::string_view line) {
    GroupEntry e;
    if (ParseGroupLine(line, &e)) entries.push_back(std::move(e));
  });
  return entries;
}

bool ReadSmallFile(const std::string& path, std::string* content, std::string* error,
                   size_t max_bytes) {
  content->clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "open " + path + ": " + std::strerror(errno);
    return false;
  }
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "read " + path + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    if (n == 0) break;
    if (content->size() + static_cast<size_t>(n) > max_bytes) {
      *error = path + " is larger than " + std::to_string(max_bytes) + " bytes";
      ::close(fd);
      return false;
    }
    content->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

bool ResolveUser(std::string_view spec, std::string_view passwd, std::string_view group,
                 ResolvedUser* user, std::string* error) {
  std::string_view user_part = spec;
  std::string_view group_part;
  bool has_group = false;
  if (const size_t colon = spec.find(':'); colon != std::string_view::npos) {
    user_part = spec.substr(0, colon);
    group_part = spec.substr(colon + 1);
    has_group = true;
  }
  if (user_part.empty() || (has_group && group_part.empty())) {
    *error = "AGENT_USER \"" + std::string(spec) +
             "\" is not a user name, a uid or uid:gid (e.g. agent, 1000, 1000:1000)";
    return false;
  }

  const std::vector<PasswdEntry> users = ParsePasswdFile(passwd);
  const PasswdEntry* entry = nullptr;
  ResolvedUser out;
  uint32_t id = 0;
  if (AllDigits(user_part)) {
    if (!ParseId(user_part, &id)) {
      *error = "AGENT_USER \"" + std::string(spec) + "\": uid out of range";
      return false;
    }
    out.uid = id;
    entry = FindUserById(users, id);
  } else {
    entry = FindUserByName(users, user_part);
    if (entry == nullptr) {
      *error = "AGENT_USER \"" + std::string(user_part) +
               "\" is not in the passwd file: add the user to the image, or set AGENT_USER to "
               "a uid or uid:gid";
      return false;
    }
    out.uid = entry->uid;
  }

  const std::vector<GroupEntry> groups = ParseGroupFile(group);
  if (has_group) {
    if (AllDigits(group_part)) {
      if (!ParseId(group_part, &id)) {
        *error = "AGENT_USER \"" + std::string(spec) + "\": gid out of range";
        return false;
      }
      out.gid = id;
    } else {
      auto it = std::find_if(groups.begin(), groups.end(),
                             [&](const GroupEntry& g) { return g.name == group_part; });
      if (it == groups.end()) {
        *error = "AGENT_USER \"" + std::string(spec) + "\": group \"" + std::string(group_part) +
                 "\" is not in the group file";
        return false;
      }
      out.gid = it->gid;
    }
  } else {
    out.gid = entry != nullptr ? entry->gid : out.uid;
  }

  if (entry != nullptr) {
    out.has_passwd_entry = true;
    out.name = entry->name;
    out.home = entry->home;
    out.groups.push_back(out.gid);
    for (const GroupEntry& g : groups) {
      if (std::find(g.members.begin(), g.members.end(), entry->name) != g.members.end() &&
          std::find(out.groups.begin(), out.groups.end(), g.gid) == out.groups.end()) {
        out.groups.push_back(g.gid);
      }
    }
  } else {
    out.name = std::to_string(out.uid);
  }
  *user = std::move(out);
  return true;
}

}  // namespace sagewai
