// LocalSupervisor: the lifecycle of every instance, in two threads. The supervisor ticks every
// supervise_interval_ms and moves each instance through its phases (local_state.h) without ever
// blocking: it probes processes, restarts crashed ones after a backoff, and sends the stop signals
// on their deadlines. The health thread runs the spec's HTTP/TCP checks outside the lock and
// records the results. Phase transitions:
//   starting --healthy--> running --N failed checks--> restart_kill --ended--> backoff
//   starting --grace passed, never healthy--> restart_kill
//   starting/running --process ended--> backoff --backoff passed--> starting
//   any of the above --ended more than max_consecutive_restarts times in a row--> failed
//   (Scale down / Remove) --> draining --announcer gone + drain_delay--> stopping --gone--> erased
#include "scheduler-bridge/local/local_supervisor.h"

#include <signal.h>

#include <algorithm>

#include "core/clock.h"
#include "core/logging.h"
#include "discovery/health_check.h"
#include "scheduler-bridge/local/local_port_allocator.h"
#include "scheduler-bridge/local/process_probe.h"

namespace canarymesh::bridge {
namespace {

// An announcer that ran this long without exiting is no longer crash-looping.
constexpr int64_t kAnnouncerStableMs = 10'000;

bool Supervised(InstancePhase phase) {
  return phase == InstancePhase::kStarting || phase == InstancePhase::kRunning ||
         phase == InstancePhase::kBackoff || phase == InstancePhase::kRestartKill;
}

std::string InstanceName(const LocalGroup& group, const LocalInstance& inst) {
  return group.spec.service + "/" + group.spec.version + " instance " + std::to_string(inst.index);
}

}  // namespace

LocalSupervisor::LocalSupervisor(const LocalBackendConfig& config, const LocalLauncher& launcher,
                                 LocalStateStore& store, std::mutex& mu,
                                 std::condition_variable& changed)
    : config_(config), launcher_(launcher), store_(store), mu_(mu), changed_(changed) {}

LocalSupervisor::~LocalSupervisor() { Stop(); }

void LocalSupervisor::Start() {
  supervisor_ = std::thread([this] { SuperviseLoop(); });
  health_ = std::thread([this] { HealthLoop(); });
}

void LocalSupervisor::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  if (health_.joinable()) health_.join();
}

void LocalSupervisor::LaunchLocked(LocalGroup& group, LocalInstance& inst, int64_t now_ms) {
  Status started = StartInstanceLocked(group.spec, inst);
  if (!started.ok()) {
    OnInstanceEndedLocked(group, inst, "did not start: " + started.message(), now_ms);
    return;
  }
  (void)StartAnnouncerLocked(group.spec, inst, now_ms);
}

Status LocalSupervisor::StartInstanceLocked(const InstanceGroupSpec& spec, LocalInstance& inst) {
  auto process = launcher_.SpawnInstance(spec, inst.index, inst.port);
  if (!process.ok()) return process.status();

  inst.process = process.value();
  inst.phase = InstancePhase::kStarting;
  inst.started_unix_ms = UnixMillis();
  const int64_t now = SteadyMillis();
  InstanceRuntime& rt = inst.runtime;
  ++rt.generation;
  rt.phase_started_ms = now;
  rt.deadline_ms = 0;
  rt.term_sent = false;
  rt.healthy = false;
  rt.check_failures = 0;
  rt.next_check_ms = now;
  LOG_INFO << "local backend: started " << spec.service << "/" << spec.version << " instance "
           << inst.index << " pid " << inst.process.pid << " on port " << inst.port;
  return Status::Ok();
}

