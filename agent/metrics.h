#pragma once

// The agent's /metrics in the Prometheus text format.

#include <string>

namespace vigil::agent {

class Capture;
class AlertWriter;

std::string render_metrics(const Capture& capture, const AlertWriter& writer);

}  // namespace vigil::agent
