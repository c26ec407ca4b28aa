// ASHA with elastic widening: event handling, promotion, placement, shrinking and widening.
#include "launcher/lanes/policy.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace kachi::lanes {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

const char* LaneStateName(LaneState state) {
  switch (state) {
    case LaneState::kWaiting: return "waiting";
    case LaneState::kRunning: return "running";
    case LaneState::kAtRung: return "at_rung";
    case LaneState::kPaused: return "paused";
    case LaneState::kFinished: return "finished";
    case LaneState::kStopped: return "stopped";
  }
  return "unknown";
}

absl::StatusOr<LanePolicy> LanePolicy::Create(PoolShape pool, PolicyOptions options, std::vector<LaneSpec> lanes) {
  if (absl::Status status = ValidatePolicyInputs(pool, options, lanes); !status.ok()) return status;
  return LanePolicy(pool, options, std::move(lanes));
}

LanePolicy::LanePolicy(PoolShape pool, PolicyOptions options, std::vector<LaneSpec> lanes)
    : options_(options), specs_(std::move(lanes)), pool_(pool) {
  targets_ = RungSteps(options_);
  targets_.push_back(options_.max_steps);
  reports_.resize(Rungs());
  lanes_.resize(specs_.size());
  records_.assign(specs_.size(), 0);
  predictions_.assign(specs_.size(), {0, std::nullopt});
  for (size_t i = 0; i < specs_.size(); ++i) {
    widths_.push_back(AllowedWidths(specs_[i], pool));
    lanes_[i].rung_losses.assign(Rungs(), kNaN);
    lanes_[i].final_loss = kNaN;
    lanes_[i].target = NextTarget(static_cast<int>(i), -1);
  }
}

int64_t LanePolicy::TargetStep(int lane, int k) const {
  const int64_t w = specs_[lane].grace_steps;
  if (k >= Rungs() || !options_.schedule_rungs || w <= 0) return targets_[k];
  // The inverse of FitStep's schedule time: sqrt(2 w r) during the ramp, r + w/2 after it.
  const double r = static_cast<double>(targets_[k]), wd = static_cast<double>(w);
  const int64_t step = std::llround(r < wd / 2 ? std::sqrt(2.0 * wd * r) : r + wd / 2);
  return std::max<int64_t>(step, 1);
}

int LanePolicy::NextTarget(int lane, int k) const {
  int next = k + 1;
  while (next < Rungs() && (TargetStep(lane, next) >= options_.max_steps ||
                            (next > 0 && TargetStep(lane, next) <= TargetStep(lane, next - 1)))) {
    ++next;
  }
  return next;
}

absl::Status LanePolicy::CheckEvent(int lane, double now_s, const char* event) const {
  if (lane < 0 || lane >= lane_count()) {
    return absl::InvalidArgumentError(absl::StrCat(event, ": lane ", lane, " does not exist; expected 0..",
                                                   lane_count() - 1));
  }
  if (now_s < now_s_) {
    return absl::InvalidArgumentError(absl::StrCat(event, " for lane ", lane, " at t=", now_s,
                                                   "s is earlier than the previous event (t=", now_s_, "s)"));
  }
  if (lanes_[lane].state != LaneState::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat(event, " for lane ", lane, " (", specs_[lane].name,
                                                      "), which is ", LaneStateName(lanes_[lane].state),
                                                      "; expected a running lane"));
  }
  return absl::OkStatus();
}

