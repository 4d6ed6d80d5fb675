#include "cli/version_spec.h"

#include <gtest/gtest.h>

namespace sagewai::cli {
namespace {

Pep440Version V(const char* text) {
  absl::StatusOr<Pep440Version> v = ParsePep440Version(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status();
  return v.ok() ? *v : Pep440Version{};
}

bool In(const char* spec, const char* version) {
  absl::StatusOr<VersionSpec> s = VersionSpec::Parse(spec);
  EXPECT_TRUE(s.ok()) << spec << ": " << s.status();
  return s.ok() && s->Contains(V(version));
}

TEST(CliPep440Test, ParsesAndNormalizes) {
  EXPECT_EQ(V("0.1.0").ToString(), "0.1.0");
  EXPECT_EQ(V("v1.0").ToString(), "1.0");
  EXPECT_EQ(V(" 1.0-RC.1 ").ToString(), "1.0rc1");
  EXPECT_EQ(V("1.0alpha").ToString(), "1.0a0");
  EXPECT_EQ(V("1.0-beta2").ToString(), "1.0b2");
  EXPECT_EQ(V("1.0c1").ToString(), "1.0rc1");
  EXPECT_EQ(V("1.0-1").ToString(), "1.0.post1");
  EXPECT_EQ(V("1.0.rev3").ToString(), "1.0.post3");
  EXPECT_EQ(V("1.0.DEV").ToString(), "1.0.dev0");
  EXPECT_EQ(V("2!1.0+Ubuntu-1").ToString(), "2!1.0+ubuntu.1");
  EXPECT_TRUE(V("0.1.0rc1").IsPrerelease());
  EXPECT_TRUE(V("0.1.0.dev1").IsPrerelease());
  EXPECT_FALSE(V("0.1.0.post1").IsPrerelease());
}

TEST(CliPep440Test, RejectsNonVersions) {
  for (const char* bad : {"", "abc", "1.", ".1", "1..0", "1.0+", "1.0 beta", "1.0x1", "0.1.0-"}) {
    EXPECT_FALSE(ParsePep440Version(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParsePep440Version("99999999999999999999").ok());
}

TEST(CliPep440Test, Ordering) {
  const char* ascending[] = {"1.0.dev0", "1.0a1.dev1", "1.0a1",     "1.0b1", "1.0rc1",
                             "1.0",      "1.0+local",  "1.0.post1", "1.0.1", "1.1.dev1",
                             "1.1",      "2.0",        "1!0.1"};
  for (size_t i = 0; i + 1 < std::size(ascending); ++i) {
    EXPECT_LT(ComparePep440(V(ascending[i]), V(ascending[i + 1])), 0)
        << ascending[i] << " < " << ascending[i + 1];
    EXPECT_GT(ComparePep440(V(ascending[i + 1]), V(ascending[i])), 0);
  }
  EXPECT_EQ(ComparePep440(V("1.0"), V("1.0.0")), 0);
  EXPECT_EQ(ComparePep440(V("1"), V("1.0.0.0")), 0);
}

TEST(CliVersionSpecTest, ToolRunnerSpec) {
  EXPECT_TRUE(In(kToolRunnerVersionSpec, "0.1.0"));
  EXPECT_TRUE(In(kToolRunnerVersionSpec, "0.1.7"));
  EXPECT_TRUE(In(kToolRunnerVersionSpec, "0.1"));
  EXPECT_TRUE(In(kToolRunnerVersionSpec, "0.1.99.post2"));
  EXPECT_TRUE(In(kToolRunnerVersionSpec, "0.1.3+deb12"));
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "0.2.0"));
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "0.2"));
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "0.0.9"));
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "1.0.0"));
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "1!0.1.0"));
  // Pre-releases are excluded, as pip/packaging exclude them by default.
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "0.1.0rc1"));
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "0.1.5a1"));
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "0.1.5.dev3"));
  EXPECT_FALSE(In(kToolRunnerVersionSpec, "0.2.0rc1"));
}

TEST(CliVersionSpecTest, Operators) {
  EXPECT_TRUE(In("==1.0", "1.0.0"));
  EXPECT_TRUE(In("==1.0", "1.0+local"));
  EXPECT_FALSE(In("==1.0+a", "1.0+b"));
  EXPECT_TRUE(In("!=1.0", "1.1"));
  EXPECT_FALSE(In("!=1.0", "1.0.0"));
  EXPECT_TRUE(In("==1.2.*", "1.2.9"));
  EXPECT_TRUE(In("==1.2.*", "1.2"));
  EXPECT_FALSE(In("==1.2.*", "1.3"));
  EXPECT_FALSE(In("!=1.2.*", "1.2.1"));
  EXPECT_TRUE(In("~=1.4.2", "1.4.9"));
  EXPECT_FALSE(In("~=1.4.2", "1.5"));
  EXPECT_FALSE(In("~=1.4.2", "1.4.1"));
  EXPECT_TRUE(In("~=1.4", "1.9"));
  EXPECT_TRUE(In("<=1.0", "1.0+x"));
  EXPECT_TRUE(In(">1.0", "1.0.1"));
  EXPECT_FALSE(In(">1.0", "1.0.post1"));
  EXPECT_TRUE(In(">1.0.post1", "1.0.post2"));
  EXPECT_FALSE(In(">1.0", "1.0+local"));
  EXPECT_TRUE(In(">=1.0rc1", "1.0rc2"));  // a pre-release in the spec admits pre-releases
  // As in packaging, only ==, >=, <=, ~= naming a pre-release admit them.
  EXPECT_FALSE(In("<1.0rc2", "1.0rc1"));
  // "<V" never admits a pre-release of V itself.
  EXPECT_FALSE(In(">=0.9rc1,<1.0", "1.0rc1"));
  EXPECT_TRUE(In(">=0.9rc1,<1.0", "0.9.5rc1"));
  EXPECT_TRUE(In(" >= 0.1 , < 0.2 ", "0.1.4"));
}

TEST(CliVersionSpecTest, RejectsBadSpecs) {
  for (const char* bad : {"", ">=0.1,", "0.1", "=>0.1", "===0.1", "~=1", ">=1.*", "==1.0rc1.*"}) {
    EXPECT_FALSE(VersionSpec::Parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace sagewai::cli
