// The full gRPC method paths that calls are signed for, in one place: a
// service passes its constant to the gate (admission.h), and auth_test.cc checks
// every constant against the service descriptors of the proto (and that no
// method of the API lacks one), so a mistyped path cannot ship.
#ifndef SAGEWAI_TOOL_RUNNER_CORE_AUTH_METHODS_H_
#define SAGEWAI_TOOL_RUNNER_CORE_AUTH_METHODS_H_

namespace sagewai::rpc {

struct Method {
  const char* path;  // "/sagewai.sandbox.v1.Bash/Run": what the MAC covers
  const char* name;  // "Bash.Run": what logs say
  // Takes one of --max-concurrent-calls slots while it runs. The cheap
  // bookkeeping calls do not, so that a full runner can still be inspected.
  bool takes_slot = true;
};

inline constexpr Method kRunnerGetInfo{"/sagewai.sandbox.v1.Runner/GetInfo", "Runner.GetInfo",
                                       false};
inline constexpr Method kBashRun{"/sagewai.sandbox.v1.Bash/Run", "Bash.Run"};
inline constexpr Method kBashStream{"/sagewai.sandbox.v1.Bash/Stream", "Bash.Stream"};
inline constexpr Method kCodeEvalCreateContext{"/sagewai.sandbox.v1.CodeEval/CreateContext",
                                               "CodeEval.CreateContext"};
inline constexpr Method kCodeEvalEval{"/sagewai.sandbox.v1.CodeEval/Eval", "CodeEval.Eval"};
inline constexpr Method kCodeEvalEvalStream{"/sagewai.sandbox.v1.CodeEval/EvalStream",
                                            "CodeEval.EvalStream"};
inline constexpr Method kCodeEvalDeleteContext{"/sagewai.sandbox.v1.CodeEval/DeleteContext",
                                               "CodeEval.DeleteContext", false};
inline constexpr Method kCodeEvalListContexts{"/sagewai.sandbox.v1.CodeEval/ListContexts",
                                              "CodeEval.ListContexts", false};
inline constexpr Method kCodeEvalRestartContext{"/sagewai.sandbox.v1.CodeEval/RestartContext",
                                                "CodeEval.RestartContext"};
inline constexpr Method kFilesystemRead{"/sagewai.sandbox.v1.Filesystem/Read", "Filesystem.Read"};
inline constexpr Method kFilesystemWrite{"/sagewai.sandbox.v1.Filesystem/Write",
                                         "Filesystem.Write"};
inline constexpr Method kFilesystemStat{"/sagewai.sandbox.v1.Filesystem/Stat", "Filesystem.Stat"};
inline constexpr Method kFilesystemList{"/sagewai.sandbox.v1.Filesystem/List", "Filesystem.List"};
inline constexpr Method kFilesystemMakeDir{"/sagewai.sandbox.v1.Filesystem/MakeDir",
                                           "Filesystem.MakeDir"};
inline constexpr Method kFilesystemRemove{"/sagewai.sandbox.v1.Filesystem/Remove",
                                          "Filesystem.Remove"};
inline constexpr Method kFilesystemMove{"/sagewai.sandbox.v1.Filesystem/Move", "Filesystem.Move"};
inline constexpr Method kFilesystemGlob{"/sagewai.sandbox.v1.Filesystem/Glob", "Filesystem.Glob"};
inline constexpr Method kFilesystemWatch{"/sagewai.sandbox.v1.Filesystem/Watch",
                                         "Filesystem.Watch"};

// Every method that needs authorization. Auth.Challenge is open, as are
// grpc.health.v1 and server reflection.
inline constexpr Method kAuthenticated[] = {
    kRunnerGetInfo,
    kBashRun,
    kBashStream,
    kCodeEvalCreateContext,
    kCodeEvalEval,
    kCodeEvalEvalStream,
    kCodeEvalDeleteContext,
    kCodeEvalListContexts,
    kCodeEvalRestartContext,
    kFilesystemRead,
    kFilesystemWrite,
    kFilesystemStat,
    kFilesystemList,
    kFilesystemMakeDir,
    kFilesystemRemove,
    kFilesystemMove,
    kFilesystemGlob,
    kFilesystemWatch,
};

inline constexpr Method kAuthChallenge{"/sagewai.sandbox.v1.Auth/Challenge", "Auth.Challenge"};

}  // namespace sagewai::rpc

#endif  // SAGEWAI_TOOL_RUNNER_CORE_AUTH_METHODS_H_
