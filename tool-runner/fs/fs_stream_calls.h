// The streaming calls of the Filesystem service, one file each
// (fs_read_call.cc, fs_write_call.cc, fs_watch_call.cc). Internal to
// fs_service.cc, which lets them in through the gate (core/admission.h).
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_STREAM_CALLS_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_STREAM_CALLS_H_

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tool-runner/core/admission.h"

namespace sagewai {

class FilesystemService;

namespace fs_internal {

class WatchCall;

// What the three calls share. Each New*Call passes the gate (or finishes
// with the refusal) and starts the call.
inline const grpc::Status kCancelled(grpc::StatusCode::CANCELLED, "the call was cancelled");

grpc::ServerWriteReactor<sagewai::sandbox::v1::ReadChunk>* NewReadCall(
    FilesystemService& service, grpc::CallbackServerContext* context,
    const sagewai::sandbox::v1::ReadRequest* request);

grpc::ServerReadReactor<sagewai::sandbox::v1::WriteRequest>* NewWriteCall(
    FilesystemService& service, grpc::CallbackServerContext* context,
    sagewai::sandbox::v1::WriteResponse* response);

grpc::ServerWriteReactor<sagewai::sandbox::v1::WatchEvent>* NewWatchCall(
    FilesystemService& service, grpc::CallbackServerContext* context,
    const sagewai::sandbox::v1::WatchRequest* request);

// Ends a running Watch with UNAVAILABLE (runner shutdown). Thread-safe.
void EndWatch(WatchCall* call);

}  // namespace fs_internal
}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_STREAM_CALLS_H_
