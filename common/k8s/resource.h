#pragma once

// Names a Kubernetes resource type (group, version, plural) and builds its REST paths.

#include <string>
#include <string_view>

namespace vigil::k8s {

// One resource type of the API, e.g. {"", "v1", "configmaps", true} or
// {"coordination.k8s.io", "v1", "leases", true}. `resource` is the plural, lower-case name.
struct ResourceRef {
  std::string group;  // "" for the core group
  std::string version;
  std::string resource;
  bool namespaced = true;

  // "configmaps" or "leases.coordination.k8s.io", for messages.
  std::string display_name() const;
  // "v1" or "coordination.k8s.io/v1".
  std::string api_version() const;
};

// Resource types Vigil itself uses.
ResourceRef configmaps();
ResourceRef secrets();
ResourceRef pods();
ResourceRef namespaces();
ResourceRef nodes();
ResourceRef leases();
ResourceRef service_accounts();
ResourceRef core_events();  // v1 Event
ResourceRef events();       // events.k8s.io/v1 Event
ResourceRef custom_resource_definitions();

// "/api/v1/namespaces/NS/configmaps[/NAME[/SUBRESOURCE]]", or without "namespaces/NS" when
// the resource is cluster-scoped or `ns` is empty (all namespaces, for list and watch).
std::string resource_path(const ResourceRef& ref, std::string_view ns, std::string_view name = {},
                          std::string_view subresource = {});

// Percent-encodes a query parameter value (RFC 3986 unreserved characters stay as they are).
std::string query_escape(std::string_view value);

// Appends "&key=escaped(value)" (or "?key=…" for the first parameter) when value is not empty.
void append_query(std::string& path, std::string_view key, std::string_view value);

// "ns/name", or "name" for an empty namespace: client-go's MetaNamespaceKeyFunc.
std::string object_key(std::string_view ns, std::string_view name);

}  // namespace vigil::k8s
