// Card-time of a simulated run rebuilt from its decisions, by cause and by lane fate.
#include "launcher/lanes/cost_breakdown.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_format.h"

namespace kachi::lanes {
namespace {

enum class Cause { kFirstRung, kPromoted, kRunnerUp, kWarmup, kResumed };

Cause CauseOf(const std::string& reason, int rung) {
  if (reason == "runner-up") return Cause::kRunnerUp;
  if (reason == "warmup") return Cause::kWarmup;
  if (reason == "resumed") return Cause::kResumed;
  return rung < 0 ? Cause::kFirstRung : Cause::kPromoted;
}

// One lane's card-time so far.
struct LaneCost {
  bool running = false;
  double since_s = 0;
  int cards = 0;
  int min_cards = 0;
  Cause cause = Cause::kFirstRung;
  // Card-seconds per cause, and above the minimum width.
  std::map<Cause, double> by_cause;
  double after_first_rung = 0;
  double widened = 0;
  DecisionKind last = DecisionKind::kStart;
};

void Close(LaneCost* c, double now_s) {
  const double dt = now_s - c->since_s;
  c->by_cause[c->cause] += c->cards * dt;
  if (c->cause != Cause::kFirstRung) c->after_first_rung += c->cards * dt;
  c->widened += (c->cards - c->min_cards) * dt;
  c->since_s = now_s;
}

}  // namespace

CostBreakdown BreakDownCost(const SimulationInput& input, const SimulationResult& result) {
  std::vector<LaneCost> lanes(input.lanes.size());
  for (size_t i = 0; i < lanes.size(); ++i) {
    lanes[i].min_cards = AllowedWidths(input.lanes[i], input.pool).front() * input.lanes[i].tp;
  }
  std::vector<int> pending_rung(lanes.size(), -1);
  std::vector<std::string> pending_reason(lanes.size());
  for (const Decision& d : result.decisions) {
    LaneCost& c = lanes[d.lane];
    switch (d.kind) {
      case DecisionKind::kStart:
        c.running = true;
        c.since_s = d.time_s;
        c.cards = static_cast<int>(d.cards.size());
        c.cause = CauseOf(pending_reason[d.lane], pending_rung[d.lane]);
        break;
      case DecisionKind::kWiden:
      case DecisionKind::kShrink:
        Close(&c, d.time_s);
        c.cards = static_cast<int>(d.cards.size());
        break;
      case DecisionKind::kPromote:
      case DecisionKind::kPause:
      case DecisionKind::kFinish:
      case DecisionKind::kStop:
        if (c.running) Close(&c, d.time_s), c.running = false;
        if (d.kind == DecisionKind::kPromote) pending_rung[d.lane] = d.rung, pending_reason[d.lane] = d.reason;
        break;
    }
    c.last = d.kind;
  }
  CostBreakdown b;
  const double h = 1.0 / 3600.0;
  double held = 0;
  for (size_t i = 0; i < lanes.size(); ++i) {
    LaneCost& c = lanes[i];
    if (c.running) Close(&c, result.makespan_s);
    double total = 0;
    for (const auto& [cause, card_s] : c.by_cause) {
      total += card_s;
      switch (cause) {
        case Cause::kFirstRung: b.first_rung += card_s * h; break;
        case Cause::kPromoted: b.promoted += card_s * h; break;
        case Cause::kRunnerUp: b.runner_up += card_s * h; break;
        case Cause::kWarmup: b.warmup += card_s * h; break;
        case Cause::kResumed: b.resumed += card_s * h; break;
      }
    }
    held += total;
    b.widened += c.widened * h;
    if (result.best_lane && static_cast<int>(i) == *result.best_lane) {
      b.chosen += total * h;
      b.chosen_widened += c.widened * h;
    } else if (c.last == DecisionKind::kFinish) {
      b.finished_other += total * h;
    } else if (c.last == DecisionKind::kStop) {
      b.stopped += total * h;
    } else {
      b.cut_after_first_rung += c.after_first_rung * h;
    }
  }
  b.pool = result.PoolGpuHours();
  b.idle = std::max(0.0, b.pool - held * h);  // not below 0 by rounding
  return b;
}

void AddCost(const CostBreakdown& x, double s, CostBreakdown* a) {
  a->first_rung += s * x.first_rung;
  a->promoted += s * x.promoted;
  a->runner_up += s * x.runner_up;
  a->warmup += s * x.warmup;
  a->resumed += s * x.resumed;
  a->chosen += s * x.chosen;
  a->chosen_widened += s * x.chosen_widened;
  a->cut_after_first_rung += s * x.cut_after_first_rung;
  a->finished_other += s * x.finished_other;
  a->stopped += s * x.stopped;
  a->widened += s * x.widened;
  a->idle += s * x.idle;
  a->pool += s * x.pool;
}

std::string CostHeader() {
  return "| run | pool | first rung | promoted | runner-up | warmup | resumed | chosen (widened) | cut | "
         "finished other | stopped | widened | idle |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
}

std::string CostRow(const std::string& label, const CostBreakdown& b) {
  return absl::StrFormat("| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f (%.1f) | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
                         label, b.pool, b.first_rung, b.promoted, b.runner_up, b.warmup, b.resumed, b.chosen,
                         b.chosen_widened, b.cut_after_first_rung, b.finished_other, b.stopped, b.widened, b.idle);
}

}  // namespace kachi::lanes
