#pragma once

// The "k8s" logger shared by the client, watchers, leader election and events.

#include <spdlog/spdlog.h>

namespace vigil::k8s {

// A registered "k8s" logger if the binary made one, otherwise a clone of the default logger.
spdlog::logger& logger();

}  // namespace vigil::k8s
