#include "common/environ_scrub.h"

#include <fcntl.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

extern char** environ;

namespace sagewai {
namespace {

std::string_view NameOf(const char* entry) {
  const char* eq = strchr(entry, '=');
  return eq == nullptr ? std::string_view(entry) : std::string_view(entry, eq - entry);
}

// Index into kControlPlaneVars, or -1.
int ControlPlaneIndex(std::string_view name) {
  for (int i = 0; i < 3; ++i) {
    if (name == kControlPlaneVars[i]) return i;
  }
  return -1;
}

std::string& Slot(ControlPlaneSecrets& secrets, int index) {
  switch (index) {
    case 0:
      return secrets.session_token;
    case 1:
      return secrets.control_plane_url;
    default:
      return secrets.session_id;
  }
}

// Field `index` (1-based, as in proc(5)) of /proc/self/stat.
bool ReadStatField(int index, uint64_t* value) {
  const int fd = ::open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  size_t len = 0;
  while (len < sizeof buf - 1) {
    ssize_t n = ::read(fd, buf + len, sizeof buf - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  ::close(fd);
  buf[len] = '\0';
  // Field 2 (comm) is in parentheses and may hold spaces: count from the last ')'.
  const char* p = strrchr(buf, ')');
  if (p == nullptr) return false;
  ++p;
  int field = 2;
  while (*p != '\0') {
    while (*p == ' ') ++p;
    if (*p == '\0') break;
    ++field;
    const char* start = p;
    while (*p != ' ' && *p != '\0' && *p != '\n') ++p;
    if (field == index) {
      uint64_t v = 0;
      for (const char* q = start; q < p; ++q) {
        if (*q < '0' || *q > '9') return false;
        v = v * 10 + static_cast<uint64_t>(*q - '0');
      }
      *value = v;
      return true;
    }
    if (*p == '\n') break;
  }
  return false;
}

}  // namespace

bool IsControlPlaneVar(absl::string_view name) {
  for (const char* var : kControlPlaneVars) {
    if (name == var) return true;
  }
  return false;
}

bool ControlPlaneSecrets::empty() const {
  return session_token.empty() && control_plane_url.empty() && session_id.empty();
}

void ControlPlaneSecrets::Wipe() {
  WipeString(session_token);
  WipeString(control_plane_url);
  WipeString(session_id);
}

void WipeString(std::string& s) {
  // resize() zero-fills the bytes between size and capacity (old contents
  // included); explicit_bzero covers the rest and is not optimized away.
  s.resize(s.capacity());
  explicit_bzero(s.data(), s.size());
  s.clear();
}

bool InitialEnvironmentBlock(char** begin, char** end) {
  uint64_t start = 0;
  uint64_t stop = 0;
  if (!ReadStatField(50, &start) || !ReadStatField(51, &stop) || start == 0 || stop <= start) {
    return false;
  }
  *begin = reinterpret_cast<char*>(static_cast<uintptr_t>(start));
  *end = reinterpret_cast<char*>(static_cast<uintptr_t>(stop));
  return true;
}

namespace {

// Without /proc: the kernel lays out argv strings, then environment strings,
// then the executable's name (AT_EXECFN) at the top of the stack.
bool StackStringArea(char** begin, char** end) {
  const auto execfn = static_cast<uintptr_t>(getauxval(AT_EXECFN));
  auto* argv0 = program_invocation_name;
  if (execfn == 0 || argv0 == nullptr || reinterpret_cast<uintptr_t>(argv0) >= execfn) {
    return false;
  }
  *begin = argv0;
  *end = reinterpret_cast<char*>(execfn);
  return true;
}

}  // namespace

ControlPlaneSecrets ScrubControlPlaneEnv() {
  ControlPlaneSecrets secrets;
  if (environ == nullptr) return secrets;
  char* block_begin = nullptr;
  char* block_end = nullptr;
  const bool have_block = InitialEnvironmentBlock(&block_begin, &block_end) ||
                          StackStringArea(&block_begin, &block_end);

  // Compact environ in place; glibc keeps no other index into it.
  bool seen[3] = {false, false, false};
  char** out = environ;
  for (char** in = environ; *in != nullptr; ++in) {
    char* entry = *in;
    const std::string_view name = NameOf(entry);
    const int index = ControlPlaneIndex(name);
    if (index < 0) {
      *out++ = entry;
      continue;
    }
    const size_t len = strlen(entry);
    // getenv() returns the first of duplicate entries; so do we.
    if (!seen[index] && name.size() < len) {
      Slot(secrets, index).assign(entry + name.size() + 1, len - name.size() - 1);
    }
    seen[index] = true;
    if (have_block && entry >= block_begin && entry + len < block_end) {
      explicit_bzero(entry, len);
    }
  }
  *out = nullptr;
  return secrets;
}

}  // namespace sagewai