absl::Status LanePolicy::OnRungReached(int lane, int64_t step, double loss, double now_s) {
  if (absl::Status status = CheckEvent(lane, now_s, "OnRungReached"); !status.ok()) return status;
  LaneStatus& s = lanes_[lane];
  if (step != TargetStep(lane, s.target)) {
    return absl::InvalidArgumentError(absl::StrCat("OnRungReached: lane ", lane, " (", specs_[lane].name,
                                                   ") reported step ", step, "; its next rung is at step ",
                                                   TargetStep(lane, s.target)));
  }
  now_s_ = now_s;
  s.progress_step = step;
  if (!std::isfinite(loss)) {
    Stop(lane, step, absl::StrCat("loss ", loss, " at step ", step));
    return absl::OkStatus();
  }
  s.checkpoint_step = step;
  Record(lane, step, loss);
  ReleaseCards(lane);
  if (s.target == Rungs()) {
    s.state = LaneState::kFinished;
    s.final_loss = loss;
    Decision finish{DecisionKind::kFinish, lane, now_s_, -1, step, loss, {}, ""};
    pending_.push_back(std::move(finish));
    return absl::OkStatus();
  }
  s.state = LaneState::kAtRung;
  s.rung_losses[s.target] = loss;
  auto& rung = reports_[s.target];
  const std::pair<double, int> report(loss, lane);
  rung.insert(std::upper_bound(rung.begin(), rung.end(), report), report);
  return absl::OkStatus();
}

absl::Status LanePolicy::OnFailure(int lane, const std::string& reason, double now_s) {
  if (absl::Status status = CheckEvent(lane, now_s, "OnFailure"); !status.ok()) return status;
  now_s_ = now_s;
  Stop(lane, lanes_[lane].progress_step, reason);
  return absl::OkStatus();
}

absl::Status LanePolicy::OnTick(double now_s, const std::vector<LaneProgress>& progress) {
  if (now_s < now_s_) {
    return absl::InvalidArgumentError(absl::StrCat("OnTick at t=", now_s,
                                                   "s is earlier than the previous event (t=", now_s_, "s)"));
  }
  now_s_ = now_s;
  for (const LaneProgress& p : progress) {
    if (absl::Status status = CheckEvent(p.lane, now_s, "OnTick progress"); !status.ok()) return status;
    LaneStatus& s = lanes_[p.lane];
    if (p.step < s.checkpoint_step || p.step > TargetStep(p.lane, s.target)) {
      return absl::InvalidArgumentError(absl::StrCat("OnTick: lane ", p.lane, " (", specs_[p.lane].name,
                                                     ") reported step ", p.step, "; expected a step in [",
                                                     s.checkpoint_step, ", ", TargetStep(p.lane, s.target), "]"));
    }
    s.progress_step = p.step;
    if (p.checkpointed && std::isfinite(p.loss)) {
      s.checkpoint_step = p.step;
      s.at_checkpoint = true;
    }
    if (!std::isfinite(p.loss)) {
      Stop(p.lane, p.step, absl::StrCat("loss ", p.loss, " at step ", p.step));
    } else {
      Record(p.lane, p.step, p.loss);
    }
  }
  return absl::OkStatus();
}

int64_t LanePolicy::FitStep(int lane, int64_t step) const {
  const int64_t w = specs_[lane].grace_steps;
  if (!options_.predict_warmup_time || w <= 0) return step;
  // The area under a linear warmup ramp to 1 over w steps: s^2 / (2w) during it, s - w/2 after.
  const double s = static_cast<double>(step);
  return std::llround(step < w ? s * s / (2.0 * w) : s - w / 2.0);
}

void LanePolicy::Record(int lane, int64_t step, double loss) {
  if (!options_.predict_final || step <= 0) return;
  // From its warmup's end on (points from half the warmup, in schedule time, lost a seed of 40 on warmup-heavy).
  if (step < specs_[lane].grace_steps) return;
  step = FitStep(lane, step);
  if (step <= 0) return;
  std::vector<std::pair<int64_t, double>>& points = lanes_[lane].points;
  if (!points.empty() && step < points.back().first) return;  // a replayed older report
  // Thinned: a point within 8% of the one before replaces the latest point (keeps ~100 points to 10^4 steps).
  if (points.size() >= 2 && static_cast<double>(step) < 1.08 * points[points.size() - 2].first) points.pop_back();
  if (!points.empty() && points.back().first == step) points.pop_back();
  points.emplace_back(step, loss);
  ++records_[lane];
}

std::optional<LossPrediction> LanePolicy::FitFinal(int lane) const {
  return PredictPowerLaw(lanes_[lane].points, FitStep(lane, options_.max_steps), options_.predict_z,
                         options_.predict_noise_floor, options_.predict_min_points);
}

