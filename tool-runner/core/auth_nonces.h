// The runner's table of challenge nonces: which sessions exist, when each was
// last used and which sequence numbers each has accepted. Bounded (the
// challenge is open, so anyone who can connect can add entries), idle
// entries expire, and every operation is O(1). Not thread-safe: TokenAuth
// holds the lock.
#ifndef SAGEWAI_TOOL_RUNNER_CORE_AUTH_NONCES_H_
#define SAGEWAI_TOOL_RUNNER_CORE_AUTH_NONCES_H_

#include <bitset>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace sagewai {

class NonceTable {
 public:
  using Clock = std::chrono::steady_clock;
  // Sequence numbers this far behind the newest one a nonce accepted are
  // refused: calls of one session may arrive out of order, but not that far.
  static constexpr size_t kReplayWindow = 1024;

  enum class Verdict { kAccepted, kUnknown, kReplayed, kTooOld };

  NonceTable(size_t capacity, Clock::duration idle_expiry);

  // A nonce from a fresh challenge. When the table is full the least
  // recently used nonce that never carried a call goes first, so a flood of
  // challenges cannot push out sessions in use; only when every entry is in
  // use does the least recently used one go.
  void Add(std::string nonce, Clock::time_point now);

  // Whether `nonce` exists and has not been idle longer than the expiry.
  // Does not count as a use.
  bool Contains(absl::string_view nonce, Clock::time_point now);

  // Records (nonce, seq) once; call only for a verified MAC. kUnknown for a
  // nonce that was never added, evicted or expired.
  Verdict Use(absl::string_view nonce, uint64_t seq, Clock::time_point now);

  size_t size() const { return entries_.size(); }

 private:
  struct Entry;
  using Order = std::list<std::string>;

  struct Entry {
    Clock::time_point last_used;
    bool in_use = false;  // has carried an accepted call
    uint64_t newest = 0;  // the largest seq accepted; 0: none yet
    // Bit i: newest - i was accepted.
    std::bitset<kReplayWindow> seen;
    Order::iterator position;  // in pending_ or active_
  };

  // Drops `it` if it has been idle too long; true when it did.
  bool ExpireIfIdle(absl::flat_hash_map<std::string, Entry>::iterator it, Clock::time_point now);
  void Erase(absl::flat_hash_map<std::string, Entry>::iterator it);
  void ExpireOldest(Order* order, Clock::time_point now);

  size_t capacity_;
  Clock::duration idle_expiry_;
  absl::flat_hash_map<std::string, Entry> entries_;
  // Least recently used first.
  Order pending_;  // challenged, no call yet
  Order active_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CORE_AUTH_NONCES_H_
