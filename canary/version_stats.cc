#include "canary/version_stats.h"

#include <limits>

namespace canarymesh::canary {

void VersionStatsSnapshot::Merge(const VersionStatsSnapshot& other) {
  requests += other.requests;
  errors += other.errors;
  for (size_t i = 0; i < duration_buckets.size(); ++i) {
    duration_buckets[i] += other.duration_buckets[i];
  }
  duration_sum_us += other.duration_sum_us;
  since_start.Merge(other.since_start);
  window.Merge(other.window);
  window_errors += other.window_errors;
}

VersionStatsShard::~VersionStatsShard() { delete histograms_.load(std::memory_order_relaxed); }

VersionStatsShard::Histograms* VersionStatsShard::AllocateHistograms() {
  auto* histograms = new Histograms;
  // Publishes the constructed (zeroed) histograms to readers that load with acquire.
  histograms_.store(histograms, std::memory_order_release);
  return histograms;
}

void VersionStatsShard::AddCountersTo(VersionStatsSnapshot& out) const {
  const uint64_t errors = errors_.load(std::memory_order_relaxed);
  out.requests += successes_.load(std::memory_order_relaxed) + errors;
  out.errors += errors;
  for (size_t i = 0; i < duration_buckets_.size(); ++i) {
    out.duration_buckets[i] += duration_buckets_[i].load(std::memory_order_relaxed);
  }
  if (const Histograms* histograms = histograms_.load(std::memory_order_acquire)) {
    out.duration_sum_us += histograms->since_start.SumUs();
  }
}

void VersionStatsShard::AddTo(VersionStatsSnapshot& out, int64_t now_ms) const {
  AddCountersTo(out);
  const Histograms* histograms = histograms_.load(std::memory_order_acquire);
  if (histograms == nullptr) return;  // never recorded: nothing to add
  histograms->since_start.AddTo(out.since_start);
  histograms->window.AddTo(out.window, out.window_errors, now_ms);
}

StatsRegistry::StatsRegistry(uint32_t num_workers) : num_workers_(num_workers) {}

Result<StatKey> StatsRegistry::Resolve(std::string_view service, std::string_view version,
                                       std::string_view protocol) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto labels = std::make_tuple(std::string(service), std::string(version), std::string(protocol));
  if (const auto it = ids_.find(labels); it != ids_.end()) return it->second;

  const size_t key = num_keys_.load(std::memory_order_relaxed);
  if (key >= kMaxKeys) {
    return Status::Unavailable("stats registry is full (" + std::to_string(kMaxKeys) +
                               " service/version/protocol keys)");
  }
  std::atomic<Chunk*>& slot = chunks_[key / kKeysPerChunk];
  Chunk* chunk = slot.load(std::memory_order_relaxed);
  if (chunk == nullptr) {
    owned_chunks_.push_back(std::make_unique<Chunk>());
    chunk = owned_chunks_.back().get();
    slot.store(chunk, std::memory_order_release);
  }
  KeyEntry& entry = chunk->entries[key % kKeysPerChunk];
  entry.labels = StatKeyLabels{std::get<0>(labels), std::get<1>(labels), std::get<2>(labels)};
  entry.shards = std::make_unique<VersionStatsShard[]>(num_workers_);
  ids_.emplace(std::move(labels), static_cast<StatKey>(key));
  num_keys_.store(key + 1, std::memory_order_release);  // publishes the entry
  return static_cast<StatKey>(key);
}

const StatsRegistry::KeyEntry& StatsRegistry::Entry(StatKey key) const {
  const Chunk* chunk = chunks_[key / kKeysPerChunk].load(std::memory_order_acquire);
  return chunk->entries[key % kKeysPerChunk];
}

VersionStatsShard* StatsRegistry::Shard(uint32_t worker, StatKey key) const {
  if (worker >= num_workers_ || key >= num_keys()) return nullptr;
  return &Entry(key).shards[worker];
}

const StatKeyLabels& StatsRegistry::Labels(StatKey key) const { return Entry(key).labels; }

VersionStatsSnapshot StatsRegistry::Read(StatKey key, int64_t now_ms) const {
  VersionStatsSnapshot total;
  if (key >= num_keys()) return total;
  const KeyEntry& entry = Entry(key);
  for (uint32_t worker = 0; worker < num_workers_; ++worker) {
    entry.shards[worker].AddTo(total, now_ms);
  }
  return total;
}

std::vector<prometheus::MetricFamily> StatsRegistry::CollectPrometheus() const {
  using prometheus::ClientMetric;
  prometheus::MetricFamily requests;
  requests.name = "canarymesh_requests_total";
  requests.help = "Requests proxied, by upstream service, version, protocol and result.";
  requests.type = prometheus::MetricType::Counter;
  prometheus::MetricFamily durations;
  durations.name = "canarymesh_request_duration_seconds";
  durations.help = "Time from dispatching a request upstream to its response, in seconds.";
  durations.type = prometheus::MetricType::Histogram;

  const size_t keys = num_keys();
  requests.metric.reserve(2 * keys);
  durations.metric.reserve(keys);
  for (StatKey key = 0; key < keys; ++key) {
    const KeyEntry& entry = Entry(key);
    VersionStatsSnapshot stats;
    for (uint32_t worker = 0; worker < num_workers_; ++worker) {
      entry.shards[worker].AddCountersTo(stats);
    }
    const std::vector<ClientMetric::Label> labels = {{"service", entry.labels.service},
                                                     {"version", entry.labels.version},
                                                     {"protocol", entry.labels.protocol}};
    for (const bool error : {false, true}) {
      ClientMetric metric;
      metric.label = labels;
      metric.label.push_back({"result", error ? "error" : "success"});
      metric.counter.value =
          static_cast<double>(error ? stats.errors : stats.requests - stats.errors);
      requests.metric.push_back(std::move(metric));
    }

    ClientMetric metric;
    metric.label = labels;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kDurationBucketCount; ++i) {
      cumulative += stats.duration_buckets[i];
      ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound = i < kDurationBucketBoundsUs.size()
                               ? static_cast<double>(kDurationBucketBoundsUs[i]) / 1e6
                               : std::numeric_limits<double>::infinity();
      metric.histogram.bucket.push_back(bucket);
    }
    // The count comes from the buckets so that it always equals the +Inf bucket, even while a
    // worker records during the read.
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = static_cast<double>(stats.duration_sum_us) / 1e6;
    durations.metric.push_back(std::move(metric));
  }
  return {std::move(requests), std::move(durations)};
}

}  // namespace canarymesh::canary
