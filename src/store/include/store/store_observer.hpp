#pragma once
// What a store adapter tells an observer (metrics) about its commits. Called on the store's
// writer thread, once per committed transaction and once per event in it: implementations must
// be cheap and must not block or throw (every write waits behind this thread).

#include <chrono>
#include <cstddef>
#include <string_view>

namespace orders {

class StoreObserver {
 public:
  virtual ~StoreObserver() = default;
  /// A group commit finished: `writes` jobs (order writes and outbox bookkeeping) in one
  /// transaction that took `duration` from BEGIN to the durable COMMIT; `ok` false when the
  /// whole transaction failed (then no event of it was written).
  virtual void batchCommitted(std::size_t writes, std::chrono::nanoseconds duration, bool ok) = 0;
  /// One outbox event of a committed write (called before the writer answers its caller, so a
  /// client that saw its 201 also sees the count).
  virtual void eventWritten(std::string_view messageType) = 0;
};

}  // namespace orders
