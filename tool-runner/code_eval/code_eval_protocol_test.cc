#include "tool-runner/code_eval/code_eval_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sagewai::code_eval {
namespace {

TEST(EncodeRequestTest, HeaderCountsBytesNotCharacters) {
  EXPECT_EQ(EncodeRequest("eval", 7, "x = 'é'\n"), "eval 7 9\nx = 'é'\n");
  EXPECT_EQ(EncodeRequest("eval", 1, ""), "eval 1 0\n");
}

TEST(ParseDriverEventTest, Ready) {
  auto e = ParseDriverEvent(R"({"ev":"ready","language":"python","version":"3.11.2","pid":5})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kind, DriverEvent::Kind::kReady);
  EXPECT_EQ(e->language, "python");
  EXPECT_EQ(e->version, "3.11.2");
}

TEST(ParseDriverEventTest, DisplayDecodesBase64Members) {
  auto e = ParseDriverEvent(
      R"({"ev":"display","seq":3,"data":{"text/plain":"<Figure>","image/png":"iVBORw=="},)"
      R"("b64":["image/png"],"result":true})");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kind, DriverEvent::Kind::kDisplay);
  EXPECT_EQ(e->seq, 3u);
  EXPECT_TRUE(e->is_result);
  EXPECT_EQ(e->data.at("text/plain"), "<Figure>");
  EXPECT_EQ(e->data.at("image/png"), std::string("\x89PNG", 4));
}

TEST(ParseDriverEventTest, DoneWithAndWithoutError) {
  auto ok = ParseDriverEvent(R"({"ev":"done","seq":1,"error":null})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->kind, DriverEvent::Kind::kDone);
  EXPECT_FALSE(ok->error.has_value());
  auto failed = ParseDriverEvent(
      R"({"ev":"done","seq":2,"error":{"name":"ValueError","message":"bad","traceback":"tb"}})");
  ASSERT_TRUE(failed.ok()) << failed.status();
  ASSERT_TRUE(failed->error.has_value());
  EXPECT_EQ(failed->error->name, "ValueError");
  EXPECT_EQ(failed->error->message, "bad");
  EXPECT_EQ(failed->error->traceback, "tb");
}

TEST(ParseDriverEventTest, RefusesMalformedEvents) {
  for (const char* bad :
       {"", "[]", "{}", R"({"ev":"nope","seq":1})", R"({"ev":"done"})", R"({"ev":"done","seq":-1})",
        R"({"ev":"display","seq":1})",
        R"({"ev":"display","seq":1,"data":{"image/png":"@@"},"b64":["image/png"]})",
        R"({"ev":"display","seq":1,"data":{"text/plain":5}})",
        R"({"ev":"done","seq":1,"error":"x"})"}) {
    EXPECT_FALSE(ParseDriverEvent(bad).ok()) << bad;
  }
}

struct Collected {
  std::vector<std::string> lines;
  std::vector<size_t> overflows;
};

void Feed(LineSplitter& s, const std::string& data, Collected& c) {
  s.Feed(
      data, [&c](absl::string_view line) { c.lines.emplace_back(line); },
      [&c](size_t n) { c.overflows.push_back(n); });
}

TEST(LineSplitterTest, JoinsPiecesAndSplitsLines) {
  LineSplitter s(100);
  Collected c;
  Feed(s, "ab", c);
  Feed(s, "c\nde\n\nf", c);
  EXPECT_EQ(c.lines, (std::vector<std::string>{"abc", "de", ""}));
  EXPECT_EQ(s.buffered(), 1u);
  Feed(s, "\n", c);
  EXPECT_EQ(c.lines.back(), "f");
  EXPECT_TRUE(c.overflows.empty());
}

TEST(LineSplitterTest, DropsOverlongLinesWithoutHoldingThem) {
  LineSplitter s(10);
  Collected c;
  Feed(s, "short\n0123456789", c);
  EXPECT_EQ(s.buffered(), 10u);
  Feed(s, "abcdef", c);  // now over the limit: dropped as it arrives
  EXPECT_EQ(s.buffered(), 0u);
  Feed(s, std::string(1000, 'x'), c);
  EXPECT_EQ(s.buffered(), 0u);
  Feed(s, "yy\nnext\n", c);
  EXPECT_EQ(c.lines, (std::vector<std::string>{"short", "next"}));
  ASSERT_EQ(c.overflows.size(), 1u);
  EXPECT_EQ(c.overflows[0], 10u + 6 + 1000 + 2);
}

}  // namespace
}  // namespace sagewai::code_eval
