#include "app/announce_command.h"

#include <signal.h>

#include "core/logging.h"
#include "discovery/announcer.h"
#include "discovery/zk_session.h"

namespace canarymesh {

int RunAnnounce(const AnnounceOptions& options) {
  auto announcer_options = AnnouncerOptionsFromConfig(options.announce);
  if (!announcer_options.ok()) {
    LOG_ERROR << "announce: " << announcer_options.status().message();
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto session = ZkSession::Create(options.zookeeper);
  if (!session.ok()) {
    LOG_ERROR << "zookeeper: " << session.status().message();
    return 2;
  }
  Announcer announcer(*session.value(), std::move(announcer_options.value()));
  Status started = announcer.Start();
  if (!started.ok()) {
    LOG_ERROR << "announce: " << started.message();
    return 2;
  }
  LOG_INFO << "announcing " << options.announce.host << ":" << options.announce.port << " under "
           << options.announce.path << " while its health check passes";
  int sig = 0;
  sigwait(&signals, &sig);
  Status stopped = announcer.Stop();
  if (!stopped.ok()) {
    LOG_WARN << "member not deleted: " << stopped.message();
    return 1;
  }
  LOG_INFO << "member deleted; exiting";
  return 0;
}

}  // namespace canarymesh
