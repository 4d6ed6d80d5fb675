// Link-time replacements that keep the static entrypoint small and free of
// NSS. Only the entrypoint binary links this file.
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>

#include <ios>

extern "C" {

// libcap-ng's capng_change_id() refers to these; the entrypoint never calls
// it (users come from the passwd file). glibc's versions would pull NSS and
// dlopen into the static binary (~200 KB) for nothing.
struct passwd* getpwuid(uid_t) {
  errno = ENOSYS;
  return nullptr;
}

int initgroups(const char*, gid_t) {
  errno = ENOSYS;
  return -1;
}

// The verbose terminate handler demangles the type of an uncaught exception;
// the entrypoint throws none it does not catch, and the demangler is ~50 KB.
// The handler prints the mangled name instead.
char* __cxa_demangle(const char*, char*, size_t*, int* status) {
  if (status != nullptr) *status = -1;
  return nullptr;
}

}  // extern "C"

// Debian's absl/status/status.h includes <iostream>, so every file that sees
// it constructs the standard streams at start-up, which links all of
// iostream and locale (~600 KB). The entrypoint writes with write(2) only and
// must never use std::cout and friends: they stay unconstructed.
std::ios_base::Init::Init() {}
std::ios_base::Init::~Init() {}
