#include "canary/version_stats.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

// Counts heap allocations made by the calling thread, so that a test can show Record allocates
// once per shard and then never again. Replaces the global operators for this test binary only.
namespace {
thread_local size_t allocations_on_this_thread = 0;
void* CountedAlloc(size_t size, size_t alignment) {
  ++allocations_on_this_thread;
  size = size == 0 ? 1 : size;
  void* p = alignment <= alignof(std::max_align_t)
                ? std::malloc(size)
                : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(size_t size) { return CountedAlloc(size, 0); }
void* operator new(size_t size, std::align_val_t al) {
  return CountedAlloc(size, static_cast<size_t>(al));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace canarymesh::canary {
namespace {

StatKey MustResolve(StatsRegistry& registry, std::string_view service, std::string_view version,
                    std::string_view protocol = "http") {
  Result<StatKey> key = registry.Resolve(service, version, protocol);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return key.value();
}

TEST(StatsRegistryTest, ResolveIsStableAndDistinct) {
  StatsRegistry registry(2);
  const StatKey a = MustResolve(registry, "user", "v1");
  const StatKey b = MustResolve(registry, "user", "v2");
  const StatKey c = MustResolve(registry, "user", "v1", "thrift");
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(MustResolve(registry, "user", "v1"), a);
  EXPECT_EQ(registry.num_keys(), 3u);
  EXPECT_EQ(registry.Labels(c).protocol, "thrift");
  EXPECT_EQ(registry.Labels(b).version, "v2");
}

TEST(StatsRegistryTest, ShardsAreAlignedAndNeverMove) {
  StatsRegistry registry(3);
  const StatKey first = MustResolve(registry, "svc", "v0");
  std::vector<VersionStatsShard*> shards;
  for (uint32_t worker = 0; worker < 3; ++worker) {
    VersionStatsShard* shard = registry.Shard(worker, first);
    ASSERT_NE(shard, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(shard) % 64, 0u);
    shards.push_back(shard);
  }
  // Spill over several chunks.
  // Not "v" + std::to_string(i): GCC 12 -O2 reports a false -Wrestrict on it (GCC bug 105329).
  for (int i = 1; i < 300; ++i) {
    MustResolve(registry, "svc", std::string("v").append(std::to_string(i)));
  }
  for (uint32_t worker = 0; worker < 3; ++worker) {
    EXPECT_EQ(registry.Shard(worker, first), shards[worker]);
  }
  EXPECT_EQ(registry.Shard(3, first), nullptr);
  EXPECT_EQ(registry.Shard(0, 300), nullptr);
  EXPECT_NE(registry.Shard(2, 299), nullptr);
}

TEST(StatsRegistryTest, ReadSumsWorkerShards) {
  StatsRegistry registry(2);
  const StatKey key = MustResolve(registry, "user", "v2");
  VersionStatsShard* worker0 = registry.Shard(0, key);
  VersionStatsShard* worker1 = registry.Shard(1, key);
  for (int i = 0; i < 30; ++i) worker0->Record(i % 10 == 0, 1000, 1'000);
  for (int i = 0; i < 20; ++i) worker1->Record(true, 3000, 2'000);
  const VersionStatsSnapshot stats = registry.Read(key, 2'000);
  EXPECT_EQ(stats.requests, 50u);
  EXPECT_EQ(stats.errors, 3u + 20u);
  EXPECT_EQ(stats.since_start.count, 50u);
  EXPECT_EQ(stats.window.count, 50u);
  EXPECT_EQ(stats.window_errors, 23u);
  EXPECT_EQ(stats.duration_sum_us, 30u * 1000u + 20u * 3000u);
  EXPECT_EQ(stats.since_start.max_us, 3000u);
}

// Most keys (every version of every service, per worker) never see traffic, so a shard must be
// small until its first Record; the ~22 KB of latency histograms come then, once.
TEST(VersionStatsShardTest, UnrecordedShardIsSmallAndReadsAsEmpty) {
  RecordProperty("shard_bytes", static_cast<int>(sizeof(VersionStatsShard)));
  RecordProperty("histogram_bytes", static_cast<int>(VersionStatsShard::HistogramBytes()));
  std::printf("sizeof(VersionStatsShard) = %zu bytes; histograms allocated on first Record = %zu\n",
              sizeof(VersionStatsShard), VersionStatsShard::HistogramBytes());
  EXPECT_LE(sizeof(VersionStatsShard), 256u);
  EXPECT_GT(VersionStatsShard::HistogramBytes(), 20'000u);

  StatsRegistry registry(2);
  const StatKey key = MustResolve(registry, "user", "v1");
  for (uint32_t worker = 0; worker < 2; ++worker) {
    EXPECT_FALSE(registry.Shard(worker, key)->has_histograms()) << worker;
  }

  const VersionStatsSnapshot empty = registry.Read(key, 1'000);
  EXPECT_EQ(empty.requests, 0u);
  EXPECT_EQ(empty.duration_sum_us, 0u);
  EXPECT_EQ(empty.since_start.count, 0u);
  EXPECT_EQ(empty.window.count, 0u);
  EXPECT_EQ(empty.window_errors, 0u);

  const std::vector<prometheus::MetricFamily> families = registry.CollectPrometheus();
  ASSERT_EQ(families.size(), 2u);
  ASSERT_EQ(families[1].metric.size(), 1u);
  EXPECT_EQ(families[1].metric[0].histogram.sample_count, 0u);
  EXPECT_EQ(families[1].metric[0].histogram.sample_sum, 0.0);

  const nlohmann::json summary = registry.ServiceSummaryJson("user", 1'000);
  const nlohmann::json& v1 = summary["versions"]["v1"];
  EXPECT_EQ(v1["requests"], 0) << summary.dump();
  EXPECT_TRUE(v1["error_rate"].is_null());
  EXPECT_TRUE(v1["latency_ms"]["p50"].is_null());
  EXPECT_EQ(v1["window"]["requests"], 0);

  // Only the shard that records gets histograms.
  registry.Shard(0, key)->Record(true, 1'500, 1'000);
  EXPECT_TRUE(registry.Shard(0, key)->has_histograms());
  EXPECT_FALSE(registry.Shard(1, key)->has_histograms());
  const VersionStatsSnapshot one = registry.Read(key, 1'000);
  EXPECT_EQ(one.requests, 1u);
  EXPECT_EQ(one.errors, 1u);
  EXPECT_EQ(one.duration_sum_us, 1'500u);
  EXPECT_EQ(one.since_start.count, 1u);
  EXPECT_EQ(one.since_start.max_us, 1'500u);
  EXPECT_EQ(one.window.count, 1u);
  EXPECT_EQ(one.window_errors, 1u);
}

TEST(VersionStatsShardTest, RecordAllocatesOnlyTheFirstTime) {
  StatsRegistry registry(1);
  VersionStatsShard* shard = registry.Shard(0, MustResolve(registry, "user", "v1"));
  size_t before = allocations_on_this_thread;
  shard->Record(false, 100, 0);
  EXPECT_EQ(allocations_on_this_thread - before, 1u);

  before = allocations_on_this_thread;
  for (int i = 0; i < 1000; ++i) {
    // Crosses window slots too (10 s each), which recycles slots in place.
    shard->Record(i % 7 == 0, static_cast<uint64_t>(i) * 977, int64_t{i} * 500);
  }
  EXPECT_EQ(allocations_on_this_thread - before, 0u);
  EXPECT_EQ(registry.Read(0, 499'500).since_start.count, 1001u);
}

// Readers run while each shard's first Record allocates and publishes its histograms: a reader
// sees either no histograms or complete ones, so per-key sample counts only ever grow. Run under
// the sanitizer builds to catch races and use of unconstructed memory.
TEST(VersionStatsShardTest, ReadersRaceFirstRecords) {
  constexpr uint32_t kWorkers = 2;
  constexpr int kKeys = 300;
  constexpr int kRecordsPerShard = 3;
  StatsRegistry registry(kWorkers);
  std::vector<StatKey> keys;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back(MustResolve(registry, "user", std::string("v").append(std::to_string(i))));
  }
  std::atomic<int> writers_running{kWorkers};
  std::vector<std::thread> writers;
  for (uint32_t worker = 0; worker < kWorkers; ++worker) {
    writers.emplace_back([&, worker] {
      for (const StatKey key : keys) {
        for (int i = 0; i < kRecordsPerShard; ++i) {
          registry.Shard(worker, key)->Record(i == 0, 50, 0);
        }
      }
      writers_running.fetch_sub(1);
    });
  }
  std::vector<uint64_t> last_count(kKeys, 0);
  bool went_backwards = false;
  bool too_many = false;
  int passes = 0;
  while (writers_running.load() > 0 || passes == 0) {
    for (int i = 0; i < kKeys; ++i) {
      const VersionStatsSnapshot stats = registry.Read(keys[i], 0);
      went_backwards = went_backwards || stats.since_start.count < last_count[i];
      too_many = too_many || stats.since_start.count > kWorkers * kRecordsPerShard ||
                 stats.duration_sum_us > 50u * kWorkers * kRecordsPerShard;
      last_count[i] = stats.since_start.count;
    }
    (void)registry.CollectPrometheus();
    (void)registry.ServiceSummaryJson("user", 0);
    ++passes;
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_FALSE(went_backwards);
  EXPECT_FALSE(too_many);
  for (const StatKey key : keys) {
    const VersionStatsSnapshot stats = registry.Read(key, 0);
    EXPECT_EQ(stats.since_start.count, kWorkers * kRecordsPerShard);
    EXPECT_EQ(stats.window.count, kWorkers * kRecordsPerShard);
    EXPECT_EQ(stats.window_errors, kWorkers);
  }
}

TEST(DurationBucketsTest, BoundsAreInclusive) {
  EXPECT_EQ(DurationBucketIndex(0), 0u);
  EXPECT_EQ(DurationBucketIndex(500), 0u);
  EXPECT_EQ(DurationBucketIndex(501), 1u);
  EXPECT_EQ(DurationBucketIndex(10'000'000), 13u);
  EXPECT_EQ(DurationBucketIndex(10'000'001), 14u);  // +Inf
}

const prometheus::ClientMetric* FindMetric(const prometheus::MetricFamily& family,
                                           const std::vector<std::string>& label_values) {
  for (const prometheus::ClientMetric& metric : family.metric) {
    std::vector<std::string> values;
    for (const auto& label : metric.label) values.push_back(label.value);
    if (values == label_values) return &metric;
  }
  return nullptr;
}

TEST(StatsRegistryTest, PrometheusFamilies) {
  StatsRegistry registry(2);
  const StatKey v1 = MustResolve(registry, "user", "v1");
  const StatKey v2 = MustResolve(registry, "user", "v2", "thrift");
  registry.Shard(0, v1)->Record(false, 400, 0);         // <= 0.0005 s
  registry.Shard(1, v1)->Record(true, 2'000, 0);        // <= 0.0025 s
  registry.Shard(1, v1)->Record(false, 20'000'000, 0);  // +Inf only
  registry.Shard(0, v2)->Record(false, 1'000, 0);       // <= 0.001 s (inclusive)

  const std::vector<prometheus::MetricFamily> families = registry.CollectPrometheus();
  ASSERT_EQ(families.size(), 2u);
  const prometheus::MetricFamily& requests = families[0];
  const prometheus::MetricFamily& durations = families[1];
  EXPECT_EQ(requests.name, "canarymesh_requests_total");
  EXPECT_EQ(requests.type, prometheus::MetricType::Counter);
  EXPECT_EQ(durations.name, "canarymesh_request_duration_seconds");
  EXPECT_EQ(durations.type, prometheus::MetricType::Histogram);
  EXPECT_EQ(requests.metric.size(), 4u);
  EXPECT_EQ(durations.metric.size(), 2u);

  const auto* v1_success = FindMetric(requests, {"user", "v1", "http", "success"});
  const auto* v1_error = FindMetric(requests, {"user", "v1", "http", "error"});
  const auto* v2_error = FindMetric(requests, {"user", "v2", "thrift", "error"});
  ASSERT_NE(v1_success, nullptr);
  ASSERT_NE(v1_error, nullptr);
  ASSERT_NE(v2_error, nullptr);
  EXPECT_EQ(v1_success->counter.value, 2.0);
  EXPECT_EQ(v1_error->counter.value, 1.0);
  EXPECT_EQ(v2_error->counter.value, 0.0);
  EXPECT_EQ(v1_success->label[0].name, "service");
  EXPECT_EQ(v1_success->label[3].name, "result");

  const auto* v1_hist = FindMetric(durations, {"user", "v1", "http"});
  ASSERT_NE(v1_hist, nullptr);
  const auto& buckets = v1_hist->histogram.bucket;
  ASSERT_EQ(buckets.size(), kDurationBucketCount);
  EXPECT_DOUBLE_EQ(buckets[0].upper_bound, 0.0005);
  EXPECT_EQ(buckets[0].cumulative_count, 1u);
  EXPECT_EQ(buckets[1].cumulative_count, 1u);
  EXPECT_EQ(buckets[2].cumulative_count, 2u);   // le 0.0025
  EXPECT_EQ(buckets[13].cumulative_count, 2u);  // le 10
  EXPECT_TRUE(std::isinf(buckets[14].upper_bound));
  EXPECT_EQ(buckets[14].cumulative_count, 3u);
  EXPECT_EQ(v1_hist->histogram.sample_count, 3u);
  EXPECT_DOUBLE_EQ(v1_hist->histogram.sample_sum, 20.0024);

  // The text exposition format, as a scrape would see it.
  const std::string text = prometheus::TextSerializer().Serialize(families);
  EXPECT_NE(text.find("# TYPE canarymesh_requests_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE canarymesh_request_duration_seconds histogram"), std::string::npos);
  const std::string v1_http = R"(service="user",version="v1",protocol="http")";
  const std::string v2_thrift = R"(service="user",version="v2",protocol="thrift")";
  for (const std::string& line : {
           "canarymesh_requests_total{" + v1_http + R"(,result="error"} 1)",
           "canarymesh_request_duration_seconds_bucket{" + v2_thrift + R"(,le="0.001"} 1)",
           "canarymesh_request_duration_seconds_bucket{" + v1_http + R"(,le="+Inf"} 3)",
           "canarymesh_request_duration_seconds_count{" + v1_http + "} 3",
       }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing: " << line << "\n" << text;
  }
}

TEST(StatsRegistryTest, ServiceSummaryJson) {
  StatsRegistry registry(2);
  const StatKey v1_http = MustResolve(registry, "user", "v1");
  const StatKey v1_thrift = MustResolve(registry, "user", "v1", "thrift");
  MustResolve(registry, "user", "v2");  // no traffic yet
  const StatKey other = MustResolve(registry, "question", "v1");
  for (int i = 0; i < 100; ++i) registry.Shard(i % 2, v1_http)->Record(i < 4, 10'000, 1'000);
  for (int i = 0; i < 100; ++i) registry.Shard(0, v1_thrift)->Record(false, 20'000, 50'000);
  registry.Shard(0, other)->Record(true, 1, 1'000);

  nlohmann::json summary = registry.ServiceSummaryJson("user", 55'000);
  EXPECT_EQ(summary["service"], "user");
  ASSERT_TRUE(summary["versions"].contains("v1")) << summary.dump();
  EXPECT_FALSE(summary["versions"].contains("question"));
  const nlohmann::json& v1 = summary["versions"]["v1"];
  EXPECT_EQ(v1["requests"], 200);
  EXPECT_EQ(v1["errors"], 4);
  EXPECT_DOUBLE_EQ(v1["error_rate"].get<double>(), 0.02);
  EXPECT_NEAR(v1["latency_ms"]["p50"].get<double>(), 10.0, 0.2);
  EXPECT_NEAR(v1["latency_ms"]["p99"].get<double>(), 20.0, 0.4);
  EXPECT_EQ(v1["window"]["seconds"], 60);
  EXPECT_EQ(v1["window"]["requests"], 200);

  const nlohmann::json& v2 = summary["versions"]["v2"];
  EXPECT_EQ(v2["requests"], 0);
  EXPECT_TRUE(v2["error_rate"].is_null());
  EXPECT_TRUE(v2["latency_ms"]["p99"].is_null());

  // At 65 s the slot [0, 10 s) is out of the window: only the thrift samples from 50 s remain.
  summary = registry.ServiceSummaryJson("user", 65'000);
  const nlohmann::json& later = summary["versions"]["v1"];
  EXPECT_EQ(later["requests"], 200);  // since start is unaffected
  EXPECT_EQ(later["window"]["requests"], 100);
  EXPECT_EQ(later["window"]["errors"], 0);
  EXPECT_DOUBLE_EQ(later["window"]["error_rate"].get<double>(), 0.0);
  EXPECT_NEAR(later["window"]["latency_ms"]["p50"].get<double>(), 20.0, 0.4);
}

// Workers record while the admin thread reads and new keys appear. Run under the sanitizer
// builds to catch races and use-after-free; here it checks that no increment is lost and that a
// reader never sees a counter go backwards.
TEST(StatsRegistryTest, ConcurrentWritersReaderAndNewKeys) {
  constexpr uint32_t kWorkers = 2;
  constexpr int kRecordsPerWorker = 200000;
  StatsRegistry registry(kWorkers);
  const StatKey key = MustResolve(registry, "user", "v1");
  std::atomic<bool> writers_done{false};

  std::vector<std::thread> writers;
  for (uint32_t worker = 0; worker < kWorkers; ++worker) {
    writers.emplace_back([&registry, key, worker] {
      VersionStatsShard* shard = registry.Shard(worker, key);
      for (int i = 0; i < kRecordsPerWorker; ++i) {
        shard->Record(i % 100 == 0, static_cast<uint64_t>(i % 5000), i / 10);
      }
    });
  }
  std::thread resolver([&registry] {
    for (int i = 0; i < 200; ++i) {
      Result<StatKey> added = registry.Resolve("user", "new-" + std::to_string(i), "http");
      ASSERT_TRUE(added.ok());
      registry.Shard(0, *added)->Record(false, 5, 0);
    }
  });
  uint64_t last_seen = 0;
  bool went_backwards = false;
  int reads = 0;
  std::thread reader([&] {
    // do-while: in a fast build the writers may finish before this thread is scheduled at all,
    // and the test must still read concurrently-published state at least once.
    do {
      const std::vector<prometheus::MetricFamily> families = registry.CollectPrometheus();
      const VersionStatsSnapshot stats = registry.Read(key, 20'000);
      went_backwards = went_backwards || stats.requests < last_seen;
      last_seen = stats.requests;
      (void)registry.ServiceSummaryJson("user", 20'000);
      ++reads;
    } while (!writers_done.load());
  });
  for (std::thread& writer : writers) writer.join();
  resolver.join();
  writers_done.store(true);
  reader.join();

  EXPECT_FALSE(went_backwards);
  EXPECT_GT(reads, 0);
  const VersionStatsSnapshot stats = registry.Read(key, kRecordsPerWorker / 10);
  EXPECT_EQ(stats.requests, uint64_t{kWorkers} * kRecordsPerWorker);
  EXPECT_EQ(stats.errors, uint64_t{kWorkers} * kRecordsPerWorker / 100);
  EXPECT_EQ(stats.since_start.count, uint64_t{kWorkers} * kRecordsPerWorker);
  EXPECT_EQ(registry.num_keys(), 201u);
}

}  // namespace
}  // namespace canarymesh::canary
