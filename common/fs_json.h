// FileInfo as JSON, the same for the fs.* stdio tools and `sagewai-sandbox
// fs --json`: name, path, type ("file", "directory", "symlink", "fifo",
// "socket", "char_device", "block_device"), size, mode (octal string,
// "0644"), mtime_unix_ms, uid, gid, symlink_target for links, and
// name_base64 / path_base64 / symlink_target_base64 with the exact bytes
// of a name that is not UTF-8 (the plain field then holds a display form).
#ifndef SAGEWAI_COMMON_FS_JSON_H_
#define SAGEWAI_COMMON_FS_JSON_H_

#include <string>

#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::fs {

const char* FileTypeName(sagewai::sandbox::v1::FileType type);

std::string FileInfoJson(const sagewai::sandbox::v1::FileInfo& info);

// {"entries":[FileInfo...],"truncated":bool}
std::string EntriesJson(
    const google::protobuf::RepeatedPtrField<sagewai::sandbox::v1::FileInfo>& entries,
    bool truncated);

}  // namespace sagewai::fs

#endif  // SAGEWAI_COMMON_FS_JSON_H_
