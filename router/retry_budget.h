// Retry budget after Finagle's RetryBudget: every request deposits a fraction of a retry
// (budget_percent / 100) and a time-based reserve adds min_per_second, so retries stay under
// ~20% of traffic plus a small floor and cannot multiply load when an upstream is failing.
// Deposits expire after a window (10 s, Finagle's TTL) so an idle past does not fund a storm.
// One per worker thread; not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace canarymesh::router {

class RetryBudget {
 public:
  // `min_per_second` is this worker's share of the floor.
  RetryBudget(double budget_percent, double min_per_second);

  void Deposit(int64_t now_ms);
  // Takes one retry from the budget if there is one.
  bool TryWithdraw(int64_t now_ms);
  double Balance(int64_t now_ms);

 private:
  static constexpr int kSlots = 10;  // 10 one-second slots = the 10 s window
  void Advance(int64_t now_ms);

  const double ratio_;
  const double min_per_second_;
  std::array<double, kSlots> deposits_{};  // deposits per second in the window
  double withdrawn_ = 0;                   // retries taken within the window
  std::array<double, kSlots> withdrawals_{};
  int64_t current_second_ = -1;
};

}  // namespace canarymesh::router
