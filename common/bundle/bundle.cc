#include "common/bundle/bundle.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "common/base/bounded_json.h"

namespace vigil::bundle {
namespace {

using Json = nlohmann::ordered_json;

void sort_objects(std::vector<BundleObject>& v) {
  std::sort(v.begin(), v.end(), [](const BundleObject& a, const BundleObject& b) {
    return a.ns != b.ns ? a.ns < b.ns : a.name < b.name;
  });
}

// Parses the spec; a spec that is not JSON (impossible from the API server) is kept as a string
// so nothing is dropped silently.
Json spec_of(const BundleObject& o) {
  Json spec = parse_bounded_json<Json>(o.spec_json);
  if (spec.is_discarded()) return Json(o.spec_json);
  return spec;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

Bundle render_bundle(std::vector<BundleObject> rules, std::vector<BundleObject> sinks) {
  sort_objects(rules);
  sort_objects(sinks);
  Bundle b;
  for (const auto& r : rules) {
    Json doc;
    doc["apiVersion"] = "vigil.dev/v1alpha1";
    doc["kind"] = "SecurityRule";
    doc["metadata"] = {{"name", r.name}, {"namespace", r.ns}, {"generation", r.generation}};
    doc["spec"] = spec_of(r);
    b.rules += "---\n";
    b.rules += doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    b.rules += '\n';
  }
  Json arr = Json::array();
  for (const auto& s : sinks) {
    arr.push_back(Json{
        {"namespace", s.ns}, {"name", s.name}, {"generation", s.generation}, {"spec", spec_of(s)}});
  }
  b.sinks = arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  b.hash = sha256_hex(b.rules + '\0' + b.sinks);
  return b;
}

Result<std::vector<BundleObject>> parse_bundle_rules(std::string_view rules) {
  std::vector<BundleObject> out;
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < rules.size()) {
    size_t eol = rules.find('\n', pos);
    if (eol == std::string_view::npos) eol = rules.size();
    std::string_view line = rules.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (line.empty() || line == "---") continue;
    Json doc = parse_bounded_json<Json>(line);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("metadata") ||
        !doc["metadata"].is_object() || !doc.contains("spec")) {
      return Error{"bundle rules line " + std::to_string(line_no) +
                   ": not a SecurityRule document"};
    }
    const Json& meta = doc["metadata"];
    BundleObject o;
    o.name = meta.value("name", "");
    o.ns = meta.value("namespace", "");
    o.generation = meta.contains("generation") && meta["generation"].is_number_integer()
                       ? meta["generation"].get<int64_t>()
                       : 0;
    o.spec_json = doc["spec"].dump();
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace vigil::bundle
