// The invariant check of the fuzz targets: on failure it prints what broke
// and aborts, which libFuzzer (and the replay main) report as a crash with
// the input that caused it.
#ifndef SAGEWAI_TESTS_FUZZ_FUZZ_CHECK_H_
#define SAGEWAI_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond, ...)                                                             \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                  \
      std::fprintf(stderr, "\n");                                                         \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

#endif  // SAGEWAI_TESTS_FUZZ_FUZZ_CHECK_H_
