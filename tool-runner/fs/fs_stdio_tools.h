// The fs.* tools of the stdio protocol: each turns its args into the gRPC
// request message (ReadRequest, WriteRequest, ...) and runs it on the same
// operations as the Filesystem service (fs_ops.h, fs_write.h, fs_glob.h).
//
// Every tool takes `path` (or `source`/`destination`) relative to the work
// directory or absolute. Results keep the worker's shape: `stdout` carries
// the content (fs.read) or one JSON object (the others); on failure ok is
// false, exit_code 1, and the message (what failed, the path, why) is in
// both `stderr` and `error`. Malformed args are JSON-RPC -32602.
//
//   fs.read    path, offset?, length?, encoding? ("utf-8" | "base64"),
//              max_bytes? (default 8 MiB: larger reads are cut there, with
//              a note in stderr; read the rest with offset)
//   fs.write   path, content, encoding?, mode? (number or octal string),
//              append?, create_parents? (default true)
//              -> {"path","bytes_written","sha256","data_sha256"}
//   fs.list    path?, depth?, max_entries? -> {"entries":[FileInfo],"truncated"}
//   fs.stat    path?, follow_symlinks? -> FileInfo
//   fs.mkdir   path, parents? (default true), mode? -> {"path","created"}
//   fs.remove  path, recursive? -> {"removed_entries"}
//   fs.move    source, destination, overwrite?, create_parents? -> FileInfo
//   fs.glob    pattern, path?, max_entries? -> {"entries":[FileInfo],"truncated"}
//
// FileInfo in JSON: see fs_json.h.
// With encoding "utf-8", content that is not valid UTF-8 reaches the worker
// with U+FFFD replacements and a note in stderr: use "base64" for bytes.
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_STDIO_TOOLS_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_STDIO_TOOLS_H_

#include <string>

#include "sagewai/sandbox/v1/sandbox.pb.h"
#include "tool-runner/stdio/stdio_protocol.h"
#include "tool-runner/stdio/stdio_tools.h"

namespace sagewai {

inline constexpr size_t kStdioMaxReadBytes = 8 << 20;

void RegisterFsTools(stdio::Dispatcher& dispatcher, const StdioToolOptions& options);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_STDIO_TOOLS_H_
