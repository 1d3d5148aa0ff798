#include "router/retry_budget.h"

namespace canarymesh::router {

RetryBudget::RetryBudget(double budget_percent, double min_per_second)
    : ratio_(budget_percent / 100.0), min_per_second_(min_per_second) {}

void RetryBudget::Advance(int64_t now_ms) {
  int64_t second = now_ms / 1000;
  if (current_second_ < 0) current_second_ = second;
  if (second <= current_second_) return;
  int64_t steps = second - current_second_;
  if (steps > kSlots) steps = kSlots;
  for (int64_t i = 1; i <= steps; ++i) {
    size_t slot = static_cast<size_t>((current_second_ + i) % kSlots);
    withdrawn_ -= withdrawals_[slot];
    withdrawals_[slot] = 0;
    deposits_[slot] = 0;
  }
  current_second_ = second;
}

double RetryBudget::Balance(int64_t now_ms) {
  Advance(now_ms);
  double deposited = 0;
  for (double d : deposits_) deposited += d;
  // The floor: min_per_second retries in every second of the window.
  return deposited + min_per_second_ * kSlots - withdrawn_;
}

void RetryBudget::Deposit(int64_t now_ms) {
  Advance(now_ms);
  deposits_[static_cast<size_t>(current_second_ % kSlots)] += ratio_;
}

bool RetryBudget::TryWithdraw(int64_t now_ms) {
  // Deposits are sums of fractions (ten 0.2s add up to 1.9999999999999998): allow for rounding
  // so that a budget that has exactly funded a retry grants it.
  if (Balance(now_ms) < 1.0 - 1e-6) return false;
  withdrawals_[static_cast<size_t>(current_second_ % kSlots)] += 1.0;
  withdrawn_ += 1.0;
  return true;
}

}  // namespace canarymesh::router
