// Users and groups from /etc/passwd and /etc/group, parsed directly: a static
// glibc binary must not call getpwnam/initgroups, which load NSS modules at
// run time.
#ifndef SAGEWAI_COMMON_PASSWD_H_
#define SAGEWAI_COMMON_PASSWD_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sagewai {

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
};

struct GroupEntry {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;
};

// A decimal user or group id: digits only, 0 .. 4294967294 (-1 means "no id"
// to the kernel, so it is rejected).
bool ParseId(std::string_view text, uint32_t* id);

// One line of passwd(5) / group(5). False for blank lines, comments (`#`),
// NIS compat lines (`+`, `-`) and malformed lines (too few fields, an empty
// name, an id that is not a number).
bool ParsePasswdLine(std::string_view line, PasswdEntry* entry);
bool ParseGroupLine(std::string_view line, GroupEntry* entry);

// Every well-formed entry of a whole file, in file order; other lines are
// skipped. Lines may be of any length.
std::vector<PasswdEntry> ParsePasswdFile(std::string_view content);
std::vector<GroupEntry> ParseGroupFile(std::string_view content);

// Reads a whole small file (at most `max_bytes`). False with *error naming the
// path and errno otherwise.
bool ReadSmallFile(const std::string& path, std::string* content, std::string* error,
                   size_t max_bytes = 16u << 20);

// The identity an AGENT_USER value names.
struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  // The passwd name, or the decimal uid when there is no passwd entry.
  std::string name;
  // The passwd home directory; empty when there is no passwd entry.
  std::string home;
  bool has_passwd_entry = false;
  // What setgroups() gets: for a passwd user the primary gid plus every group
  // that lists the name as a member (what initgroups() would give); for a uid
  // without a passwd entry nothing.
  std::vector<gid_t> groups;
};

// Resolves `spec`: a user name, a uid, or `user:group` where each side is a
// name or a number. A uid without passwd entry is allowed (gid = the explicit
// group, else the uid); a user or group name that is not found is an error.
// `passwd` / `group` are the contents of the two files.
bool ResolveUser(std::string_view spec, std::string_view passwd, std::string_view group,
                 ResolvedUser* user, std::string* error);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_PASSWD_H_