Status LocalSupervisor::StartAnnouncerLocked(const InstanceGroupSpec& spec, LocalInstance& inst,
                                             int64_t now_ms) {
  if (config_.announce_mode != LocalBackendConfig::AnnounceMode::kCompanion) return Status::Ok();
  auto process = launcher_.SpawnAnnouncer(spec, inst.index, inst.port);
  if (!process.ok()) {
    LOG_ERROR << "local backend: announcer for " << spec.service << "/" << spec.version
              << " instance " << inst.index << " did not start: " << process.status().message();
    inst.runtime.announcer_restart_at_ms =
        now_ms + BackoffMs(++inst.runtime.announcer_consecutive_exits);
    return process.status();
  }
  inst.announcer = process.value();
  inst.runtime.announcer_started_ms = now_ms;
  inst.runtime.announcer_restart_at_ms = 0;
  return Status::Ok();
}

uint32_t LocalSupervisor::BackoffMs(uint32_t consecutive) const {
  uint64_t delay = config_.restart_backoff_min_ms;
  for (uint32_t i = 1; i < consecutive && delay < config_.restart_backoff_max_ms; ++i) delay *= 2;
  return static_cast<uint32_t>(std::min<uint64_t>(delay, config_.restart_backoff_max_ms));
}

void LocalSupervisor::SuperviseLoop() {
  std::unique_lock lock(mu_);
  std::string last_error;
  while (!stopping_) {
    if (!store_.owned()) {
      Status owned = store_.TakeOwnership();
      if (owned.ok()) {
        changed_.notify_all();  // the new owner's state: the health thread and callers look again
      } else if (owned.code() != Status::Code::kUnavailable && owned.message() != last_error) {
        LOG_ERROR << "local backend: " << owned.message();
        last_error = owned.message();
      }
    }
    if (store_.owned()) {
      TickLocked(SteadyMillis());
      if (store_.dirty()) (void)store_.Save();
    }
    // No predicate: Scale/Remove notify to get a tick at once, and any wake-up just ticks.
    changed_.wait_for(lock, std::chrono::milliseconds(config_.supervise_interval_ms));
  }
}

void LocalSupervisor::TickLocked(int64_t now_ms) {
  ReapRetiredLocked(now_ms);
  bool erased = false;
  for (auto group_it = store_.state().groups.begin(); group_it != store_.state().groups.end();) {
    LocalGroup& group = group_it->second;
    for (size_t i = 0; i < group.instances.size();) {
      if (TickInstanceLocked(group, group.instances[i], now_ms)) {
        ++i;
      } else {
        group.instances.erase(group.instances.begin() + static_cast<long>(i));
        erased = true;
      }
    }
    if (group.removing && group.instances.empty()) {
      LOG_INFO << "local backend: removed " << group.spec.service << "/" << group.spec.version;
      group_it = store_.state().groups.erase(group_it);
      erased = true;
    } else {
      ++group_it;
    }
  }
  if (erased) {
    store_.MarkDirty();
    changed_.notify_all();
  }
}

