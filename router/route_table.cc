#include "router/route_table.h"

#include <algorithm>

namespace canarymesh::router {

const VersionGroup* ServiceRoute::FindVersion(std::string_view version) const {
  for (const VersionGroup& v : versions) {
    if (v.name == version) return &v;
  }
  return nullptr;
}

std::string_view NormalizeHost(std::string_view host, char* buf, size_t buf_size) {
  size_t end = host.size();
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    if (close != std::string_view::npos) end = close + 1;
  } else {
    size_t colon = host.rfind(':');
    if (colon != std::string_view::npos) end = colon;
  }
  if (end > buf_size) end = buf_size;
  for (size_t i = 0; i < end; ++i) {
    char c = host[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return std::string_view(buf, end);
}

ServiceRoute* RouteTable::AddService(ServiceRoute route, const std::vector<std::string>& hosts,
                                     const std::string& path_prefix) {
  route.index = services_.size();
  auto owned = std::make_shared<ServiceRoute>(std::move(route));
  ServiceRoute* added = owned.get();
  AddSharedService(std::move(owned), hosts, path_prefix);
  return added;
}

void RouteTable::AddSharedService(std::shared_ptr<const ServiceRoute> route,
                                  const std::vector<std::string>& hosts,
                                  const std::string& path_prefix) {
  const ServiceRoute* added = route.get();
  services_.push_back(std::move(route));
  std::vector<std::string> normalized;
  for (const std::string& h : hosts) {
    char buf[256];
    normalized.emplace_back(NormalizeHost(h, buf, sizeof(buf)));
  }
  if (!path_prefix.empty()) {
    by_prefix_.push_back(PrefixRule{path_prefix, normalized, added});
    std::stable_sort(
        by_prefix_.begin(), by_prefix_.end(),
        [](const PrefixRule& a, const PrefixRule& b) { return a.prefix.size() > b.prefix.size(); });
  } else {
    for (const std::string& h : normalized) by_host_.emplace(h, added);
  }
}

const ServiceRoute* RouteTable::Match(std::string_view host_header, std::string_view target) const {
  char buf[256];
  std::string_view host = NormalizeHost(host_header, buf, sizeof(buf));
  for (const PrefixRule& rule : by_prefix_) {
    if (target.substr(0, rule.prefix.size()) != rule.prefix) continue;
    if (rule.hosts.empty() ||
        std::find(rule.hosts.begin(), rule.hosts.end(), host) != rule.hosts.end()) {
      return rule.service;
    }
  }
  auto it = by_host_.find(host);
  return it == by_host_.end() ? nullptr : it->second;
}

const ServiceRoute* RouteTable::FindService(std::string_view name) const {
  for (const auto& s : services_) {
    if (s->name == name) return s.get();
  }
  return nullptr;
}

}  // namespace canarymesh::router
