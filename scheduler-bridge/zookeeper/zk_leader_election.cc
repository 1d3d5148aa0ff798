#include "scheduler-bridge/zookeeper/zk_leader_election.h"

#include <pthread.h>

#include <algorithm>
#include <vector>

#include "core/logging.h"
#include "discovery/zk_ops.h"

namespace canarymesh::bridge {
namespace {

constexpr const char* kCandidatePrefix = "candidate_";

bool IsCandidate(const std::string& name) { return name.rfind(kCandidatePrefix, 0) == 0; }

// ZooKeeper appends a 10-digit counter; order by it, not by the whole name.
std::string SequenceOf(const std::string& name) {
  return name.size() >= 10 ? name.substr(name.size() - 10) : name;
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

ZkLeaderElection::ZkLeaderElection(ZkSession& session, ZkLeaderElectionOptions options,
                                   Listener listener)
    : session_(session), options_(std::move(options)), listener_(std::move(listener)) {}

ZkLeaderElection::~ZkLeaderElection() { Stop(); }

Status ZkLeaderElection::Start() {
  const std::string& path = options_.election_path;
  if (path.empty() || path[0] != '/' || path.back() == '/') {
    return Status::InvalidArgument("leader election: path '" + path +
                                   "' must start with '/' and not end with '/'");
  }
  if (options_.self_id.empty()) return Status::InvalidArgument("leader election: empty self id");
  if (options_.recheck_interval.count() <= 0 || options_.retry_interval.count() <= 0) {
    return Status::InvalidArgument("leader election: intervals must be > 0");
  }
  std::lock_guard lock(run_mu_);
  if (started_) return Status::Ok();
  started_ = true;
  subscription_ = session_.Subscribe([this](const ZkEvent& event) { OnZkEvent(event); });
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void ZkLeaderElection::Stop() {
  {
    std::lock_guard lock(run_mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  session_.Unsubscribe(subscription_);
  std::string candidate;
  int64_t owner = 0;
  {
    std::lock_guard lock(state_mu_);
    candidate.swap(candidate_path_);
    owner = candidate_owner_;
  }
  bool was_leader = leader_.exchange(false);
  {
    std::lock_guard lock(state_mu_);
    leader_id_.clear();
  }
  state_cv_.notify_all();
  // Only our own session's node: a node from an expired session is already gone.
  if (!candidate.empty() && owner == session_.session_id()) {
    Status s = ZkDelete(session_, candidate);
    if (!s.ok())
      LOG_WARN << "leader election: could not delete " << candidate << ": " << s.message();
  }
  if (was_leader) {
    changes_.fetch_add(1);
    LOG_INFO << "leader election: " << options_.self_id << " left the election and no longer leads";
    if (listener_ && reported_leader_) listener_(false);
  }
  reported_leader_ = false;
}

std::string ZkLeaderElection::LeaderId() const {
  std::lock_guard lock(state_mu_);
  return leader_id_;
}

std::string ZkLeaderElection::candidate_path() const {
  std::lock_guard lock(state_mu_);
  return candidate_path_;
}

bool ZkLeaderElection::WaitForLeadership(bool leader, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_mu_);
  return state_cv_.wait_for(lock, timeout, [&] { return leader_.load() == leader; });
}

void ZkLeaderElection::Wake() {
  {
    std::lock_guard lock(run_mu_);
    wake_ = true;
  }
  run_cv_.notify_all();
}

// Completion thread: record and return. Leadership is dropped here, not on the election thread,
// so that IsLeader() is false from the moment the link is known to be down.
void ZkLeaderElection::OnZkEvent(const ZkEvent& event) {
  switch (event.kind) {
    case ZkEvent::Kind::kDisconnected:
    case ZkEvent::Kind::kSessionExpired:
      if (leader_.exchange(false)) {
        changes_.fetch_add(1);
        std::lock_guard lock(state_mu_);
        state_cv_.notify_all();
      }
      Wake();
      return;
    case ZkEvent::Kind::kConnected:
      Wake();
      return;
    default:
      if (event.path.rfind(options_.election_path, 0) == 0) Wake();
  }
}

void ZkLeaderElection::Run() {
  pthread_setname_np(pthread_self(), "cm-bridge-elect");
  std::chrono::milliseconds next_wait{0};
  while (true) {
    {
      std::unique_lock lock(run_mu_);
      run_cv_.wait_for(lock, next_wait, [this] { return wake_ || stopping_; });
      if (stopping_) return;
      wake_ = false;
    }
    bool ok = Evaluate();
    next_wait = ok ? options_.recheck_interval : options_.retry_interval;
    bool now = leader_.load();
    if (now != reported_leader_) {
      reported_leader_ = now;
      if (listener_) listener_(now);
    }
  }
}

Status ZkLeaderElection::EnsureCandidate(int64_t session_id) {
  {
    std::lock_guard lock(state_mu_);
    if (!candidate_path_.empty() && candidate_owner_ == session_id) return Status::Ok();
    candidate_path_.clear();  // from an expired session: gone with it
  }
  if (Status s = ZkEnsurePath(session_, options_.election_path); !s.ok()) return s;
  // A create whose answer was lost may have made a node after all: adopt it rather than
  // leaving a second candidate of ours ahead in the queue.
  auto children = ZkGetChildren(session_, options_.election_path, false);
  if (!children.ok()) return children.status();
  std::string adopted;
  for (const std::string& name : children.value()) {
    if (!IsCandidate(name)) continue;
    std::string path = ZkJoinPath(options_.election_path, name);
    auto data = ZkGetData(session_, path, false);
    if (data.ok() && data->ephemeral_owner == session_id) adopted = path;
  }
  if (adopted.empty()) {
    auto created = ZkCreate(session_, ZkJoinPath(options_.election_path, kCandidatePrefix),
                            options_.self_id, ZnodeMode::kEphemeralSequential);
    if (!created.ok()) return created.status();
    adopted = created.value();
  }
  std::lock_guard lock(state_mu_);
  candidate_path_ = adopted;
  candidate_owner_ = session_id;
  LOG_INFO << "leader election: " << options_.self_id << " is candidate " << adopted;
  return Status::Ok();
}

bool ZkLeaderElection::Evaluate() {
  // A few passes: a predecessor that vanished between listing and watching means listing again.
  for (int pass = 0; pass < 10; ++pass) {
    int64_t session_id = session_.session_id();
    if (!session_.connected() || session_id == 0) {
      Publish(false, "");
      return true;  // the kConnected event wakes us
    }
    if (Status s = EnsureCandidate(session_id); !s.ok()) {
      LOG_WARN << "leader election: " << s.message();
      Publish(false, "");
      return false;
    }
    auto children = ZkGetChildren(session_, options_.election_path, false);
    if (!children.ok()) {
      Publish(false, "");
      return false;
    }
    std::vector<std::string> queue;
    for (const std::string& name : children.value()) {
      if (IsCandidate(name)) queue.push_back(name);
    }
    std::sort(queue.begin(), queue.end(), [](const std::string& a, const std::string& b) {
      return SequenceOf(a) < SequenceOf(b);
    });
    std::string mine = BaseName(candidate_path());
    auto position = std::find(queue.begin(), queue.end(), mine);
    if (position == queue.end()) {
      // Our node is gone (deleted by an operator, or the session changed under us): re-enter.
      std::lock_guard lock(state_mu_);
      candidate_path_.clear();
      continue;
    }
    if (position == queue.begin()) {
      Publish(true, options_.self_id);
      return true;
    }
    std::string predecessor = ZkJoinPath(options_.election_path, *(position - 1));
    auto exists = ZkExists(session_, predecessor, /*watch=*/true);
    if (!exists.ok()) {
      Publish(false, "");
      return false;
    }
    if (!exists.value()) continue;  // left meanwhile: look again
    auto leader = ZkGetData(session_, ZkJoinPath(options_.election_path, queue.front()), false);
    Publish(false, leader.ok() ? leader->data : "");
    return true;
  }
  return false;
}

void ZkLeaderElection::Publish(bool leader, const std::string& leader_id) {
  // The link may have dropped while the recipe ran; never claim leadership over a dead link.
  if (leader && !session_.connected()) leader = false;
  bool changed;
  {
    std::lock_guard lock(state_mu_);
    leader_id_ = leader_id;
    changed = leader_.exchange(leader) != leader;
  }
  state_cv_.notify_all();
  if (changed) {
    changes_.fetch_add(1);
    LOG_INFO << "leader election: " << options_.self_id
             << (leader ? " now leads" : " no longer leads")
             << (leader || leader_id.empty() ? "" : " (leader: " + leader_id + ")");
  }
}

}  // namespace canarymesh::bridge
