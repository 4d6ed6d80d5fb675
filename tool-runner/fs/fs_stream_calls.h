// The streaming calls of the Filesystem service (Read, Write, Watch) and
// what all its calls share. Internal to fs_service.cc.
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_STREAM_CALLS_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_STREAM_CALLS_H_

#include <chrono>
#include <string>

#include "absl/status/status.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tool-runner/core/runner_context.h"

namespace sagewai {

class FilesystemService;

namespace fs_internal {

class WatchCall;

// Auth for `method` (its full path), then a call slot: OK, or the status
// to finish with.
grpc::Status Admit(RunnerContext& ctx, const grpc::CallbackServerContext& context,
                   const CallSlot& slot, const char* method);

// One log line per call: method, call id, code, duration (and the error).
void LogFinished(const char* method, const std::string& call_id, const grpc::Status& status,
                 std::chrono::steady_clock::time_point started);

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
