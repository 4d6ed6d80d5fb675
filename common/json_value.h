// The JSON DOM: Value (a std::variant over the six JSON types) and Object
// (members in insertion order), and Serialize, which spells every token
// through json_writer.h so that replies and written objects format alike.
// Parse() is in json_reader.h.
#ifndef SAGEWAI_COMMON_JSON_VALUE_H_
#define SAGEWAI_COMMON_JSON_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace sagewai::json {

class Value;
class Object;
using Array = std::vector<Value>;

enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

// "null", "boolean", "number", "string", "array" or "object".
absl::string_view TypeName(Type type);

// A heap-held T with value semantics (copies deep-copy). Keeps Value at 16
// bytes, which bounds what a large parsed array costs, and lets Value hold
// Array and Object before they are complete. Never empty while reachable:
// Value resets a moved-from variant to null.
template <typename T>
class Boxed {
 public:
  explicit Boxed(T value) : ptr_(std::make_unique<T>(std::move(value))) {}
  Boxed(const Boxed& other) : ptr_(std::make_unique<T>(*other.ptr_)) {}
  Boxed& operator=(const Boxed& other) {
    if (this != &other) ptr_ = std::make_unique<T>(*other.ptr_);
    return *this;
  }
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(Boxed&&) noexcept = default;

  T& operator*() const { return *ptr_; }
  T* get() const { return ptr_.get(); }

 private:
  std::unique_ptr<T> ptr_;
};

// One JSON value. Copyable and cheap to move; 16 bytes, strings and
// containers live on the heap.
//
// Numbers keep the int64 when the source literal is an integer that fits
// (is_int()), and otherwise the double plus the literal as written, so that
// Serialize() reproduces any parsed number exactly (a JSON-RPC id of
// 123456789012345678901234567890 stays that integer).
class Value {
 public:
  Value() noexcept = default;
  Value(std::nullptr_t) noexcept : Value() {}
  Value(bool b) noexcept : storage_(b) {}
  // Any integer type. Unsigned values above INT64_MAX are kept exactly as
  // decimal literals (is_int() is then false).
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Value(T v) {
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(int64_t)) {
      SetUnsigned(static_cast<uint64_t>(v));
    } else {
      storage_ = static_cast<int64_t>(v);
    }
  }
  // Non-finite doubles serialize as null (JSON has no NaN or Infinity).
  Value(double d);
  Value(const char* s);
  Value(absl::string_view s);
  Value(std::string s);
  Value(Array a);
  Value(Object o);

  Value(const Value& other);
  // A moved-from value is null.
  Value(Value&& other) noexcept;
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept;
  ~Value();

  Type type() const;
  bool is_null() const { return std::holds_alternative<std::monostate>(storage_); }
  bool is_bool() const { return std::holds_alternative<bool>(storage_); }
  bool is_number() const { return is_int() || std::holds_alternative<Boxed<Decimal>>(storage_); }
  // A number that is an integer literal (no fraction, no exponent) within
  // int64.
  bool is_int() const { return std::holds_alternative<int64_t>(storage_); }
  bool is_string() const { return std::holds_alternative<Boxed<std::string>>(storage_); }
  bool is_array() const { return std::holds_alternative<Boxed<Array>>(storage_); }
  bool is_object() const { return std::holds_alternative<Boxed<Object>>(storage_); }

  // Each returns nullopt / nullptr when the value is of another type.
  std::optional<bool> AsBool() const;
  // Only for is_int() values: 1.0, 1e2 and 2^63 are numbers but no int.
  std::optional<int64_t> AsInt() const;
  // Any number (an int converts to the nearest double).
  std::optional<double> AsDouble() const;
  // Valid while this value lives and is not modified.
  std::optional<absl::string_view> AsString() const;
  const Array* AsArray() const;
  Array* AsArray();
  const Object* AsObject() const;
  Object* AsObject();

  // The member `key` of an object, or nullptr (not an object, or no such key).
  const Value* Find(absl::string_view key) const;

  // Deep equality. Numbers compare by value (1 == 1.0), objects member by
  // member in order.
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  friend class Parser;
  friend void AppendSerialized(std::string& out, const Value& value);

  // A number that is not an int64: its value and its text (empty for NaN and
  // infinities, which serialize as null).
  struct Decimal {
    double value;
    std::string literal;
  };
  // The alternatives in the order of Type, a number taking two.
  using Storage = std::variant<std::monostate, bool, int64_t, Boxed<Decimal>, Boxed<std::string>,
                               Boxed<Array>, Boxed<Object>>;

  static Value FromDecimal(double value, std::string literal);
  void SetUnsigned(uint64_t v);

  Storage storage_;
};

// An object's members in insertion order. Keys are unique: setting an
// existing key replaces its value where it stands (so a parsed object with
// duplicate keys keeps the first position and the last value). Lookups are
// O(1) on large objects.
class Object {
 public:
  using Member = std::pair<std::string, Value>;
  using const_iterator = std::vector<Member>::const_iterator;

  Object() = default;
  Object(std::initializer_list<Member> members);
  Object(const Object& other);
  Object& operator=(const Object& other);
  Object(Object&&) noexcept = default;
  Object& operator=(Object&&) noexcept = default;

  // Sets `key` to `value` and returns the stored value.
  Value& Set(std::string key, Value value);
  const Value* Find(absl::string_view key) const;
  Value* Find(absl::string_view key);
  bool contains(absl::string_view key) const { return Find(key) != nullptr; }

  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  const_iterator begin() const { return members_.begin(); }
  const_iterator end() const { return members_.end(); }

  friend bool operator==(const Object& a, const Object& b) { return a.members_ == b.members_; }

 private:
  // Small objects are searched linearly; past this many members an index
  // keeps lookups (and parsing many keys) linear overall.
  static constexpr size_t kIndexThreshold = 16;

  using Index = absl::flat_hash_map<std::string, size_t>;  // key -> position

  std::vector<Member> members_;
  std::unique_ptr<Index> index_;  // only for large objects
};

// Compact JSON (no whitespace), members in order; strings via
// json::AppendString (invalid UTF-8 in a string built in code becomes
// U+FFFD). Recurses per nesting level, like the parser.
std::string Serialize(const Value& value);
void AppendSerialized(std::string& out, const Value& value);

}  // namespace sagewai::json

#endif  // SAGEWAI_COMMON_JSON_VALUE_H_
