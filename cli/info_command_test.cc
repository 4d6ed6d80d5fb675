#include "cli/info_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace sagewai::cli {
namespace {

using ::testing::HasSubstr;

sagewai::sandbox::v1::GetInfoResponse Sample() {
  sagewai::sandbox::v1::GetInfoResponse info;
  info.set_version("0.1.0");
  info.set_uid(900);
  info.set_gid(900);
  info.set_tool_uid(1000);
  info.set_tool_gid(1000);
  info.add_capabilities("bash");
  info.add_capabilities("code_eval.python");
  info.set_workdir("/workspace");
  info.set_hostname("box \"1\"");
  info.set_pid(7);
  info.set_uptime_ms(3723000);
  info.set_unprivileged(true);
  info.mutable_limits()->set_max_output_bytes(1048576);
  info.mutable_limits()->set_max_concurrent_calls(64);
  info.mutable_limits()->set_default_timeout_ms(60000);
  info.mutable_limits()->set_max_timeout_ms(3600000);
  info.mutable_limits()->set_kill_grace_ms(2000);
  return info;
}

TEST(CliFormatMillisTest, Units) {
  EXPECT_EQ(FormatMillis(0), "0 ms");
  EXPECT_EQ(FormatMillis(250), "250 ms");
  EXPECT_EQ(FormatMillis(2000), "2 s");
  EXPECT_EQ(FormatMillis(1500), "1.5 s");
  EXPECT_EQ(FormatMillis(60000), "1 min");
  EXPECT_EQ(FormatMillis(125000), "2 min 5 s");
  EXPECT_EQ(FormatMillis(3723000), "1 h 2 min");
  EXPECT_EQ(FormatMillis(3600000), "1 h");
  EXPECT_EQ(FormatMillis(90000000), "1 d 1 h");
  EXPECT_EQ(FormatMillis(86400000), "1 d");
}

TEST(CliFormatInfoTest, Text) {
  std::string text = FormatInfoText(Sample(), "unix:///s");
  EXPECT_THAT(text, HasSubstr("address:                 unix:///s\n"));
  EXPECT_THAT(text, HasSubstr("version:                 0.1.0\n"));
  EXPECT_THAT(text, HasSubstr("runner uid/gid:          900/900\n"));
  EXPECT_THAT(text, HasSubstr("tools uid/gid:           1000/1000 (separate from the runner)\n"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("warning")));
  EXPECT_THAT(text, HasSubstr("capabilities:            bash, code_eval.python\n"));
  EXPECT_THAT(text, HasSubstr("uptime:                  1 h 2 min\n"));
  EXPECT_THAT(text, HasSubstr("  default timeout:       1 min\n"));
  EXPECT_THAT(text, HasSubstr("  context idle timeout:  none\n"));
  EXPECT_THAT(text, HasSubstr("  max output:            1048576 bytes per stream\n"));
}

TEST(CliFormatInfoTest, SharedUidIsAWarningWithTheReason) {
  auto info = Sample();
  info.set_uid(1000);
  info.set_tools_share_runner_uid(true);
  info.set_identity_note("started as uid 1000");
  std::string text = FormatInfoText(info, "unix:///s");
  EXPECT_THAT(text, HasSubstr("tools uid/gid:           1000/1000 (the runner's own)\n"));
  EXPECT_THAT(text, HasSubstr("warning:                 started as uid 1000\n"));
  EXPECT_THAT(FormatInfoJson(info, "unix:///s"),
              HasSubstr(R"("tools_share_runner_uid":true,"identity_note":"started as uid 1000")"));
}

TEST(CliFormatInfoTest, JsonIsValidAndComplete) {
  std::string json = FormatInfoJson(Sample(), "unix:///s");
  ASSERT_EQ(json.back(), '\n');
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  const auto& f = parsed.fields();
  EXPECT_EQ(f.at("address").string_value(), "unix:///s");
  EXPECT_EQ(f.at("version").string_value(), "0.1.0");
  EXPECT_EQ(f.at("uid").number_value(), 900);
  EXPECT_EQ(f.at("tool_uid").number_value(), 1000);
  EXPECT_FALSE(f.at("tools_share_runner_uid").bool_value());
  EXPECT_EQ(f.at("hostname").string_value(), "box \"1\"");
  EXPECT_TRUE(f.at("unprivileged").bool_value());
  ASSERT_EQ(f.at("capabilities").list_value().values_size(), 2);
  EXPECT_EQ(f.at("capabilities").list_value().values(1).string_value(), "code_eval.python");
  EXPECT_EQ(f.at("limits").struct_value().fields().at("max_output_bytes").number_value(), 1048576);
  EXPECT_EQ(f.at("uptime_ms").number_value(), 3723000);
  EXPECT_EQ(f.at("pid").number_value(), 7);
}

}  // namespace
}  // namespace sagewai::cli
