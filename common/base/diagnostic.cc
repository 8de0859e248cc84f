#include "common/base/diagnostic.h"

namespace vigil {

std::string Diagnostic::to_string() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  if (pos.line > 0) {
    out += ':' + std::to_string(pos.line);
    if (pos.col > 0) out += ':' + std::to_string(pos.col);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  if (!item.empty()) out += item + ": ";
  out += message;
  return out;
}

void Diagnostics::error(std::string file, SourcePos pos, std::string item, std::string message) {
  items_.push_back({Severity::kError, std::move(file), pos, std::move(item), std::move(message)});
}

void Diagnostics::warning(std::string file, SourcePos pos, std::string item, std::string message) {
  items_.push_back({Severity::kWarning, std::move(file), pos, std::move(item), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

size_t Diagnostics::error_count() const {
  size_t n = 0;
  for (const auto& d : items_) n += d.severity == Severity::kError;
  return n;
}

size_t Diagnostics::warning_count() const { return items_.size() - error_count(); }

std::string Diagnostics::to_string() const {
  std::string out;
  for (const auto& d : items_) out += d.to_string() + '\n';
  return out;
}

}  // namespace vigil
