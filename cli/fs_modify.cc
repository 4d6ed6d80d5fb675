#include "cli/exit_codes.h"
#include "cli/fs_session.h"

// fs mkdir, fs rm and fs mv: one unary call each.

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

int FsSession::MakeDir() {
  pb::MakeDirRequest req;
  SetPath(options_.paths[0], req.mutable_path(), req.mutable_path_bytes());
  req.set_parents(true);
  req.set_mode(options_.mode);
  pb::MakeDirResponse resp;
  auto context = Context(false);
  grpc::Status status = stub_->MakeDir(context.get(), req, &resp);
  return status.ok() ? kExitOk : Fail(status, "Filesystem.MakeDir");
}

int FsSession::Rm() {
  pb::RemoveRequest req;
  SetPath(options_.paths[0], req.mutable_path(), req.mutable_path_bytes());
  req.set_recursive(options_.recursive);
  pb::RemoveResponse resp;
  auto context = Context(false);
  grpc::Status status = stub_->Remove(context.get(), req, &resp);
  return status.ok() ? kExitOk : Fail(status, "Filesystem.Remove");
}

int FsSession::Mv() {
  pb::MoveRequest req;
  SetPath(options_.paths[0], req.mutable_source(), req.mutable_source_bytes());
  SetPath(options_.paths[1], req.mutable_destination(), req.mutable_destination_bytes());
  req.set_overwrite(options_.force);
  req.set_create_parents(options_.parents);
  pb::MoveResponse resp;
  auto context = Context(false);
  grpc::Status status = stub_->Move(context.get(), req, &resp);
  return status.ok() ? kExitOk : Fail(status, "Filesystem.Move");
}
}  // namespace sagewai::cli
