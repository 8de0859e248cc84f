#pragma once

// Walks a command's arguments one option at a time, taking values written as "--flag value" or
// "--flag=value", so every vigilctl command reads its options the same way.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace vigil::cli {

class OptionCursor {
 public:
  explicit OptionCursor(const std::vector<std::string>& args) : args_(args) {}

  // Moves to the next argument; false after the last one.
  bool next() {
    if (started_) ++i_;
    started_ = true;
    if (i_ >= args_.size()) return false;
    name_ = args_[i_];
    inline_value_.reset();
    const size_t eq = name_.find('=');
    if (name_.starts_with("--") && eq != std::string::npos) {
      inline_value_ = name_.substr(eq + 1);
      name_.resize(eq);
    }
    return true;
  }
  // The current argument, without "=value".
  const std::string& name() const { return name_; }
  // The current argument as given.
  const std::string& arg() const { return args_[i_]; }
  // The current option's value: after '=', else the next argument (consumed). False when there
  // is none.
  bool value(std::string& out) {
    if (inline_value_) {
      out = *inline_value_;
      return true;
    }
    if (i_ + 1 >= args_.size()) return false;
    out = args_[++i_];
    return true;
  }

 private:
  const std::vector<std::string>& args_;
  size_t i_ = 0;
  bool started_ = false;
  std::string name_;
  std::optional<std::string> inline_value_;
};

}  // namespace vigil::cli
