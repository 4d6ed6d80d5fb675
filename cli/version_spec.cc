#include "cli/version_spec.h"

#include <algorithm>
#include <regex>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sagewai::cli {
namespace {

// PEP 440 Appendix B, with the normalizations it allows.
const std::regex& VersionPattern() {
  static const std::regex* pattern =
      new std::regex(R"(^v?(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*))"
                     R"((?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?([0-9]+)?)?)"
                     R"((?:(?:-([0-9]+))|(?:[-_.]?(post|rev|r)[-_.]?([0-9]+)?))?)"
                     R"((?:[-_.]?(dev)[-_.]?([0-9]+)?)?)"
                     R"((?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$)");
  return *pattern;
}

absl::StatusOr<int64_t> ParseNumber(const std::string& digits, absl::string_view whole) {
  int64_t n = 0;
  if (digits.empty()) return 0;
  if (!absl::SimpleAtoi(digits, &n)) {
    return absl::InvalidArgumentError(absl::StrCat("version number too large in \"", whole, "\""));
  }
  return n;
}

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

std::vector<int64_t> TrimmedRelease(const std::vector<int64_t>& release) {
  std::vector<int64_t> out = release;
  while (out.size() > 1 && out.back() == 0) out.pop_back();
  return out;
}

// (tier, a, b): tier 0 sorts before every real value, tier 2 after.
using Key = std::tuple<int, int64_t, int64_t>;

Key PreKey(const Pep440Version& v) {
  if (!v.pre && !v.post && v.dev) return {0, 0, 0};  // 1.0.dev1 < 1.0a1
  if (!v.pre) return {2, 0, 0};
  return {1, static_cast<int64_t>(v.pre->kind), v.pre->number};
}
Key PostKey(const Pep440Version& v) {
  if (!v.post) return {0, 0, 0};
  return {1, *v.post, 0};
}
Key DevKey(const Pep440Version& v) {
  if (!v.dev) return {2, 0, 0};
  return {1, *v.dev, 0};
}

// Local labels: absent < present; per segment, alphanumeric < numeric.
int CompareLocal(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return Cmp(!a.empty(), !b.empty());
  std::vector<std::string> sa = absl::StrSplit(a, '.');
  std::vector<std::string> sb = absl::StrSplit(b, '.');
  for (size_t i = 0; i < sa.size() && i < sb.size(); ++i) {
    int64_t na = 0, nb = 0;
    bool ia = absl::SimpleAtoi(sa[i], &na), ib = absl::SimpleAtoi(sb[i], &nb);
    int c = 0;
    if (ia && ib) {
      c = Cmp(na, nb);
    } else if (ia != ib) {
      c = ia ? 1 : -1;
    } else {
      c = Cmp(sa[i], sb[i]);
    }
    if (c != 0) return c;
  }
  return Cmp(sa.size(), sb.size());
}

Pep440Version Public(const Pep440Version& v) {
  Pep440Version out = v;
  out.local.clear();
  return out;
}

bool SameBase(const Pep440Version& a, const Pep440Version& b) {
  return a.epoch == b.epoch && TrimmedRelease(a.release) == TrimmedRelease(b.release);
}

bool PrefixMatches(const Pep440Version& spec, const Pep440Version& v) {
  if (spec.epoch != v.epoch) return false;
  for (size_t i = 0; i < spec.release.size(); ++i) {
    int64_t have = i < v.release.size() ? v.release[i] : 0;
    if (have != spec.release[i]) return false;
  }
  return true;
}

}  // namespace

std::string Pep440Version::ToString() const {
  std::string out;
  if (epoch != 0) absl::StrAppend(&out, epoch, "!");
  absl::StrAppend(&out, absl::StrJoin(release, "."));
  if (pre) {
    static constexpr const char* kNames[] = {"a", "b", "rc"};
    absl::StrAppend(&out, kNames[static_cast<int>(pre->kind)], pre->number);
  }
  if (post) absl::StrAppend(&out, ".post", *post);
  if (dev) absl::StrAppend(&out, ".dev", *dev);
  if (!local.empty()) absl::StrAppend(&out, "+", local);
  return out;
}

