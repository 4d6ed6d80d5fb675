#include "common/fs_json.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "common/json_writer.h"

namespace sagewai::fs {

namespace v1 = ::sagewai::sandbox::v1;

const char* FileTypeName(v1::FileType type) {
  switch (type) {
    case v1::FILE_TYPE_FILE:
      return "file";
    case v1::FILE_TYPE_DIRECTORY:
      return "directory";
    case v1::FILE_TYPE_SYMLINK:
      return "symlink";
    case v1::FILE_TYPE_FIFO:
      return "fifo";
    case v1::FILE_TYPE_SOCKET:
      return "socket";
    case v1::FILE_TYPE_CHAR_DEVICE:
      return "char_device";
    case v1::FILE_TYPE_BLOCK_DEVICE:
      return "block_device";
    default:
      return "unknown";
  }
}

std::string FileInfoJson(const v1::FileInfo& info) {
  json::ObjectWriter w;
  w.String("name", info.name())
      .String("path", info.path())
      .String("type", FileTypeName(info.type()));
  w.Uint("size", info.size()).String("mode", absl::StrFormat("%04o", info.mode()));
  w.Int("mtime_unix_ms", info.mtime_unix_ms()).Uint("uid", info.uid()).Uint("gid", info.gid());
  if (info.type() == v1::FILE_TYPE_SYMLINK) w.String("symlink_target", info.symlink_target());
  if (!info.name_bytes().empty()) w.String("name_base64", absl::Base64Escape(info.name_bytes()));
  if (!info.path_bytes().empty()) w.String("path_base64", absl::Base64Escape(info.path_bytes()));
  if (!info.symlink_target_bytes().empty()) {
    w.String("symlink_target_base64", absl::Base64Escape(info.symlink_target_bytes()));
  }
  return w.Finish();
}

std::string EntriesJson(const google::protobuf::RepeatedPtrField<v1::FileInfo>& entries,
                        bool truncated) {
  std::string list = "[";
  for (int i = 0; i < entries.size(); ++i) {
    if (i > 0) list += ",";
    list += FileInfoJson(entries[i]);
  }
  list += "]";
  return json::ObjectWriter().Raw("entries", list).Bool("truncated", truncated).Finish();
}

}  // namespace sagewai::fs
