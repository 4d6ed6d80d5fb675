#include "tool-runner/fs/fs_stdio_tools.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/json_reader.h"
#include "common/json_writer.h"
#include "common/sha256.h"
#include "common/fs_test_util.h"

namespace sagewai {
namespace {

using fs::testing::ReadFile;
using fs::testing::TempDir;
using fs::testing::WriteFile;

class FsStdioToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StdioToolOptions options;
    options.workdir = dir_.path();
    RegisterFsTools(dispatcher_, options);
  }

  // Runs `tool` with `args_json`; returns the whole reply.
  json::Value Call(const std::string& tool, const std::string& args_json) {
    const std::string line =
        absl::StrCat(R"({"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":)",
                     json::Quote(tool), R"(,"args":)", args_json, R"(,"call_id":"c"}})");
    auto reply = dispatcher_.HandleLine(line);
    EXPECT_TRUE(reply.has_value());
    auto parsed = json::Parse(*reply);
    EXPECT_TRUE(parsed.ok()) << *reply;
    return *parsed;
  }
  // The result object of a successful call.
  json::Value Result(const std::string& tool, const std::string& args_json) {
    json::Value reply = Call(tool, args_json);
    const json::Value* result = reply.Find("result");
    EXPECT_NE(result, nullptr) << json::Serialize(reply);
    return result == nullptr ? json::Value() : *result;
  }
  static std::string Str(const json::Value& v, const char* key) {
    const json::Value* f = v.Find(key);
    return f != nullptr && f->is_string() ? std::string(*f->AsString()) : "<missing>";
  }
  // stdout of a successful call parsed as JSON.
  json::Value Out(const json::Value& result) {
    auto parsed = json::Parse(Str(result, "stdout"));
    EXPECT_TRUE(parsed.ok()) << Str(result, "stdout");
    return parsed.ok() ? *parsed : json::Value();
  }

  TempDir dir_;
  stdio::Dispatcher dispatcher_;
};

TEST_F(FsStdioToolsTest, WriteThenReadAsTextAndBase64) {
  json::Value w = Result("fs.write", R"({"path":"sub/f.txt","content":"h\u00e9llo\n"})");
  EXPECT_EQ(*w.Find("ok")->AsBool(), true) << json::Serialize(w);
  EXPECT_EQ(ReadFile(dir_ / "sub/f.txt"), "h\xc3\xa9llo\n");
  json::Value info = Out(w);
  EXPECT_EQ(Str(info, "sha256"), Sha256Hex("h\xc3\xa9llo\n"));
  EXPECT_EQ(*info.Find("bytes_written")->AsInt(), 7);

  json::Value r = Result("fs.read", R"({"path":"sub/f.txt"})");
  EXPECT_EQ(Str(r, "stdout"), "h\xc3\xa9llo\n");
  EXPECT_EQ(Str(r, "stderr"), "");
  r = Result("fs.read", R"({"path":"sub/f.txt","offset":1,"length":2,"encoding":"base64"})");
  EXPECT_EQ(Str(r, "stdout"), absl::Base64Escape("\xc3\xa9"));

  const std::string bin("\x00\xff\x01", 3);
  w = Result("fs.write", absl::StrCat(R"({"path":"bin","encoding":"base64","content":")",
                                      absl::Base64Escape(bin), R"(","mode":"0600"})"));
  EXPECT_EQ(*w.Find("ok")->AsBool(), true);
  EXPECT_EQ(ReadFile(dir_ / "bin"), bin);
  struct stat st;
  ASSERT_EQ(stat((dir_ / "bin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  r = Result("fs.read", R"({"path":"bin"})");
  EXPECT_NE(Str(r, "stderr").find("base64"), std::string::npos);
}

TEST_F(FsStdioToolsTest, LargeReadsAreCutWithANote) {
  WriteFile(dir_ / "big", std::string(1000, 'a'));
  json::Value r = Result("fs.read", R"({"path":"big","max_bytes":100})");
  EXPECT_EQ(Str(r, "stdout"), std::string(100, 'a'));
  EXPECT_NE(Str(r, "stderr").find("offset 100"), std::string::npos) << Str(r, "stderr");
}

TEST_F(FsStdioToolsTest, ListStatMkdirMoveRemoveGlob) {
  json::Value m = Result("fs.mkdir", R"({"path":"a/b"})");
  EXPECT_EQ(*Out(m).Find("created")->AsBool(), true);
  WriteFile(dir_ / "a/b/x.py", "print()");
  json::Value l = Result("fs.list", R"({"path":"a","depth":2})");
  json::Value listing = Out(l);
  const json::Array* entries = listing.Find("entries")->AsArray();
  ASSERT_NE(entries, nullptr);
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ(Str((*entries)[0], "name"), "b");
  EXPECT_EQ(Str((*entries)[0], "type"), "directory");
  EXPECT_EQ(Str((*entries)[1], "name"), "b/x.py");
  EXPECT_EQ(Str((*entries)[1], "mode"), "0644");

  json::Value s = Out(Result("fs.stat", R"({"path":"a/b/x.py"})"));
  EXPECT_EQ(*s.Find("size")->AsInt(), 7);
  EXPECT_EQ(Str(s, "type"), "file");

  json::Value g = Out(Result("fs.glob", R"({"pattern":"**/*.py"})"));
  ASSERT_EQ(g.Find("entries")->AsArray()->size(), 1u);

  json::Value mv = Result("fs.move", R"({"source":"a/b/x.py","destination":"y.py"})");
  EXPECT_EQ(Str(Out(mv), "name"), "y.py");
  EXPECT_EQ(ReadFile(dir_ / "y.py"), "print()");
  json::Value rm = Result("fs.remove", R"({"path":"a","recursive":true})");
  EXPECT_EQ(*Out(rm).Find("removed_entries")->AsInt(), 2);
}

TEST_F(FsStdioToolsTest, FailuresAreResultsWithExitCodeOne) {
  json::Value r = Result("fs.read", R"({"path":"missing"})");
  EXPECT_EQ(*r.Find("ok")->AsBool(), false);
  EXPECT_EQ(*r.Find("exit_code")->AsInt(), 1);
  EXPECT_NE(Str(r, "error").find("No such file"), std::string::npos) << Str(r, "error");
  EXPECT_NE(Str(r, "stderr").find(dir_ / "missing"), std::string::npos);
  EXPECT_EQ(Str(r, "stdout"), "");
  mkdir((dir_ / "d").c_str(), 0755);
  WriteFile(dir_ / "d/f", "");
  r = Result("fs.remove", R"({"path":"d"})");
  EXPECT_EQ(*r.Find("ok")->AsBool(), false);
  EXPECT_NE(Str(r, "error").find("recursive"), std::string::npos);
  r = Result("fs.read", R"({"path":"d"})");
  EXPECT_NE(Str(r, "error").find("directory"), std::string::npos) << Str(r, "error");
}

TEST_F(FsStdioToolsTest, BadArgsAreInvalidParams) {
  for (const char* bad : {R"({})", R"({"path":5})", R"({"path":"f","content":"x","mode":"999"})",
                          R"({"path":"f","content":"%%","encoding":"base64"})",
                          R"({"path":"f","content":"x","encoding":"latin1"})"}) {
    json::Value reply = Call("fs.write", bad);
    const json::Value* error = reply.Find("error");
    ASSERT_NE(error, nullptr) << bad;
    EXPECT_EQ(*error->Find("code")->AsInt(), -32602) << bad;
  }
}

}  // namespace
}  // namespace sagewai