std::optional<LossPrediction> LanePolicy::Predict(int lane) {
  auto& [records, prediction] = predictions_[lane];
  if (records != records_[lane]) {
    records = records_[lane];
    prediction = FitFinal(lane);
  }
  return prediction;
}

int LanePolicy::DropByPrediction() {
  // Verdicts are redone at every round: a drop lasts only while its incumbent stays ahead (an incumbent that
  // diverges later frees the lanes it had dropped).
  for (LaneStatus& s : lanes_) s.predicted_out = false;
  int incumbent = -1;
  double incumbent_upper = std::numeric_limits<double>::infinity();
  for (int lane = 0; lane < lane_count(); ++lane) {
    const LaneStatus& s = lanes_[lane];
    if (s.state == LaneState::kStopped) continue;
    double upper = std::numeric_limits<double>::infinity();
    if (s.state == LaneState::kFinished) {
      upper = s.final_loss;
    } else if (std::optional<LossPrediction> p = Predict(lane)) {
      upper = p->upper;
    }
    if (upper < incumbent_upper) incumbent = lane, incumbent_upper = upper;
  }
  if (incumbent < 0) return -1;
  for (int lane = 0; lane < lane_count(); ++lane) {
    LaneStatus& s = lanes_[lane];
    if (lane == incumbent) continue;
    const bool at_checkpoint = s.state == LaneState::kRunning && s.at_checkpoint && options_.predict_cut &&
                               static_cast<int>(s.points.size()) >= options_.predict_cut_min_points;
    if (s.state != LaneState::kAtRung && s.state != LaneState::kPaused && !at_checkpoint) continue;
    if (std::optional<LossPrediction> p = Predict(lane); p && p->lower > incumbent_upper) s.predicted_out = true;
  }
  return incumbent;
}

void LanePolicy::CutByPrediction(std::vector<Decision>* out) {
  for (int lane = 0; lane < lane_count(); ++lane) {
    LaneStatus& s = lanes_[lane];
    const bool latest = !s.points.empty() && s.points.back().first == FitStep(lane, s.progress_step);
    const double loss = latest ? s.points.back().second : kNaN;
    if (s.state == LaneState::kRunning && s.at_checkpoint && s.predicted_out) {
      ReleaseCards(lane);
      s.state = LaneState::kPaused;
      s.cut = true;
      out->push_back(Decision{DecisionKind::kPause, lane, now_s_, s.target - 1, s.checkpoint_step, loss, {}, "cut"});
    } else if (s.state == LaneState::kPaused && s.cut && !s.predicted_out) {  // (the incumbent never is)
      s.state = LaneState::kWaiting;
      s.cut = false;
      s.waiting_since_s = now_s_;
      out->push_back(Decision{DecisionKind::kPromote, lane, now_s_, s.target - 1, s.checkpoint_step, loss, {},
                              "resumed"});
    }
  }
}

void LanePolicy::Stop(int lane, int64_t step, const std::string& reason) {
  ReleaseCards(lane);
  lanes_[lane].state = LaneState::kStopped;
  lanes_[lane].stop_reason = reason;
  Decision stop{DecisionKind::kStop, lane, now_s_, -1, step, kNaN, {}, reason};
  pending_.push_back(std::move(stop));
}

void LanePolicy::ReleaseCards(int lane) {
  LaneStatus& s = lanes_[lane];
  pool_.Release(s.cards);
  if (!s.cards.empty()) s.previous_cards = s.cards;
  s.cards.clear();
}

void LanePolicy::Assign(int lane, const std::vector<int>& cards) {
  pool_.Release(lanes_[lane].cards);
  pool_.Take(lane, cards);
  lanes_[lane].cards = cards;
}

std::vector<Decision> LanePolicy::Decide() {
  std::vector<Decision> out = std::move(pending_);
  pending_.clear();
  Promote(&out);
  Place(&out);
  if (options_.promote_runners_up) {
    while (PromoteRunnerUp(&out)) Place(&out);
  }
  Widen(&out);
  for (LaneStatus& s : lanes_) s.at_checkpoint = false;
  return out;
}