bool LocalSupervisor::TickInstanceLocked(LocalGroup& group, LocalInstance& inst, int64_t now_ms) {
  InstanceRuntime& rt = inst.runtime;
  const uint32_t stop_grace = group.spec.stop_grace_period_ms;
  switch (inst.phase) {
    case InstancePhase::kStarting:
    case InstancePhase::kRunning:
    case InstancePhase::kRestartKill: {
      ProcessProbe probe = ProbeProcess(inst.process);
      if (probe.state != ProcessProbe::State::kRunning) {
        std::string how = DescribeWaitStatus(probe.wait_status);
        if (inst.phase == InstancePhase::kRestartKill) how = rt.kill_reason + " (then " + how + ")";
        OnInstanceEndedLocked(group, inst, how, now_ms);
        break;
      }
      if (inst.phase == InstancePhase::kStarting &&
          now_ms - rt.phase_started_ms >= int64_t{group.spec.health.grace_period_ms}) {
        BeginRestartKillLocked(group, inst,
                               "not healthy within its grace period of " +
                                   std::to_string(group.spec.health.grace_period_ms) + " ms",
                               now_ms);
      }
      if (inst.phase == InstancePhase::kRestartKill) {
        if (!rt.term_sent) {
          SignalProcessGroup(inst.process, SIGTERM);
          rt.term_sent = true;
          rt.deadline_ms = now_ms + stop_grace;
        } else if (now_ms >= rt.deadline_ms) {
          SignalProcessGroup(inst.process, SIGKILL);
        }
      }
      break;
    }
    case InstancePhase::kBackoff:
      if (now_ms >= rt.deadline_ms) RespawnLocked(group, inst, now_ms);
      break;
    case InstancePhase::kFailed:
      break;
    case InstancePhase::kDraining: {
      if (inst.announcer.pid != 0) {
        ProcessProbe probe = ProbeProcess(inst.announcer);
        if (probe.state == ProcessProbe::State::kRunning) {
          // SIGTERM makes `canarymesh announce` delete its member and exit.
          if (!rt.term_sent) {
            SignalProcessGroup(inst.announcer, SIGTERM);
            rt.term_sent = true;
            rt.deadline_ms = now_ms + stop_grace;
          } else if (now_ms >= rt.deadline_ms) {
            LOG_WARN
                << "local backend: announcer of " << InstanceName(group, inst)
                << " ignored SIGTERM; killing it (its member lingers until its session expires)";
            SignalProcessGroup(inst.announcer, SIGKILL);
          }
          return true;
        }
        inst.announcer = {};
        store_.MarkDirty();
      }
      if (!rt.drain_started) {
        // Self-announcing instances withdraw on SIGTERM themselves: nothing to wait for.
        const bool companion =
            config_.announce_mode == LocalBackendConfig::AnnounceMode::kCompanion;
        rt.drain_started = true;
        rt.deadline_ms = now_ms + (companion ? config_.drain_delay_ms : 0);
      }
      if (now_ms >= rt.deadline_ms) {
        inst.phase = InstancePhase::kStopping;
        rt.term_sent = false;
        store_.MarkDirty();
      }
      return true;
    }
    case InstancePhase::kStopping: {
      ProcessProbe probe = ProbeProcess(inst.process);
      if (probe.state != ProcessProbe::State::kRunning) {
        if (inst.process.pid != 0) {
          LOG_INFO << "local backend: stopped " << InstanceName(group, inst) << " (pid "
                   << inst.process.pid << ", " << DescribeWaitStatus(probe.wait_status) << ")";
        }
        return false;
      }
      if (!rt.term_sent) {
        SignalProcessGroup(inst.process, SIGTERM);
        rt.term_sent = true;
        rt.deadline_ms = now_ms + stop_grace;
      } else if (now_ms >= rt.deadline_ms) {
        SignalProcessGroup(inst.process, SIGKILL);
      }
      return true;
    }
  }
  if (Supervised(inst.phase)) SuperviseAnnouncerLocked(group, inst, now_ms);
  return true;
}

void LocalSupervisor::SuperviseAnnouncerLocked(LocalGroup& group, LocalInstance& inst,
                                               int64_t now_ms) {
  if (config_.announce_mode != LocalBackendConfig::AnnounceMode::kCompanion) return;
  InstanceRuntime& rt = inst.runtime;
  if (inst.announcer.pid != 0) {
    ProcessProbe probe = ProbeProcess(inst.announcer);
    if (probe.state == ProcessProbe::State::kRunning) {
      if (now_ms - rt.announcer_started_ms >= kAnnouncerStableMs)
        rt.announcer_consecutive_exits = 0;
      return;
    }
    const std::string how = DescribeWaitStatus(probe.wait_status);
    inst.announcer = {};
    store_.MarkDirty();
    ++rt.announcer_consecutive_exits;
    if (rt.announcer_consecutive_exits > config_.max_consecutive_restarts) {
      const std::string log = launcher_.LogPath(group.spec, inst.index, ".announce.log");
      const std::string tail = LocalLauncher::LogTail(log);
      inst.failure = "announcer of instance " + std::to_string(inst.index) + " ended " +
                     std::to_string(rt.announcer_consecutive_exits) +
                     " times in a row (last: " + how + "); log " + log +
                     (tail.empty() ? "" : ": " + tail);
      LOG_ERROR << "local backend: " << group.spec.service << "/" << group.spec.version << ": "
                << inst.failure;
      return;
    }
    LOG_WARN << "local backend: announcer of " << InstanceName(group, inst) << " ended (" << how
             << "); restarting it";
    rt.announcer_restart_at_ms = now_ms + BackoffMs(rt.announcer_consecutive_exits);
    return;
  }
  if (!inst.failure.empty() || now_ms < rt.announcer_restart_at_ms) return;
  if (StartAnnouncerLocked(group.spec, inst, now_ms).ok()) {
    ++inst.announcer_restarts;
    store_.MarkDirty();
  }
}