absl::StatusOr<Pep440Version> ParsePep440Version(absl::string_view text) {
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  std::smatch m;
  if (!std::regex_match(s, m, VersionPattern())) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a PEP 440 version (expected e.g. 0.1.0)"));
  }
  Pep440Version v;
  absl::StatusOr<int64_t> n = ParseNumber(m[1].str(), text);
  if (!n.ok()) return n.status();
  v.epoch = *n;
  for (absl::string_view part : absl::StrSplit(m[2].str(), '.')) {
    n = ParseNumber(std::string(part), text);
    if (!n.ok()) return n.status();
    v.release.push_back(*n);
  }
  if (m[3].matched) {
    std::string label = m[3].str();
    Pep440Version::PreKind kind = Pep440Version::PreKind::kRc;
    if (label == "a" || label == "alpha") kind = Pep440Version::PreKind::kAlpha;
    if (label == "b" || label == "beta") kind = Pep440Version::PreKind::kBeta;
    n = ParseNumber(m[4].str(), text);
    if (!n.ok()) return n.status();
    v.pre = Pep440Version::Pre{kind, *n};
  }
  if (m[5].matched || m[6].matched) {
    n = ParseNumber(m[5].matched ? m[5].str() : m[7].str(), text);
    if (!n.ok()) return n.status();
    v.post = *n;
  }
  if (m[8].matched) {
    n = ParseNumber(m[9].str(), text);
    if (!n.ok()) return n.status();
    v.dev = *n;
  }
  if (m[10].matched) {
    std::string local = m[10].str();
    std::replace(local.begin(), local.end(), '-', '.');
    std::replace(local.begin(), local.end(), '_', '.');
    v.local = local;
  }
  return v;
}

int ComparePep440(const Pep440Version& a, const Pep440Version& b) {
  if (int c = Cmp(a.epoch, b.epoch)) return c;
  if (int c = Cmp(TrimmedRelease(a.release), TrimmedRelease(b.release))) return c;
  if (int c = Cmp(PreKey(a), PreKey(b))) return c;
  if (int c = Cmp(PostKey(a), PostKey(b))) return c;
  if (int c = Cmp(DevKey(a), DevKey(b))) return c;
  return CompareLocal(a.local, b.local);
}

absl::StatusOr<VersionSpec> VersionSpec::Parse(absl::string_view text) {
  VersionSpec spec;
  spec.text_ = std::string(absl::StripAsciiWhitespace(text));
  for (absl::string_view raw : absl::StrSplit(text, ',')) {
    absl::string_view clause_text = absl::StripAsciiWhitespace(raw);
    if (clause_text.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("empty clause in version spec \"", text, "\""));
    }
    Clause clause;
    for (absl::string_view op : {"~=", "==", "!=", "<=", ">=", "<", ">"}) {
      if (absl::ConsumePrefix(&clause_text, op)) {
        clause.op = std::string(op);
        break;
      }
    }
    if (clause.op.empty() || absl::StartsWith(clause_text, "=")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported operator in version spec clause \"", raw, "\""));
    }
    clause_text = absl::StripAsciiWhitespace(clause_text);
    if ((clause.op == "==" || clause.op == "!=") && absl::ConsumeSuffix(&clause_text, ".*")) {
      clause.prefix = true;
    }
    absl::StatusOr<Pep440Version> version = ParsePep440Version(clause_text);
    if (!version.ok()) return version.status();
    if (clause.prefix &&
        (version->pre || version->post || version->dev || !version->local.empty())) {
      return absl::InvalidArgumentError(absl::StrCat("bad prefix match \"", raw, "\""));
    }
    if (clause.op == "~=" && version->release.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", raw, "\": ~= needs at least two release numbers"));
    }
    clause.version = *std::move(version);
    if ((clause.op == "==" || clause.op == ">=" || clause.op == "<=" || clause.op == "~=") &&
        clause.version.IsPrerelease()) {
      spec.allows_prereleases_ = true;
    }
    spec.clauses_.push_back(std::move(clause));
  }
  return spec;
}

bool VersionSpec::ClauseHolds(const Clause& clause, const Pep440Version& v) {
  const Pep440Version& s = clause.version;
  const std::string& op = clause.op;
  if (op == "==" || op == "!=") {
    bool equal;
    if (clause.prefix) {
      equal = PrefixMatches(s, v);
    } else {
      equal = ComparePep440(s.local.empty() ? Public(v) : v, s) == 0;
    }
    return op == "==" ? equal : !equal;
  }
  if (op == "<=") return ComparePep440(Public(v), s) <= 0;
  if (op == ">=") return ComparePep440(Public(v), s) >= 0;
  if (op == "<") {
    if (ComparePep440(v, s) >= 0) return false;
    return !(!s.IsPrerelease() && v.IsPrerelease() && SameBase(v, s));
  }
  if (op == ">") {
    if (ComparePep440(v, s) <= 0) return false;
    if (!s.IsPostrelease() && v.IsPostrelease() && SameBase(v, s)) return false;
    return !(!v.local.empty() && SameBase(v, s));
  }
  if (op == "~=") {
    Pep440Version prefix;
    prefix.epoch = s.epoch;
    prefix.release.assign(s.release.begin(), s.release.end() - 1);
    return ComparePep440(Public(v), s) >= 0 && PrefixMatches(prefix, v);
  }
  return false;
}

bool VersionSpec::Contains(const Pep440Version& version) const {
  if (version.IsPrerelease() && !allows_prereleases_) return false;
  for (const Clause& clause : clauses_) {
    if (!ClauseHolds(clause, version)) return false;
  }
  return true;
}

}  // namespace sagewai::cli
