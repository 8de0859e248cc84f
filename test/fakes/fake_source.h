#pragma once

// A small event source for engine tests: one field of every type and argument form, fed with
// synthetic events. Lets the rule engine be tested without the syscall or audit sources.

#include <string>
#include <vector>

#include "common/fields/registry.h"
#include "common/fields/source.h"

namespace vigil::testing {

struct FakeEvent {
  uint16_t type = 0;  // fake.type: 0=alpha 1=beta 2=gamma
  std::string name;   // fake.name (string); empty = unset
  std::string path;   // fake.path (path)
  int64_t num = 0;    // fake.num
  bool has_num = true;
  bool flag = false;               // fake.flag (bool)
  std::string ip;                  // fake.ip (ip address), fake.net (ip network field)
  std::vector<std::string> tags;   // fake.tags (list)
  std::vector<std::string> names;  // fake.any (multi-valued, not a list): any value matches
  std::vector<std::pair<std::string, std::string>> kv;  // fake.kv[key]
  int64_t time_ns = 0;                                  // fake.time
  std::string ns;                                       // fake.ns: the event's namespace
};

const fields::EventSource& fake_source();

}  // namespace vigil::testing
