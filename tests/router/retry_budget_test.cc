#include "router/retry_budget.h"

#include <gtest/gtest.h>

namespace canarymesh::router {
namespace {

constexpr int64_t kT0 = 1'000'000;  // any monotonic start

int Withdrawals(RetryBudget& budget, int64_t now_ms, int max) {
  int taken = 0;
  while (taken < max && budget.TryWithdraw(now_ms)) ++taken;
  return taken;
}

TEST(RetryBudgetTest, AllowsAboutTwentyPercentOfRequests) {
  RetryBudget budget(20.0, 0.0);
  for (int i = 0; i < 1000; ++i) budget.Deposit(kT0 + i);
  int taken = Withdrawals(budget, kT0 + 999, 10'000);
  EXPECT_GE(taken, 199);
  EXPECT_LE(taken, 200);
  EXPECT_FALSE(budget.TryWithdraw(kT0 + 999));
}

TEST(RetryBudgetTest, NothingWithoutRequestsOrFloor) {
  RetryBudget budget(20.0, 0.0);
  EXPECT_FALSE(budget.TryWithdraw(kT0));
  for (int i = 0; i < 4; ++i) budget.Deposit(kT0);
  EXPECT_FALSE(budget.TryWithdraw(kT0)) << "four requests fund 0.8 of a retry";
  budget.Deposit(kT0);
  EXPECT_TRUE(budget.TryWithdraw(kT0));
  EXPECT_FALSE(budget.TryWithdraw(kT0));
}

TEST(RetryBudgetTest, FloorAllowsRetriesAtLowTraffic) {
  RetryBudget budget(20.0, 2.0);  // 2 per second over the 10 s window
  EXPECT_EQ(Withdrawals(budget, kT0, 1000), 20);
  // Requests add their share on top of the floor.
  RetryBudget with_traffic(20.0, 2.0);
  for (int i = 0; i < 100; ++i) with_traffic.Deposit(kT0);
  EXPECT_EQ(Withdrawals(with_traffic, kT0, 1000), 40);  // 100 x 0.2 + 20, exactly
}

TEST(RetryBudgetTest, DepositsExpireAfterTheWindow) {
  RetryBudget budget(20.0, 0.0);
  for (int i = 0; i < 100; ++i) budget.Deposit(kT0);
  EXPECT_NEAR(budget.Balance(kT0 + 9'000), 20.0, 1e-9);
  EXPECT_NEAR(budget.Balance(kT0 + 10'000), 0.0, 1e-9);
  EXPECT_FALSE(budget.TryWithdraw(kT0 + 10'000));
  // A long idle gap clears everything too.
  EXPECT_FALSE(budget.TryWithdraw(kT0 + 3'600'000));
}

TEST(RetryBudgetTest, WithdrawalsExpireWithTheirWindow) {
  RetryBudget budget(0.0, 1.0);  // floor only: 10 retries per 10 s window
  EXPECT_EQ(Withdrawals(budget, kT0, 100), 10);
  EXPECT_EQ(Withdrawals(budget, kT0 + 5'000, 100), 0) << "spent retries still count in the window";
  EXPECT_EQ(Withdrawals(budget, kT0 + 9'999, 100), 0);
  EXPECT_EQ(Withdrawals(budget, kT0 + 10'000, 100), 10);
}

TEST(RetryBudgetTest, SpendingAndEarningWithinTheWindow) {
  RetryBudget budget(20.0, 0.0);
  for (int i = 0; i < 10; ++i) budget.Deposit(kT0);
  EXPECT_EQ(Withdrawals(budget, kT0, 100), 2);
  for (int i = 0; i < 10; ++i) budget.Deposit(kT0 + 5'000);
  EXPECT_EQ(Withdrawals(budget, kT0 + 5'000, 100), 2);
  // At +10 s the first second leaves the window with its deposits and its withdrawals.
  EXPECT_NEAR(budget.Balance(kT0 + 10'000), 0.0, 1e-6);
  for (int i = 0; i < 5; ++i) budget.Deposit(kT0 + 10'000);
  EXPECT_EQ(Withdrawals(budget, kT0 + 10'000, 100), 1);
}

TEST(RetryBudgetTest, ZeroPercentMeansOnlyTheFloor) {
  RetryBudget budget(0.0, 0.5);
  for (int i = 0; i < 1000; ++i) budget.Deposit(kT0);
  EXPECT_EQ(Withdrawals(budget, kT0, 1000), 5);
}

}  // namespace
}  // namespace canarymesh::router
