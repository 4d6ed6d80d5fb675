// Random names and secrets for sandboxes: ids, session tokens, nonces.
#ifndef SAGEWAI_CLI_RANDOM_HEX_H_
#define SAGEWAI_CLI_RANDOM_HEX_H_

#include <cstddef>
#include <string>

namespace sagewai::cli {

// Lowercase hex of `bytes` random bytes from getrandom(2) (the kernel's
// CSPRNG); 2 * `bytes` characters.
std::string RandomHex(size_t bytes);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_RANDOM_HEX_H_
