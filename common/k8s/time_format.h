#pragma once

// Kubernetes timestamp formats.

#include <chrono>
#include <string>

namespace vigil::k8s {

// metav1.MicroTime: "2026-01-01T00:00:00.123456Z", exactly six fractional digits, UTC
// (Lease acquireTime/renewTime, events.k8s.io eventTime).
std::string format_micro_time(std::chrono::system_clock::time_point t);

// metav1.Time: RFC 3339 in UTC without a fraction, "2026-01-01T00:00:00Z".
std::string format_time(std::chrono::system_clock::time_point t);

}  // namespace vigil::k8s