void LocalSupervisor::OnInstanceEndedLocked(LocalGroup& group, LocalInstance& inst,
                                            const std::string& how, int64_t now_ms) {
  LOG_WARN << "local backend: " << InstanceName(group, inst) << " (pid " << inst.process.pid
           << ", port " << inst.port << ") ended: " << how;
  inst.last_exit = how;
  inst.process = {};
  inst.runtime.healthy = false;
  ++inst.consecutive_crashes;
  store_.MarkDirty();
  if (inst.consecutive_crashes > config_.max_consecutive_restarts) {
    const std::string log = launcher_.LogPath(group.spec, inst.index, ".log");
    const std::string tail = LocalLauncher::LogTail(log);
    inst.phase = InstancePhase::kFailed;
    inst.failure = "instance " + std::to_string(inst.index) + " ended " +
                   std::to_string(inst.consecutive_crashes) +
                   " times in a row without becoming healthy (last: " + how + "); log " + log +
                   (tail.empty() ? "" : ": " + tail);
    LOG_ERROR << "local backend: " << group.spec.service << "/" << group.spec.version << ": "
              << inst.failure;
    RetireLocked(inst.announcer, group.spec.stop_grace_period_ms, now_ms);
    return;
  }
  inst.phase = InstancePhase::kBackoff;
  inst.runtime.deadline_ms = now_ms + BackoffMs(inst.consecutive_crashes);
}

void LocalSupervisor::RespawnLocked(LocalGroup& group, LocalInstance& inst, int64_t now_ms) {
  if (!PortLooksFree(inst.port)) {
    auto ports = launcher_.AllocatePorts(store_.state(), 1);
    if (!ports.ok()) {
      OnInstanceEndedLocked(
          group, inst,
          "port " + std::to_string(inst.port) + " busy and " + ports.status().message(), now_ms);
      return;
    }
    LOG_WARN << "local backend: port " << inst.port << " of " << InstanceName(group, inst)
             << " is taken by another program; moving to " << ports.value()[0];
    inst.port = ports.value()[0];
    RetireLocked(inst.announcer, group.spec.stop_grace_period_ms, now_ms);  // knows the old port
  }
  ++inst.restarts;
  store_.MarkDirty();
  Status started = StartInstanceLocked(group.spec, inst);
  if (!started.ok()) {
    OnInstanceEndedLocked(group, inst, "did not start: " + started.message(), now_ms);
    return;
  }
  if (inst.announcer.pid == 0 && inst.failure.empty()) {
    (void)StartAnnouncerLocked(group.spec, inst, now_ms);
  }
}

void LocalSupervisor::BeginRestartKillLocked(LocalGroup& group, LocalInstance& inst,
                                             const std::string& why, int64_t now_ms) {
  LOG_WARN << "local backend: " << InstanceName(group, inst) << " " << why << "; restarting it";
  inst.phase = InstancePhase::kRestartKill;
  inst.runtime.kill_reason = why;
  inst.runtime.term_sent = false;
  inst.runtime.healthy = false;
  store_.MarkDirty();
}

void LocalSupervisor::BeginStopLocked(LocalInstance& inst) {
  inst.phase = InstancePhase::kDraining;
  inst.runtime.term_sent = false;
  inst.runtime.drain_started = false;
  inst.runtime.deadline_ms = 0;
  inst.runtime.healthy = false;
  store_.MarkDirty();
}