void LanePolicy::Promote(std::vector<Decision>* out) {
  const int incumbent = options_.predict_final ? DropByPrediction() : -1;
  if (options_.predict_final && options_.predict_cut) CutByPrediction(out);
  int min_active_target = INT_MAX;
  for (const LaneStatus& s : lanes_) {
    if (s.state == LaneState::kWaiting || s.state == LaneState::kRunning) {
      min_active_target = std::min(min_active_target, s.target);
    }
  }
  // A rung is closed when no lane can reach it any more: every rung below it is closed and no runnable or running
  // lane is headed to it or below. A closed rung promotes at least one lane, so the best one always finishes.
  bool closed = true;
  for (int k = 0; k < Rungs(); ++k) {
    closed = closed && min_active_target > k;
    const auto& rung = reports_[k];
    int quota = static_cast<int>(rung.size()) / options_.eta;
    if (closed && !rung.empty()) quota = std::max(quota, 1);
    // The best `quota` lanes of the rung that are still in the race: a lane stopped after its promotion gives its
    // place to the next best, so a failure never leaves a rung without a finalist.
    for (size_t i = 0; i < rung.size() && quota > 0; ++i) {
      const int lane = rung[i].second;
      LaneStatus& s = lanes_[lane];
      if (s.state == LaneState::kStopped) continue;
      --quota;
      if (s.predicted_out) continue;  // predicted worse than the incumbent: its place stays empty
      if ((s.state != LaneState::kAtRung && s.state != LaneState::kPaused) || s.target != k) continue;
      s.state = LaneState::kWaiting;
      s.target = NextTarget(lane, k);
      s.waiting_since_s = now_s_;
      min_active_target = std::min(min_active_target, s.target);
      out->push_back(Decision{DecisionKind::kPromote, lane, now_s_, k, TargetStep(lane, k), rung[i].first, {}, ""});
    }
    // The incumbent (best predicted final loss) waiting at a closed rung goes on whatever its rank there.
    if (closed && incumbent >= 0 && lanes_[incumbent].target == k &&
        (lanes_[incumbent].state == LaneState::kAtRung || lanes_[incumbent].state == LaneState::kPaused)) {
      LaneStatus& s = lanes_[incumbent];
      s.state = LaneState::kWaiting;
      s.target = NextTarget(incumbent, k);
      s.waiting_since_s = now_s_;
      min_active_target = std::min(min_active_target, s.target);
      out->push_back(Decision{DecisionKind::kPromote, incumbent, now_s_, k, TargetStep(incumbent, k),
                              s.rung_losses[k], {}, "predicted best"});
    }
  }
  for (int lane = 0; lane < lane_count(); ++lane) {
    LaneStatus& s = lanes_[lane];
    if (s.state != LaneState::kAtRung || options_.schedule_rungs ||
        TargetStep(lane, s.target) >= specs_[lane].grace_steps) {
      continue;
    }
    // Still in its warmup: not judged at this rung.
    const int k = s.target;
    s.state = LaneState::kWaiting;
    s.target = NextTarget(lane, k);
    s.waiting_since_s = now_s_;
    out->push_back(Decision{DecisionKind::kPromote, lane, now_s_, k, TargetStep(lane, k), s.rung_losses[k], {},
                            "warmup"});
  }
  for (int lane = 0; lane < lane_count(); ++lane) {
    LaneStatus& s = lanes_[lane];
    if (s.state != LaneState::kAtRung) continue;
    s.state = LaneState::kPaused;
    out->push_back(Decision{DecisionKind::kPause, lane, now_s_, s.target, TargetStep(lane, s.target),
                            s.rung_losses[s.target], {}, s.predicted_out ? "predicted" : ""});
  }
}

