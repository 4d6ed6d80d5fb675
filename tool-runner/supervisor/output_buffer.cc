#include "tool-runner/supervisor/output_buffer.h"

#include <algorithm>

namespace sagewai {

void OutputBuffer::Append(std::string_view data) {
  total_ += data.size();
  if (data_.size() >= cap_) return;
  data_.append(data.substr(0, std::min(data.size(), cap_ - data_.size())));
}

}  // namespace sagewai
