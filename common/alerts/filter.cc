// Which alerts a sink receives (sink.h: sink_accepts, alert_namespace).

#include <algorithm>
#include <string_view>

#include "common/alerts/sink.h"

namespace vigil::alerts {
namespace {

namespace v1 = api::v1alpha1;

// Shell-style glob with '*' (any run, possibly empty) and '?' (one character); no character
// classes. Linear backtracking to the last '*', so hostile patterns cannot blow up.
bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

template <typename Range, typename Pred>
bool any_of(const Range& r, Pred pred) {
  return std::any_of(r.begin(), r.end(), pred);
}

}  // namespace

std::string_view alert_namespace(const Alert& alert, std::string_view cluster_namespace) {
  if (!alert.rule_namespace.empty() && alert.rule_namespace != cluster_namespace)
    return alert.rule_namespace;
  return alert.event_namespace;
}

bool sink_accepts(const v1::SinkFilter& filter, std::string_view sink_ns,
                  std::string_view cluster_namespace, const Alert& alert) {
  // DryRun rules are evaluated and counted, never sent (DESIGN.md §2).
  if (alert.mode == rules::RuleMode::kDryRun) return false;
  const std::string_view ns = alert_namespace(alert, cluster_namespace);
  // A tenant's sink only hears about its own namespace.
  if (sink_ns != cluster_namespace && ns != sink_ns) return false;
  // Priorities run from Emergency (0) to Debug: "at least Warning" is Emergency..Warning.
  if (filter.minimum_priority &&
      static_cast<int>(alert.priority) > static_cast<int>(*filter.minimum_priority))
    return false;
  if (!filter.rules.empty() &&
      !any_of(filter.rules, [&](const std::string& p) { return glob_match(p, alert.rule); }))
    return false;
  if (!filter.tags.empty() && !any_of(filter.tags, [&](const std::string& t) {
        return std::find(alert.tags.begin(), alert.tags.end(), t) != alert.tags.end();
      }))
    return false;
  if (!filter.sources.empty() &&
      !any_of(filter.sources, [&](v1::RuleSource s) { return alert.source == v1::to_string(s); }))
    return false;
  if (!filter.namespaces.empty() &&
      (ns.empty() || !any_of(filter.namespaces, [&](const std::string& n) { return n == ns; })))
    return false;
  return true;
}

}  // namespace vigil::alerts