bool LanePolicy::PromoteRunnerUp(std::vector<Decision>* out) {
  if (pool_.free_cards() == 0) return false;
  bool running = false;
  for (const LaneStatus& s : lanes_) {
    if (s.state == LaneState::kWaiting) return false;  // cards still needed by a runnable lane
    running = running || s.state == LaneState::kRunning;
  }
  if (!running) return false;  // never prolong the run: only fill cards idle beside a running lane
  // The best paused lane: deepest rung, then its rank at that rung (within the best 2/eta), then index.
  int best = -1;
  std::tuple<int, int, int> best_key;
  for (int k = Rungs() - 1; k >= options_.runner_up_min_rung && best < 0; --k) {
    const auto& rung = reports_[k];
    const int n = static_cast<int>(rung.size());
    const int band = options_.runner_up_extra > 0 ? n / options_.eta + options_.runner_up_extra
                                                  : (2 * n + options_.eta - 1) / options_.eta;
    for (int rank = 0; rank < static_cast<int>(rung.size()) && rank < band; ++rank) {
      const int lane = rung[rank].second;
      const LaneStatus& s = lanes_[lane];
      if (s.state != LaneState::kPaused || s.target != k || s.predicted_out) continue;
      if (pool_.free_cards() < widths_[lane].front() * specs_[lane].tp) continue;
      if (pool_.FindGangs(widths_[lane].front(), specs_[lane].tp, s.previous_cards).empty()) continue;
      const std::tuple<int, int, int> key(-k, rank, lane);
      if (best < 0 || key < best_key) best = lane, best_key = key;
    }
  }
  if (best < 0) return false;
  LaneStatus& s = lanes_[best];
  const int k = s.target;
  s.state = LaneState::kWaiting;
  s.target = NextTarget(best, k);
  s.waiting_since_s = now_s_;
  out->push_back(Decision{DecisionKind::kPromote, best, now_s_, k, TargetStep(best, k), s.rung_losses[k], {},
                          "runner-up"});
  return true;
}

std::vector<int> LanePolicy::RunningByMerit() const {
  std::vector<int> running;
  for (int lane = 0; lane < lane_count(); ++lane) {
    if (lanes_[lane].state == LaneState::kRunning) running.push_back(lane);
  }
  auto key = [&](int lane) {
    const LaneStatus& s = lanes_[lane];
    const double loss = s.target > 0 ? s.rung_losses[s.target - 1] : std::numeric_limits<double>::infinity();
    return std::make_tuple(-specs_[lane].priority, -s.target, loss, lane);
  };
  std::sort(running.begin(), running.end(), [&](int x, int y) { return key(x) < key(y); });
  return running;
}

void LanePolicy::Place(std::vector<Decision>* out) {
  std::vector<int> runnable;
  for (int lane = 0; lane < lane_count(); ++lane) {
    if (lanes_[lane].state == LaneState::kWaiting) runnable.push_back(lane);
  }
  if (runnable.empty()) return;
  std::sort(runnable.begin(), runnable.end(), [&](int x, int y) {
    return std::make_tuple(-specs_[x].priority, -lanes_[x].target, x) <
           std::make_tuple(-specs_[y].priority, -lanes_[y].target, y);
  });
  // Cards widened lanes hold beyond their minimum: what shrinking could give back.
  auto shrinkable_cards = [&] {
    int cards = 0;
    for (int other = 0; other < lane_count(); ++other) {
      if (lanes_[other].state != LaneState::kRunning) continue;
      cards += (Width(other) - widths_[other].front()) * specs_[other].tp;
    }
    return cards;
  };
  int shrinkable = shrinkable_cards();
  for (int lane : runnable) {
    if (pool_.free_cards() == 0 && shrinkable == 0) break;
    const int gangs = widths_[lane].front();
    const int tp = specs_[lane].tp;
    if (pool_.free_cards() + shrinkable < gangs * tp) continue;
    LaneStatus& s = lanes_[lane];
    std::vector<int> cards = pool_.FindGangs(gangs, tp, s.previous_cards);
    if (cards.empty() && shrinkable > 0) {
      cards = ShrinkForRoom(lane, gangs, out);
      shrinkable = shrinkable_cards();
    }
    if (cards.empty()) continue;
    Assign(lane, cards);
    s.state = LaneState::kRunning;
    s.progress_step = s.checkpoint_step;
    s.queued_s += now_s_ - s.waiting_since_s;
    ++s.starts;
    out->push_back(Decision{DecisionKind::kStart, lane, now_s_, -1, s.checkpoint_step, kNaN, cards, ""});
  }
}

