#include "discovery/service_members.h"

#include <algorithm>
#include <set>

namespace canarymesh {

bool IsServerSetMemberName(std::string_view name) {
  return name.size() > 7 && name.substr(0, 7) == "member_";
}

bool SameHosts(const ServiceHostSet& a, const ServiceHostSet& b) {
  if (a.service != b.service || a.versions.size() != b.versions.size()) return false;
  auto same_endpoint = [](const Endpoint& x, const Endpoint& y) {
    return x.host == y.host && x.port == y.port && x.shard == y.shard && x.member == y.member;
  };
  for (auto ia = a.versions.begin(), ib = b.versions.begin(); ia != a.versions.end(); ++ia, ++ib) {
    if (ia->first != ib->first) return false;
    if (!std::equal(ia->second.begin(), ia->second.end(), ib->second.begin(), ib->second.end(),
                    same_endpoint)) {
      return false;
    }
  }
  return true;
}

ServiceMembers::ServiceMembers(const ServiceConfig& service)
    : service_(service.name),
      endpoint_name_(service.serverset.endpoint),
      version_paths_(service.serverset.version_paths) {
  auto add = [this](const std::string& path) {
    if (!path.empty() && by_path_.emplace(path, PathMembers{}).second) paths_.push_back(path);
  };
  add(service.serverset.path);
  for (const auto& [path, version] : version_paths_) add(path);
}

std::vector<std::string> ServiceMembers::SetChildren(const std::string& path,
                                                     const std::vector<std::string>& children) {
  PathMembers& state = by_path_.at(path);
  state.exists = true;
  state.listed.clear();
  for (const auto& name : children) {
    if (IsServerSetMemberName(name)) state.listed.push_back(name);
  }
  std::sort(state.listed.begin(), state.listed.end());
  std::set<std::string> keep(state.listed.begin(), state.listed.end());
  std::erase_if(state.members, [&](const auto& entry) { return !keep.count(entry.first); });
  std::vector<std::string> unknown;
  for (const auto& name : state.listed) {
    if (!state.members.count(name)) unknown.push_back(name);
  }
  return unknown;
}

void ServiceMembers::SetAbsent(const std::string& path) {
  PathMembers& state = by_path_.at(path);
  state = PathMembers{};
}

MemberDataResult ServiceMembers::SetMemberData(const std::string& path, const std::string& name,
                                               const std::string& raw) {
  PathMembers& state = by_path_.at(path);
  auto it = state.members.find(name);
  if (it != state.members.end() && it->second.raw == raw) return {};
  // Data for a name the last listing does not have is late news about a deleted member.
  if (!std::binary_search(state.listed.begin(), state.listed.end(), name)) return {};
  CachedMember& cached = state.members[name];
  cached = CachedMember{raw, std::nullopt, std::nullopt};
  MemberDataResult result;
  result.changed = true;
  auto parsed = ParseServerSetMember(raw);
  if (!parsed.ok()) {
    result.problem = parsed.status();
    return result;
  }
  auto endpoint = SelectEndpoint(parsed.value(), endpoint_name_);
  if (!endpoint.ok()) {
    result.problem = endpoint.status();
    return result;
  }
  cached.member = parsed.value();
  cached.endpoint = endpoint.value();
  return result;
}

void ServiceMembers::RemoveMember(const std::string& path, const std::string& name) {
  PathMembers& state = by_path_.at(path);
  state.members.erase(name);
  std::erase(state.listed, name);
}

std::vector<std::string> ServiceMembers::MemberNames(const std::string& path) const {
  return by_path_.at(path).listed;
}

size_t ServiceMembers::member_count() const {
  size_t count = 0;
  for (const auto& [path, state] : by_path_) count += state.members.size();
  return count;
}

size_t ServiceMembers::bad_member_count() const {
  size_t count = 0;
  for (const auto& [path, state] : by_path_) {
    for (const auto& [name, cached] : state.members) count += cached.member ? 0 : 1;
  }
  return count;
}

bool ServiceMembers::path_exists(const std::string& path) const {
  auto it = by_path_.find(path);
  return it != by_path_.end() && it->second.exists;
}

ServiceHostSet ServiceMembers::BuildHostSet() const {
  ServiceHostSet set;
  set.service = service_;
  set.source = paths_.empty() ? "zookeeper" : "zookeeper:" + paths_.front();
  for (const auto& path : paths_) {
    const PathMembers& state = by_path_.at(path);
    auto mapped = version_paths_.find(path);
    for (const auto& name : state.listed) {
      auto it = state.members.find(name);
      if (it == state.members.end() || !it->second.member) continue;
      const ServerSetMember& member = *it->second.member;
      if (member.status != MemberStatus::kAlive) continue;
      std::string version = "default";
      auto declared = member.metadata.find("version");
      if (declared != member.metadata.end() && !declared->second.empty()) {
        version = declared->second;
      } else if (mapped != version_paths_.end()) {
        version = mapped->second;
      }
      Endpoint endpoint{it->second.endpoint->host, it->second.endpoint->port,
                        member.shard.value_or(-1), path + "/" + name};
      auto& list = set.versions[version];
      if (std::find(list.begin(), list.end(), endpoint) == list.end()) list.push_back(endpoint);
    }
  }
  return set;
}

}  // namespace canarymesh