void LocalSupervisor::RetireLocked(ProcessIdentity& process, uint32_t grace_ms, int64_t now_ms) {
  if (process.pid == 0) return;
  SignalProcessGroup(process, SIGTERM);
  retired_.push_back({process, now_ms + grace_ms});
  process = {};
  store_.MarkDirty();
}

void LocalSupervisor::ReapRetiredLocked(int64_t now_ms) {
  for (size_t i = 0; i < retired_.size();) {
    if (ProbeProcess(retired_[i].process).state != ProcessProbe::State::kRunning) {
      retired_.erase(retired_.begin() + static_cast<long>(i));
      continue;
    }
    if (now_ms >= retired_[i].kill_at_ms) SignalProcessGroup(retired_[i].process, SIGKILL);
    ++i;
  }
}

void LocalSupervisor::HealthLoop() {
  struct DueCheck {
    GroupKey key;
    uint32_t index;
    uint64_t generation;
    HealthCheckConfig check;
    uint32_t max_failures;
  };
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const int64_t now = SteadyMillis();
    int64_t next_wake = now + 100;
    std::vector<DueCheck> due;
    if (store_.owned()) {
      for (auto& [key, group] : store_.state().groups) {
        for (LocalInstance& inst : group.instances) {
          bool checked = inst.process.pid != 0 && (inst.phase == InstancePhase::kStarting ||
                                                   inst.phase == InstancePhase::kRunning);
          if (!checked) continue;
          if (inst.runtime.next_check_ms <= now) {
            HealthCheckConfig check;
            check.kind = group.spec.health.protocol == "tcp" ? HealthCheckConfig::Kind::kTcp
                                                             : HealthCheckConfig::Kind::kHttp;
            check.host = config_.host;
            check.port = inst.port;
            check.http_path = group.spec.health.path;
            check.timeout = std::chrono::milliseconds(group.spec.health.timeout_ms);
            due.push_back({key, inst.index, inst.runtime.generation, check,
                           std::max<uint32_t>(1, group.spec.health.max_consecutive_failures)});
            inst.runtime.next_check_ms = now + group.spec.health.interval_ms;
          }
          next_wake = std::min(next_wake, inst.runtime.next_check_ms);
        }
      }
    }
    if (due.empty()) {
      changed_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(10, next_wake - now)));
      continue;
    }
    lock.unlock();  // checks block for up to their timeout
    std::vector<Status> results;
    for (const DueCheck& d : due) results.push_back(RunHealthCheck(d.check));
    lock.lock();
    const int64_t done = SteadyMillis();
    for (size_t i = 0; i < due.size(); ++i) {
      auto group_it = store_.state().groups.find(due[i].key);
      if (group_it == store_.state().groups.end()) continue;
      LocalGroup& group = group_it->second;
      for (LocalInstance& inst : group.instances) {
        if (inst.index != due[i].index || inst.runtime.generation != due[i].generation) continue;
        if (inst.phase != InstancePhase::kStarting && inst.phase != InstancePhase::kRunning)
          continue;
        InstanceRuntime& rt = inst.runtime;
        if (results[i].ok()) {
          rt.check_failures = 0;
          rt.healthy = true;
          if (inst.phase == InstancePhase::kStarting) {
            inst.phase = InstancePhase::kRunning;
            inst.consecutive_crashes = 0;
            store_.MarkDirty();
            LOG_INFO << "local backend: " << InstanceName(group, inst) << " is healthy on port "
                     << inst.port;
          }
          continue;
        }
        ++rt.check_failures;
        if (rt.check_failures >= due[i].max_failures && inst.phase == InstancePhase::kRunning) {
          BeginRestartKillLocked(group, inst,
                                 "failed " + std::to_string(rt.check_failures) +
                                     " health checks in a row (" + results[i].message() + ")",
                                 done);
        }
      }
    }
  }
}

}  // namespace canarymesh::bridge
