#include "router/upstream_instance.h"

#include <gtest/gtest.h>

namespace canarymesh::router {
namespace {

class UpstreamInstanceTest : public ::testing::Test {
 protected:
  UpstreamInstanceTest() : instance_(1, ParseNetAddress("127.0.0.1:1").value()) {
    cfg_.consecutive_failures = 3;
    cfg_.base_ejection_ms = 1000;
    cfg_.max_ejection_ms = 5000;
  }
  // Fails until the instance is ejected; returns the ejection length.
  int64_t FailUntilEjected(int64_t now) {
    for (int i = 0; i < 100; ++i) {
      if (instance_.RecordFailure(now, cfg_)) return instance_.ejected_until_ms() - now;
    }
    ADD_FAILURE() << "never ejected";
    return 0;
  }

  OutlierConfig cfg_;
  UpstreamInstance instance_;
  int64_t now_ = 50'000;
};

TEST_F(UpstreamInstanceTest, EjectsAfterConsecutiveFailures) {
  EXPECT_FALSE(instance_.RecordFailure(now_, cfg_));
  EXPECT_FALSE(instance_.RecordFailure(now_, cfg_));
  EXPECT_FALSE(instance_.IsEjected(now_));
  EXPECT_TRUE(instance_.RecordFailure(now_, cfg_));
  EXPECT_TRUE(instance_.IsEjected(now_));
  EXPECT_TRUE(instance_.IsEjected(now_ + 999));
  EXPECT_FALSE(instance_.IsEjected(now_ + 1000));
  EXPECT_EQ(instance_.ejections_total(), 1u);
  // Failures while ejected (in-flight requests, panic mode) do not extend it.
  EXPECT_FALSE(instance_.RecordFailure(now_ + 10, cfg_));
  EXPECT_EQ(instance_.ejected_until_ms(), now_ + 1000);
}

TEST_F(UpstreamInstanceTest, SuccessBreaksTheStreak) {
  instance_.RecordFailure(now_, cfg_);
  instance_.RecordFailure(now_, cfg_);
  instance_.RecordSuccess();
  EXPECT_FALSE(instance_.RecordFailure(now_, cfg_));
  EXPECT_FALSE(instance_.RecordFailure(now_, cfg_));
  EXPECT_FALSE(instance_.IsEjected(now_));
}

TEST_F(UpstreamInstanceTest, ProbationReEjectsWithDoubledTimeCappedAtMax) {
  EXPECT_EQ(FailUntilEjected(now_), 1000);
  int64_t expected[] = {2000, 4000, 5000, 5000};
  for (int64_t want : expected) {
    now_ = instance_.ejected_until_ms();  // the ejection just ended: on probation
    EXPECT_FALSE(instance_.IsEjected(now_));
    EXPECT_TRUE(instance_.RecordFailure(now_, cfg_)) << "first failure on probation ejects again";
    EXPECT_EQ(instance_.ejected_until_ms() - now_, want);
  }
  EXPECT_EQ(instance_.ejections_total(), 5u);
}

TEST_F(UpstreamInstanceTest, SuccessAfterProbationResetsTheBackoff) {
  FailUntilEjected(now_);
  now_ = instance_.ejected_until_ms();
  instance_.RecordFailure(now_, cfg_);  // re-ejected for 2 s
  now_ = instance_.ejected_until_ms();
  instance_.RecordSuccess();
  EXPECT_FALSE(instance_.RecordFailure(now_, cfg_)) << "no longer on probation";
  EXPECT_FALSE(instance_.RecordFailure(now_, cfg_));
  EXPECT_TRUE(instance_.RecordFailure(now_, cfg_));
  EXPECT_EQ(instance_.ejected_until_ms() - now_, 1000);
}

TEST_F(UpstreamInstanceTest, ZeroThresholdDisablesEjection) {
  cfg_.consecutive_failures = 0;
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(instance_.RecordFailure(now_, cfg_));
  EXPECT_FALSE(instance_.IsEjected(now_));
}

TEST_F(UpstreamInstanceTest, LabelIsTheAddress) { EXPECT_EQ(instance_.label(), "127.0.0.1:1"); }

}  // namespace
}  // namespace canarymesh::router
