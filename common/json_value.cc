#include "common/json_value.h"

#include <charconv>
#include <cmath>
#include <iterator>
#include <limits>

#include "common/json_writer.h"

namespace sagewai::json {
namespace {

// std::visit over a set of lambdas.
template <typename... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

absl::string_view TypeName(Type type) {
  // In the order of Type's enumerators.
  static constexpr absl::string_view kNames[] = {"null",   "boolean", "number",
                                                 "string", "array",   "object"};
  const auto i = static_cast<size_t>(type);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

// ---- Value ----

Value::Value(double d) {
  std::string literal;
  if (std::isfinite(d)) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
    literal.assign(buf, end);
  }
  storage_ = Boxed<Decimal>(Decimal{d, std::move(literal)});
}

Value::Value(const char* s) : Value(std::string(s)) {}
Value::Value(absl::string_view s) : Value(std::string(s)) {}
Value::Value(std::string s) : storage_(Boxed<std::string>(std::move(s))) {}
Value::Value(Array a) : storage_(Boxed<Array>(std::move(a))) {}
Value::Value(Object o) : storage_(Boxed<Object>(std::move(o))) {}

Value::Value(const Value& other) = default;
Value::Value(Value&& other) noexcept : storage_(std::exchange(other.storage_, Storage())) {}
Value& Value::operator=(const Value& other) = default;

Value& Value::operator=(Value&& other) noexcept {
  if (this != &other) storage_ = std::exchange(other.storage_, Storage());
  return *this;
}

Value::~Value() = default;

Value Value::FromDecimal(double value, std::string literal) {
  Value v;
  v.storage_ = Boxed<Decimal>(Decimal{value, std::move(literal)});
  return v;
}

void Value::SetUnsigned(uint64_t v) {
  if (v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    storage_ = static_cast<int64_t>(v);
  } else {
    std::string literal;
    AppendUint(literal, v);
    *this = FromDecimal(static_cast<double>(v), std::move(literal));
  }
}

Type Value::type() const {
  static constexpr Type kTypes[] = {Type::kNull,   Type::kBool,  Type::kNumber, Type::kNumber,
                                    Type::kString, Type::kArray, Type::kObject};
  static_assert(std::size(kTypes) == std::variant_size_v<Storage>);
  return kTypes[storage_.index()];
}

std::optional<bool> Value::AsBool() const {
  if (const bool* b = std::get_if<bool>(&storage_)) return *b;
  return std::nullopt;
}

std::optional<int64_t> Value::AsInt() const {
  if (const int64_t* i = std::get_if<int64_t>(&storage_)) return *i;
  return std::nullopt;
}

std::optional<double> Value::AsDouble() const {
  if (const int64_t* i = std::get_if<int64_t>(&storage_)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<Boxed<Decimal>>(&storage_)) return (**d).value;
  return std::nullopt;
}

std::optional<absl::string_view> Value::AsString() const {
  if (const auto* s = std::get_if<Boxed<std::string>>(&storage_)) return absl::string_view(**s);
  return std::nullopt;
}

const Array* Value::AsArray() const {
  const auto* a = std::get_if<Boxed<Array>>(&storage_);
  return a ? a->get() : nullptr;
}

Array* Value::AsArray() {
  auto* a = std::get_if<Boxed<Array>>(&storage_);
  return a ? a->get() : nullptr;
}

const Object* Value::AsObject() const {
  const auto* o = std::get_if<Boxed<Object>>(&storage_);
  return o ? o->get() : nullptr;
}

Object* Value::AsObject() {
  auto* o = std::get_if<Boxed<Object>>(&storage_);
  return o ? o->get() : nullptr;
}

const Value* Value::Find(absl::string_view key) const {
  const Object* object = AsObject();
  return object ? object->Find(key) : nullptr;
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return *a.AsInt() == *b.AsInt();
    return *a.AsDouble() == *b.AsDouble();
  }
  if (a.storage_.index() != b.storage_.index()) return false;
  return std::visit(Overloaded{
                        [](const std::monostate&) { return true; },
                        [&](bool x) { return x == *b.AsBool(); },
                        [](int64_t) { return false; },  // numbers are handled above
                        [](const Boxed<Value::Decimal>&) { return false; },
                        [&](const Boxed<std::string>& s) { return *s == *b.AsString(); },
                        [&](const Boxed<Array>& x) { return *x == *b.AsArray(); },
                        [&](const Boxed<Object>& x) { return *x == *b.AsObject(); },
                    },
                    a.storage_);
}

// ---- Object ----

Object::Object(std::initializer_list<Member> members) {
  for (const Member& m : members) Set(m.first, m.second);
}

Object::Object(const Object& other)
    : members_(other.members_),
      index_(other.index_ ? std::make_unique<Index>(*other.index_) : nullptr) {}

Object& Object::operator=(const Object& other) {
  if (this != &other) *this = Object(other);
  return *this;
}

Value& Object::Set(std::string key, Value value) {
  if (Value* existing = Find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  if (!index_ && members_.size() >= kIndexThreshold) {
    index_ = std::make_unique<Index>();
    for (size_t i = 0; i < members_.size(); ++i) index_->emplace(members_[i].first, i);
  }
  if (index_) index_->emplace(key, members_.size());
  members_.emplace_back(std::move(key), std::move(value));
  return members_.back().second;
}

const Value* Object::Find(absl::string_view key) const {
  if (index_) {
    auto it = index_->find(key);
    return it == index_->end() ? nullptr : &members_[it->second].second;
  }
  for (const Member& m : members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

Value* Object::Find(absl::string_view key) {
  return const_cast<Value*>(static_cast<const Object*>(this)->Find(key));
}

// ---- Serializer: every token through json_writer ----

void AppendSerialized(std::string& out, const Value& value) {
  std::visit(Overloaded{
                 [&](const std::monostate&) { AppendNull(out); },
                 [&](bool b) { AppendBool(out, b); },
                 [&](int64_t i) { AppendInt(out, i); },
                 [&](const Boxed<Value::Decimal>& d) {
                   if ((*d).literal.empty()) {
                     AppendNull(out);  // NaN or infinity
                   } else {
                     out.append((*d).literal);
                   }
                 },
                 [&](const Boxed<std::string>& s) { AppendString(out, *s); },
                 [&](const Boxed<Array>& array) {
                   out.push_back('[');
                   for (size_t i = 0; i < (*array).size(); ++i) {
                     if (i > 0) out.push_back(',');
                     AppendSerialized(out, (*array)[i]);
                   }
                   out.push_back(']');
                 },
                 [&](const Boxed<Object>& object) {
                   out.push_back('{');
                   bool first = true;
                   for (const auto& [key, member] : *object) {
                     if (!first) out.push_back(',');
                     first = false;
                     AppendString(out, key);
                     out.push_back(':');
                     AppendSerialized(out, member);
                   }
                   out.push_back('}');
                 },
             },
             value.storage_);
}

std::string Serialize(const Value& value) {
  std::string out;
  AppendSerialized(out, value);
  return out;
}

}  // namespace sagewai::json
