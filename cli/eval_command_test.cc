#include "cli/eval_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace sagewai::cli {
namespace {

namespace pb = sagewai::sandbox::v1;
using ::testing::HasSubstr;

TEST(ParseEvalArgsTest, CodeAndOptions) {
  auto o = ParseEvalArgs({"--lang", "node", "--timeout", "1.5", "--env", "A=b=c", "1", "+", "2"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->language, "node");
  EXPECT_EQ(o->code, "1 + 2");
  EXPECT_EQ(o->timeout, absl::Milliseconds(1500));
  EXPECT_EQ(o->env.at("A"), "b=c");
  EXPECT_EQ(o->output_dir, ".");

  auto stdin_code = ParseEvalArgs({"--context", "ctx-1", "-"});
  ASSERT_TRUE(stdin_code.ok()) << stdin_code.status();
  EXPECT_EQ(stdin_code->code, "-");
  EXPECT_EQ(stdin_code->context_id, "ctx-1");

  auto after_dashes = ParseEvalArgs({"--", "--not-a-flag"});
  ASSERT_TRUE(after_dashes.ok());
  EXPECT_EQ(after_dashes->code, "--not-a-flag");
}

TEST(ParseEvalArgsTest, RefusesBadCommandLines) {
  EXPECT_FALSE(ParseEvalArgs({}).ok());
  EXPECT_FALSE(ParseEvalArgs({"--timeout", "soon", "1"}).ok());
  EXPECT_FALSE(ParseEvalArgs({"--timeout", "0", "1"}).ok());
  EXPECT_FALSE(ParseEvalArgs({"--env", "NOVALUE", "1"}).ok());
  auto mixed = ParseEvalArgs({"--context", "c", "--lang", "bash", "ls"});
  ASSERT_FALSE(mixed.ok());
  EXPECT_THAT(std::string(mixed.status().message()), HasSubstr("one-shot"));
  EXPECT_TRUE(ParseEvalArgs({"--help"}).ok());
}

TEST(ExitCodeForEvalResultTest, EachOutcomeHasItsCode) {
  pb::EvalResult r;
  EXPECT_EQ(ExitCodeForEvalResult(r), 0);
  r.mutable_error()->set_name("ValueError");
  EXPECT_EQ(ExitCodeForEvalResult(r), kExitEvalError);
  r.set_context_dead(true);
  EXPECT_EQ(ExitCodeForEvalResult(r), kExitEvalError) << "a one-shot interpreter";
  r.set_context_id("ctx-1");
  EXPECT_EQ(ExitCodeForEvalResult(r), kExitContextDead);
  r.set_timed_out(true);
  EXPECT_EQ(ExitCodeForEvalResult(r), 124);
}

class DisplayPrinterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sagewai-display-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { EXPECT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0); }
  std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string dir_;
};

TEST_F(DisplayPrinterTest, TextIsPrintedAndImagesAreSavedUnderFreeNames) {
  DisplayPrinter printer(dir_);
  pb::DisplayOutput text;
  (*text.mutable_data())["text/plain"] = "42";
  (*text.mutable_data())["text/html"] = "<b>42</b>";
  EXPECT_EQ(*printer.Render(text), "42\n");

  std::ofstream(dir_ + "/eval-output-1.png") << "taken";
  pb::DisplayOutput image;
  (*image.mutable_data())["image/png"] = std::string("\x89PNG", 4);
  (*image.mutable_data())["text/plain"] = "<Figure>";
  EXPECT_EQ(*printer.Render(image), "[image/png saved to " + dir_ + "/eval-output-2.png]\n");
  EXPECT_EQ(Read(dir_ + "/eval-output-2.png"), std::string("\x89PNG", 4));
  EXPECT_EQ(Read(dir_ + "/eval-output-1.png"), "taken") << "an existing file is never overwritten";
  EXPECT_EQ(*printer.Render(image), "[image/png saved to " + dir_ + "/eval-output-3.png]\n");

  pb::DisplayOutput html_only;
  (*html_only.mutable_data())["text/html"] = "<p>hi</p>";
  EXPECT_EQ(*printer.Render(html_only), "<p>hi</p>\n");
  pb::DisplayOutput odd;
  (*odd.mutable_data())["application/x-thing"] = "?";
  EXPECT_EQ(*printer.Render(odd), "[display: application/x-thing]\n");
}

TEST_F(DisplayPrinterTest, AnUnwritableDirectoryIsAnError) {
  DisplayPrinter printer(dir_ + "/missing");
  pb::DisplayOutput image;
  (*image.mutable_data())["image/png"] = "x";
  EXPECT_FALSE(printer.Render(image).ok());
}

}  // namespace
}  // namespace sagewai::cli
