#include "common/k8s/resource.h"

namespace vigil::k8s {

std::string ResourceRef::display_name() const {
  return group.empty() ? resource : resource + "." + group;
}

std::string ResourceRef::api_version() const {
  return group.empty() ? version : group + "/" + version;
}

ResourceRef configmaps() { return {"", "v1", "configmaps", true}; }
ResourceRef secrets() { return {"", "v1", "secrets", true}; }
ResourceRef pods() { return {"", "v1", "pods", true}; }
ResourceRef namespaces() { return {"", "v1", "namespaces", false}; }
ResourceRef nodes() { return {"", "v1", "nodes", false}; }
ResourceRef service_accounts() { return {"", "v1", "serviceaccounts", true}; }
ResourceRef leases() { return {"coordination.k8s.io", "v1", "leases", true}; }
ResourceRef core_events() { return {"", "v1", "events", true}; }
ResourceRef events() { return {"events.k8s.io", "v1", "events", true}; }
ResourceRef custom_resource_definitions() {
  return {"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
}

std::string resource_path(const ResourceRef& ref, std::string_view ns, std::string_view name,
                          std::string_view subresource) {
  std::string path = ref.group.empty() ? "/api/" : "/apis/" + ref.group + "/";
  path += ref.version;
  if (ref.namespaced && !ns.empty()) {
    path += "/namespaces/";
    path += query_escape(ns);
  }
  path += '/';
  path += ref.resource;
  if (!name.empty()) {
    path += '/';
    path += query_escape(name);
    if (!subresource.empty()) {
      path += '/';
      path += subresource;
    }
  }
  return path;
}

std::string query_escape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                            (u >= '0' && u <= '9') || u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

void append_query(std::string& path, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  path += path.find('?') == std::string::npos ? '?' : '&';
  path += key;
  path += '=';
  path += query_escape(value);
}

std::string object_key(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key += ns;
  key += '/';
  key += name;
  return key;
}

}  // namespace vigil::k8s
