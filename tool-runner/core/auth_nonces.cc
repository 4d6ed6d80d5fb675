#include "tool-runner/core/auth_nonces.h"

#include <utility>

namespace sagewai {

NonceTable::NonceTable(size_t capacity, Clock::duration idle_expiry)
    : capacity_(capacity == 0 ? 1 : capacity), idle_expiry_(idle_expiry) {}

void NonceTable::Erase(absl::flat_hash_map<std::string, Entry>::iterator it) {
  (it->second.in_use ? active_ : pending_).erase(it->second.position);
  entries_.erase(it);
}

bool NonceTable::ExpireIfIdle(absl::flat_hash_map<std::string, Entry>::iterator it,
                              Clock::time_point now) {
  if (now - it->second.last_used <= idle_expiry_) return false;
  Erase(it);
  return true;
}

void NonceTable::ExpireOldest(Order* order, Clock::time_point now) {
  // Each list is ordered by last use, so the idle ones are at the front.
  while (!order->empty()) {
    auto it = entries_.find(order->front());
    if (!ExpireIfIdle(it, now)) return;
  }
}

void NonceTable::Add(std::string nonce, Clock::time_point now) {
  ExpireOldest(&pending_, now);
  ExpireOldest(&active_, now);
  if (auto existing = entries_.find(nonce); existing != entries_.end()) Erase(existing);
  if (entries_.size() >= capacity_) {
    Order& victims = pending_.empty() ? active_ : pending_;
    Erase(entries_.find(victims.front()));
  }
  pending_.push_back(nonce);
  Entry entry;
  entry.last_used = now;
  entry.position = std::prev(pending_.end());
  entries_.emplace(std::move(nonce), std::move(entry));
}

bool NonceTable::Contains(absl::string_view nonce, Clock::time_point now) {
  auto it = entries_.find(nonce);
  return it != entries_.end() && !ExpireIfIdle(it, now);
}

NonceTable::Verdict NonceTable::Use(absl::string_view nonce, uint64_t seq, Clock::time_point now) {
  auto it = entries_.find(nonce);
  if (it == entries_.end() || ExpireIfIdle(it, now)) return Verdict::kUnknown;
  Entry& e = it->second;
  if (seq > e.newest) {
    const uint64_t shift = seq - e.newest;
    if (shift >= kReplayWindow) {
      e.seen.reset();
    } else {
      e.seen <<= shift;
    }
    e.seen.set(0);
    e.newest = seq;
  } else {
    const uint64_t behind = e.newest - seq;
    if (behind >= kReplayWindow) return Verdict::kTooOld;
    if (e.seen.test(behind)) return Verdict::kReplayed;
    e.seen.set(behind);
  }
  e.last_used = now;
  Order& from = e.in_use ? active_ : pending_;
  active_.splice(active_.end(), from, e.position);
  e.in_use = true;
  return Verdict::kAccepted;
}

}  // namespace sagewai
