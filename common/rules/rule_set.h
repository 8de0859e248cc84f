#pragma once

// A compiled rule set: immutable after compilation, shared read-only across threads as
// std::shared_ptr<const RuleSet>. Each thread evaluates with its own EvalContext, which holds
// every per-event buffer so evaluation allocates nothing once warm.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/fields/source.h"
#include "common/fields/value.h"
#include "common/rules/output.h"
#include "common/rules/rule_defs.h"

namespace vigil::rules {

struct Check;  // check.h, internal

// A field as the program reads it: bound field plus transformers, extracted at most once per
// event and cached in the EvalContext.
struct FieldSlot {
  // What extraction reads, first: field.info->extract, and whether there are transformers.
  fields::ExtractFn extract = nullptr;
  bool transform = false;
  fields::BoundField field;
  std::vector<ast::Transformer> transformers;
  fields::FieldType type = fields::FieldType::kString;  // after transformers
  bool list = false;
  std::string key;  // display with transformers: dedup key
};

// One step of a rule's program: run check, then go to on_true or on_false. kAccept/kReject end
// the program. The compiler lays out and/or/not as jumps, so evaluation is a loop, not a
// recursion, and short-circuits exactly like the condition reads.
struct Instr {
  static constexpr uint32_t kAccept = 0xffffffffu;
  static constexpr uint32_t kReject = 0xfffffffeu;
  static constexpr uint32_t kNoTypeRow = 0xffffffffu;
  uint32_t check;
  uint32_t on_true;
  uint32_t on_false;
  // A check that depends on the event type alone (evt.type against constants): the offset of
  // its results, one per type id, in SourceRules::type_results_. Set when compilation ends.
  uint32_t type_row = kNoTypeRow;
  uint32_t lhs_slot = 0;  // the check's, here to look the slot up without loading the check
  // False when no other instruction refers to the check: it runs at most once per event
  // (programs are per rule and only jump forward), so its result is not worth caching.
  bool cache = true;
  // False when no other check reads the left side's slot (and the check compares it with
  // constants): the check runs at most once per event, so the values are not worth caching.
  bool slot_cache = true;
};

struct CompiledRule {
  std::string name;
  std::string desc;
  Priority priority = Priority::kWarning;
  std::string source;
  std::vector<std::string> tags;
  RuleMode mode = RuleMode::kAlert;
  std::string object_namespace;
  uint32_t entry = Instr::kReject;
  OutputTemplate output;
  std::string expanded_condition;
};

class EvalContext {
 public:
  EvalContext();
  ~EvalContext();
  EvalContext(const EvalContext&) = delete;
  EvalContext& operator=(const EvalContext&) = delete;

  // Starts a new event: forgets cached field values, check results and scratch memory.
  void begin_event(size_t slot_count, size_t check_count = 0);

  // A check's result for the current event, if it was evaluated already (identical checks
  // from shared macros are compiled once and evaluated at most once per event).
  int cached_check(uint32_t check) const {
    return checks_[check].generation == generation_ ? checks_[check].result : -1;
  }
  void cache_check(uint32_t check, bool result) {
    checks_[check] = CheckState{generation_, result};
  }

  // Values of a slot for the current event (extracting them on first use).
  std::span<const fields::Value> slot_values(const FieldSlot& slot, uint32_t slot_index,
                                             const void* event) {
    const SlotState& s = slots_[slot_index];
    if (s.generation == generation_) {
      return std::span<const fields::Value>(pool_.data() + s.begin, s.count);
    }
    return extract_slot(slot, slot_index, event);
  }
  // Extracts a field outside the slot cache (outputs).
  std::span<const fields::Value> extract(const fields::BoundField& field,
                                         const std::vector<ast::Transformer>& transformers,
                                         const void* event);

  fields::Arena& arena() { return arena_; }
  std::vector<uint32_t>& matches() { return matches_; }

 private:
  friend class SourceRules;
  struct SlotState {
    uint32_t generation = 0;
    uint32_t begin = 0;
    uint32_t count = 0;
  };
  void apply_transformers(const std::vector<ast::Transformer>& ts, size_t begin);
  std::span<const fields::Value> extract_slot(const FieldSlot& slot, uint32_t slot_index,
                                              const void* event);
  std::span<const fields::Value> extract_once(const FieldSlot& slot, const void* event);

  fields::ValuePool pool_;
  fields::Arena arena_;
  struct CheckState {
    uint32_t generation = 0;
    bool result = false;
  };
  std::vector<SlotState> slots_;
  std::vector<CheckState> checks_;
  uint32_t generation_ = 1;
  uint32_t event_type_ = UINT32_MAX;  // of the current event when < the source's type_count
  std::vector<uint32_t> matches_;
};

// The compiled rules of one source.
class SourceRules {
 public:
  SourceRules();
  ~SourceRules();
  SourceRules(SourceRules&&) noexcept;
  SourceRules& operator=(SourceRules&&) noexcept;

  const fields::EventSource& source() const { return *source_; }
  const std::vector<CompiledRule>& rules() const { return rules_; }
  size_t check_count() const;

  // Indices (into rules()) of the rules that match `event`, in rule order. The span lives in
  // ctx until the next call.
  std::span<const uint32_t> evaluate(const void* event, EvalContext& ctx) const;

  // Event type ids some enabled rule needs (all ids when a rule is not restricted by type).
  // The agent turns this into its in-kernel table of interesting syscalls.
  std::vector<bool> needed_event_types() const;

 private:
  friend class Compiler;
  bool run(uint32_t pc, const void* event, EvalContext& ctx) const;

  const fields::EventSource* source_ = nullptr;
  std::vector<CompiledRule> rules_;
  std::vector<Check> checks_;
  std::vector<Instr> program_;
  std::vector<uint8_t> type_results_;  // see Instr::type_row
  std::vector<FieldSlot> slots_;
  std::vector<std::vector<uint32_t>> by_type_;  // empty when the source has no event types
  std::vector<uint32_t> all_rules_;
  // Per event type, the rules to run and where each starts once the event-type checks at the
  // head of its program are decided for that type (a rule they reject is left out).
  struct Candidate {
    uint32_t rule;
    uint32_t entry;
  };
  std::vector<std::vector<Candidate>> typed_;
};

class RuleSet {
 public:
  // nullptr when no rule of that source compiled.
  const SourceRules* source(std::string_view name) const;
  const std::vector<SourceRules>& sources() const { return sources_; }
  size_t rule_count() const;

 private:
  friend class Compiler;
  std::vector<SourceRules> sources_;
};

}  // namespace vigil::rules
