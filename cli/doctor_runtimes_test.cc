#include "cli/doctor_runtimes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagewai::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = DoctorLine::Kind;

// What `docker info --format '{{json .Runtimes}}'` printed here with runsc
// registered by scripts/ensure-docker.sh.
constexpr char kInfo[] =
    R"({"runsc":{"path":"/usr/bin/runsc","runtimeArgs":["--platform=ptrace","--network=none",)"
    R"("--host-uds=create"]},"io.containerd.runc.v2":{"path":"runc"},"runc":{"path":"runc"}})";

RuntimeProbe Ok() {
  RuntimeProbe p;
  p.exit_code = 0;
  p.took = absl::Milliseconds(480);
  return p;
}

RuntimeProbe Failed(int code, std::string error) {
  RuntimeProbe p;
  p.exit_code = code;
  p.error = std::move(error);
  return p;
}

TEST(ParseRuntimesTest, NamesPathsAndArgsSortedByName) {
  absl::StatusOr<std::vector<RuntimeEntry>> r = ParseRuntimes(kInfo);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].name, "io.containerd.runc.v2");
  EXPECT_EQ((*r)[1].name, "runc");
  EXPECT_EQ((*r)[1].path, "runc");
  EXPECT_TRUE((*r)[1].args.empty());
  EXPECT_EQ((*r)[2].name, "runsc");
  EXPECT_EQ((*r)[2].path, "/usr/bin/runsc");
  EXPECT_THAT((*r)[2].args,
              ElementsAre("--platform=ptrace", "--network=none", "--host-uds=create"));
  EXPECT_FALSE(IsGVisor((*r)[1]));
  EXPECT_TRUE(IsGVisor((*r)[2]));
}

TEST(ParseRuntimesTest, GVisorUnderAnotherNameIsStillGVisor) {
  absl::StatusOr<std::vector<RuntimeEntry>> r =
      ParseRuntimes(R"({"gvisor":{"path":"/opt/bin/runsc"},"kata":{"path":"kata-runtime"}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(IsGVisor((*r)[0]));
  EXPECT_FALSE(IsGVisor((*r)[1]));
}

TEST(ParseRuntimesTest, AnythingButAnObjectOfObjectsIsRefused) {
  EXPECT_FALSE(ParseRuntimes("").ok());
  EXPECT_FALSE(ParseRuntimes("null").ok());
  EXPECT_FALSE(ParseRuntimes(R"(["runc"])").ok());
  EXPECT_FALSE(ParseRuntimes(R"({"runc":"runc"})").ok());
  absl::StatusOr<std::vector<RuntimeEntry>> empty = ParseRuntimes("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(RuntimeLinesTest, RuncThatRunsIsOneCheck) {
  std::vector<DoctorLine> lines = RuntimeLines({"runc", "runc", {}}, true, Ok(), std::nullopt);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].kind, Kind::kPass);
  EXPECT_EQ(lines[0].text, "runtime runc [runc]: works (docker run --rm true in 480 ms)");
}

TEST(RuntimeLinesTest, ABrokenRuntimeFailsOnlyWhenStartWouldUseIt) {
  const RuntimeProbe broken =
      Failed(125, "docker: Error response from daemon: OCI runtime create failed");
  std::vector<DoctorLine> required = RuntimeLines({"runc", "runc", {}}, true, broken, std::nullopt);
  ASSERT_EQ(required.size(), 1u);
  EXPECT_EQ(required[0].kind, Kind::kFail);
  EXPECT_THAT(required[0].text, HasSubstr("failed (exit 125: docker: Error response"));
  EXPECT_FALSE(required[0].remedy.empty());

  std::vector<DoctorLine> optional =
      RuntimeLines({"runsc", "/usr/bin/runsc", {"--host-uds=create"}}, false, broken, std::nullopt);
  ASSERT_EQ(optional.size(), 1u);
  EXPECT_EQ(optional[0].kind, Kind::kNote);
  EXPECT_THAT(optional[0].text, HasSubstr("runtime runsc (gVisor)"));
  EXPECT_THAT(optional[0].text, HasSubstr("start uses it only with --runtime runsc"));

  RuntimeProbe hung;
  hung.timed_out = true;
  EXPECT_THAT(RuntimeLines({"runc", "runc", {}}, true, hung, std::nullopt)[0].text,
              HasSubstr("no answer"));
}

TEST(RuntimeLinesTest, NoImageMeansNotTried) {
  std::vector<DoctorLine> lines =
      RuntimeLines({"runc", "runc", {}}, true, std::nullopt, std::nullopt);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].kind, Kind::kNote);
  EXPECT_THAT(lines[0].text, HasSubstr("not tried"));
}

TEST(RuntimeLinesTest, GVisorAsRegisteredHereWithItsNotes) {
  const RuntimeEntry runsc = (*ParseRuntimes(kInfo))[2];
  std::vector<DoctorLine> lines =
      RuntimeLines(runsc, false, Ok(), Failed(1, "stat: cannot statx '/': Invalid argument"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].kind, Kind::kPass);
  EXPECT_EQ(lines[0].text,
            "runtime runsc (gVisor) [/usr/bin/runsc --platform=ptrace --network=none "
            "--host-uds=create]: works (docker run --rm true in 480 ms)");
  EXPECT_EQ(lines[1].kind, Kind::kNote);
  EXPECT_THAT(lines[1].text, HasSubstr("--network bridge has loopback only"));
  EXPECT_EQ(lines[2].kind, Kind::kNote);
  EXPECT_THAT(lines[2].text, HasSubstr("AT_NO_AUTOMOUNT"));

  // A release whose stat works, or an image without stat: no note.
  EXPECT_EQ(RuntimeLines(runsc, false, Ok(), Ok()).size(), 2u);
  EXPECT_EQ(RuntimeLines(runsc, false, Ok(), Failed(127, "exec: \"stat\": not found")).size(), 2u);
}

TEST(RuntimeLinesTest, GVisorWithoutHostUdsCannotServeTheHost) {
  const RuntimeEntry bare{"runsc", "runsc", {"--platform=ptrace"}};
  std::vector<DoctorLine> optional = RuntimeLines(bare, false, Ok(), std::nullopt);
  ASSERT_EQ(optional.size(), 2u);
  EXPECT_EQ(optional[1].kind, Kind::kNote);
  EXPECT_THAT(optional[1].text, HasSubstr("has no --host-uds"));
  std::vector<DoctorLine> required = RuntimeLines(bare, true, Ok(), std::nullopt);
  ASSERT_EQ(required.size(), 2u);
  EXPECT_EQ(required[1].kind, Kind::kFail);
  EXPECT_THAT(required[1].remedy, HasSubstr("--host-uds=create"));
}

}  // namespace
}  // namespace sagewai::cli
