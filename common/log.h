// Structured log lines on stderr: one JSON object per event,
// {"ts":..., "level":..., "component":..., "msg":..., <fields>}.
// Thread-safe: each line is one write(2). Never pass a secret as a field.
#ifndef SAGEWAI_COMMON_LOG_H_
#define SAGEWAI_COMMON_LOG_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace sagewai::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// Sets the component name and the threshold: SAGEWAI_LOG_LEVEL
// (debug|info|warn|error|off) when set and valid, else `default_level`.
void Init(std::string_view component, Level default_level);
void SetLevel(Level level);
bool Enabled(Level level);
// Parses "debug", "info", "warn"/"warning", "error", "off".
bool ParseLevel(std::string_view text, Level* level);

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, unsigned v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, uint64_t v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  std::variant<std::string, int64_t, bool> value;
};

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, msg, f);
}
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kError)) Write(Level::kError, msg, f);
}

}  // namespace sagewai::log

#endif  // SAGEWAI_COMMON_LOG_H_
