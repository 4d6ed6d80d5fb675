#include "tool-runner/supervisor/output_buffer.h"

#include <algorithm>
#include <utility>

namespace sagewai {

void OutputBuffer::Append(std::string_view data) {
  total_ += data.size();
  const size_t room = data_.size() < cap_ ? cap_ - data_.size() : 0;
  if (data.size() > room) truncated_ = true;
  if (room > 0) data_.append(data.substr(0, std::min(data.size(), room)));
}

TakenOutput OutputBuffer::Take() {
  TakenOutput out{std::move(data_), truncated_, total_};
  data_.clear();
  total_ = 0;
  truncated_ = false;
  return out;
}

}  // namespace sagewai
