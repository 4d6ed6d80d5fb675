#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <ctime>

#include "common/fd_io.h"
#include "common/json_writer.h"

namespace sagewai::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
// Set once at start-up, before any thread logs.
std::string_view g_component = "sagewai";

constexpr std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      break;
  }
  return "off";
}

std::string Timestamp() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  char frac[16];
  int m = snprintf(frac, sizeof frac, ".%03ldZ", ts.tv_nsec / 1000000);
  return std::string(buf, n) + std::string(frac, m);
}

}  // namespace

bool ParseLevel(std::string_view text, Level* level) {
  if (text == "debug") {
    *level = Level::kDebug;
  } else if (text == "info") {
    *level = Level::kInfo;
  } else if (text == "warn" || text == "warning") {
    *level = Level::kWarn;
  } else if (text == "error") {
    *level = Level::kError;
  } else if (text == "off" || text == "none") {
    *level = Level::kOff;
  } else {
    return false;
  }
  return true;
}

void Init(std::string_view component, Level default_level) {
  g_component = component;
  Level level = default_level;
  if (const char* env = std::getenv("SAGEWAI_LOG_LEVEL"); env != nullptr) {
    if (!ParseLevel(env, &level)) level = default_level;
  }
  SetLevel(level);
}

void SetLevel(Level level) { g_level.store(static_cast<int>(level), std::memory_order_relaxed); }

bool Enabled(Level level) {
  return level != Level::kOff && static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  const int saved_errno = errno;
  json::ObjectWriter w;
  w.String("ts", Timestamp()).String("level", LevelName(level)).String("component", g_component);
  w.String("msg", msg);
  for (const Field& f : fields) {
    if (const auto* s = std::get_if<std::string>(&f.value)) {
      w.String(f.key, *s);
    } else if (const auto* i = std::get_if<int64_t>(&f.value)) {
      w.Int(f.key, *i);
    } else {
      w.Bool(f.key, std::get<bool>(f.value));
    }
  }
  std::string line = w.Finish();
  line.push_back('\n');
  // One write keeps lines whole when threads log at once.
  WriteAll(STDERR_FILENO, line);
  errno = saved_errno;
}

}  // namespace sagewai::log
