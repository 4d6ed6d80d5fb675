#include "tool-runner/code_eval/code_eval_language.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace sagewai::code_eval {
namespace {

TEST(LanguageTest, ParsesNamesAndAliases) {
  EXPECT_EQ(*ParseLanguage("python"), Language::kPython);
  EXPECT_EQ(*ParseLanguage("Python3"), Language::kPython);
  EXPECT_EQ(*ParseLanguage("node"), Language::kNode);
  EXPECT_EQ(*ParseLanguage("javascript"), Language::kNode);
  EXPECT_EQ(*ParseLanguage("bash"), Language::kBash);
  auto bad = ParseLanguage("ruby");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("python, node or bash"), absl::string_view::npos);
}

TEST(LanguageTest, FindsInterpretersOnlyOnTheGivenPath) {
  char dir[] = "/tmp/sagewai-lang-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string fake = std::string(dir) + "/python3";
  std::ofstream(fake) << "#!/bin/sh\n";
  chmod(fake.c_str(), 0755);
  EXPECT_EQ(FindInterpreter(Language::kPython, dir), fake);
  EXPECT_EQ(FindInterpreter(Language::kNode, dir), "");
  unlink(fake.c_str());
  rmdir(dir);
}

TEST(LanguageTest, DriversAreEmbeddedAndHandedOverAsArguments) {
  for (Language language : kAllLanguages) {
    absl::string_view source = DriverSource(language);
    EXPECT_GT(source.size(), 500u) << LanguageName(language);
    std::vector<std::string> argv = DriverArgv(language, "/x/interp");
    ASSERT_GE(argv.size(), 3u);
    EXPECT_EQ(argv[0], "/x/interp");
    bool has_source = false;
    for (const std::string& a : argv) has_source |= a == source;
    EXPECT_TRUE(has_source) << LanguageName(language);
  }
  EXPECT_NE(DriverSource(Language::kPython).find("def _sagewai_driver"), absl::string_view::npos);
}

}  // namespace
}  // namespace sagewai::code_eval
