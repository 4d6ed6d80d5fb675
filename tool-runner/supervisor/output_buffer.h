// Keeps the first `cap` bytes of a stream and counts the rest: memory stays
// bounded whatever a command prints.
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_OUTPUT_BUFFER_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_OUTPUT_BUFFER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sagewai {

// What a buffer held, taken out at once: the flags describe `data` itself.
struct TakenOutput {
  std::string data;
  bool truncated = false;    // bytes past the cap were dropped
  uint64_t total_bytes = 0;  // bytes seen, kept or not
};

class OutputBuffer {
 public:
  explicit OutputBuffer(size_t cap) : cap_(cap) {}

  void Append(std::string_view data);

  const std::string& data() const { return data_; }
  uint64_t total_bytes() const { return total_; }
  bool truncated() const { return truncated_; }

  // Hands over the data with its counts and leaves the buffer empty.
  TakenOutput Take();

 private:
  size_t cap_;
  std::string data_;
  uint64_t total_ = 0;
  bool truncated_ = false;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_OUTPUT_BUFFER_H_
