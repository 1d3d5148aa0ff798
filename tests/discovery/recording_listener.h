// A HostSetListener for tests that keeps every set it is given, so tests can wait for a state and
// check the whole history (e.g. "nothing empty was ever published"). Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/host_set.h"

namespace canarymesh::testing {

class RecordingListener : public HostSetListener {
 public:
  void OnHostSet(ServiceHostSetPtr hosts) override {
    std::lock_guard lock(mu_);
    history_.push_back(std::move(hosts));
  }
  std::vector<ServiceHostSetPtr> history() const {
    std::lock_guard lock(mu_);
    return history_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return history_.size();
  }
  // The last set published for `service`, or null.
  ServiceHostSetPtr Latest(const std::string& service) const {
    std::lock_guard lock(mu_);
    for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
      if ((*it)->service == service) return *it;
    }
    return nullptr;
  }
  // "v1=[10.0.0.1:80,10.0.0.2:80] v2=[...]" of the latest set, "" if none: easy to compare.
  std::string LatestText(const std::string& service) const {
    ServiceHostSetPtr set = Latest(service);
    if (!set) return "<none>";
    std::string text;
    for (const auto& [version, endpoints] : set->versions) {
      text += (text.empty() ? "" : " ") + version + "=[";
      for (size_t i = 0; i < endpoints.size(); ++i) {
        text += (i ? "," : "") + endpoints[i].host + ":" + std::to_string(endpoints[i].port);
      }
      text += "]";
    }
    return text;
  }

 private:
  mutable std::mutex mu_;
  std::vector<ServiceHostSetPtr> history_;
};

}  // namespace canarymesh::testing