std::vector<int> LanePolicy::ShrinkForRoom(int lane, int gangs, std::vector<Decision>* out) {
  CardPool trial = pool_;
  std::vector<std::pair<int, std::vector<int>>> shrunk;  // victim, its new cards
  std::vector<int> victims = RunningByMerit();
  std::reverse(victims.begin(), victims.end());
  std::vector<int> found;
  for (int victim : victims) {
    const std::vector<int>& allowed = widths_[victim];
    const int tp = specs_[victim].tp;
    std::vector<int> cards = lanes_[victim].cards;
    int width = Width(victim);
    bool changed = false;
    while (width > allowed.front() && found.empty()) {
      width = *(std::lower_bound(allowed.begin(), allowed.end(), width) - 1);
      trial.Release(std::vector<int>(cards.begin() + width * tp, cards.end()));
      cards.resize(width * tp);
      changed = true;
      found = trial.FindGangs(gangs, specs_[lane].tp, lanes_[lane].previous_cards);
    }
    if (changed) shrunk.emplace_back(victim, std::move(cards));
    if (!found.empty()) break;
  }
  if (found.empty()) return {};
  for (auto& [victim, cards] : shrunk) {
    Assign(victim, cards);
    out->push_back(Decision{DecisionKind::kShrink, victim, now_s_, -1, lanes_[victim].progress_step, kNaN, cards,
                            ""});
  }
  return found;
}

void LanePolicy::Widen(std::vector<Decision>* out) {
  if (!options_.widen || pool_.free_cards() == 0) return;
  for (const LaneStatus& s : lanes_) {
    if (s.state == LaneState::kWaiting) return;  // cards still needed by a runnable lane
  }
  for (int lane : RunningByMerit()) {
    if (pool_.free_cards() == 0) break;
    LaneStatus& s = lanes_[lane];
    if (TargetStep(lane, s.target) - s.progress_step < options_.widen_min_remaining_steps) continue;
    const int tp = specs_[lane].tp;
    const int width = Width(lane);
    const std::vector<int>& allowed = widths_[lane];
    for (auto it = allowed.rbegin(); it != allowed.rend() && *it > width; ++it) {
      if ((*it - width) * tp > pool_.free_cards()) continue;
      std::vector<int> extra = pool_.FindGangs(*it - width, tp, s.cards);
      if (extra.empty()) continue;
      std::vector<int> cards = s.cards;
      cards.insert(cards.end(), extra.begin(), extra.end());
      Assign(lane, cards);
      // A lane started in this same round starts at the wider width instead of being widened right after.
      auto started = std::find_if(out->begin(), out->end(), [&](const Decision& d) {
        return d.kind == DecisionKind::kStart && d.lane == lane;
      });
      if (started != out->end()) {
        started->cards = cards;
      } else {
        out->push_back(Decision{DecisionKind::kWiden, lane, now_s_, -1, s.progress_step, kNaN, cards, ""});
      }
      break;
    }
  }
}

bool LanePolicy::Done() const {
  for (const LaneStatus& s : lanes_) {
    if (s.state == LaneState::kWaiting || s.state == LaneState::kRunning || s.state == LaneState::kAtRung) {
      return false;
    }
  }
  return true;
}

std::optional<int> LanePolicy::BestLane() const {
  std::optional<int> best;
  double best_value = 0;
  for (int lane = 0; lane < lane_count(); ++lane) {
    if (lanes_[lane].state != LaneState::kFinished) continue;
    double value = lanes_[lane].final_loss;
    if (options_.choose_by_fit) {
      if (std::optional<LossPrediction> p = FitFinal(lane)) value = p->mean;
    }
    if (!best || value < best_value) best = lane, best_value = value;
  }
  return best;
}

}  // namespace kachi::lanes
