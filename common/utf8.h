// UTF-8 validation, the one check the JSON reader and writer, the sandbox
// paths and the stdio tools share. Valid means RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF. No dependencies.
#ifndef SAGEWAI_COMMON_UTF8_H_
#define SAGEWAI_COMMON_UTF8_H_

#include <cstddef>
#include <string_view>

namespace sagewai::utf8 {

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0:
// truncated, overlong, a surrogate, or above U+10FFFF. Requires i < s.size().
size_t SequenceLength(std::string_view s, size_t i);

bool IsValid(std::string_view s);

}  // namespace sagewai::utf8

#endif  // SAGEWAI_COMMON_UTF8_H_
