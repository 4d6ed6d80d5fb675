// Keeps the first `cap` bytes of a stream and counts the rest: memory stays
// bounded whatever a command prints.
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_OUTPUT_BUFFER_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_OUTPUT_BUFFER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sagewai {

class OutputBuffer {
 public:
  explicit OutputBuffer(size_t cap) : cap_(cap) {}

  void Append(std::string_view data);

  const std::string& data() const { return data_; }
  std::string TakeData() { return std::move(data_); }
  // Bytes seen, kept or not.
  uint64_t total_bytes() const { return total_; }
  bool truncated() const { return total_ > data_.size(); }

 private:
  size_t cap_;
  std::string data_;
  uint64_t total_ = 0;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_OUTPUT_BUFFER_H_
