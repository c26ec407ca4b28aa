// Replays the policy's decisions into card spans, lane statuses and loss curves for the lanes report.
#include "launcher/lanes/report_from_decisions.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

namespace kachi::lanes {
namespace {

// What the replay knows of one lane.
struct LaneTrack {
  // Cards held now, with when the lane took each.
  std::map<int, double> open;
  // The step the lane's current training stretch started from, or -1 when it is not training.
  int64_t stretch_start = -1;
  // Loss by step.
  std::map<int64_t, double> points;
  std::string status = "waiting";
};

class Replay {
 public:
  explicit Replay(const ReportRun& run) : run_(run), tracks_(run.lane_names.size()) {}

  LanesReportData Run(const std::vector<Decision>& decisions) {
    for (const Decision& decision : decisions) {
      if (decision.lane < 0 || decision.lane >= static_cast<int>(tracks_.size())) continue;
      Apply(decision);
    }
    LanesReportData data;
    data.title = run_.title;
    data.num_cards = run_.num_cards;
    data.total_seconds = run_.total_seconds;
    for (size_t lane = 0; lane < tracks_.size(); ++lane) {
      LaneTrack& track = tracks_[lane];
      for (const auto& [card, begin] : track.open) Close(static_cast<int>(lane), card, begin, run_.total_seconds);
      track.open.clear();
      LaneSeries series{run_.lane_names[lane], track.status, {}};
      series.points.assign(track.points.begin(), track.points.end());
      data.lanes.push_back(std::move(series));
    }
    data.intervals = std::move(intervals_);
    return data;
  }

 private:
  void Apply(const Decision& decision) {
    LaneTrack& track = tracks_[decision.lane];
    switch (decision.kind) {
      case DecisionKind::kStart:
      case DecisionKind::kWiden:
      case DecisionKind::kShrink: {
        if (decision.kind == DecisionKind::kStart) track.stretch_start = decision.step;
        // Close the cards the lane no longer holds, open the ones it newly holds.
        for (auto it = track.open.begin(); it != track.open.end();) {
          if (std::find(decision.cards.begin(), decision.cards.end(), it->first) == decision.cards.end()) {
            Close(decision.lane, it->first, it->second, decision.time_s);
            it = track.open.erase(it);
          } else {
            ++it;
          }
        }
        for (int card : decision.cards) track.open.emplace(card, decision.time_s);
        track.status = "running";
        return;
      }
      case DecisionKind::kPromote: track.status = "running"; break;
      case DecisionKind::kPause: track.status = "paused"; break;
      case DecisionKind::kFinish: track.status = "finished"; break;
      case DecisionKind::kStop: track.status = "stopped"; break;
    }
    // A report at a step: the lane's training stretch (if any) ends there and its cards are given back.
    if (track.stretch_start >= 0) {
      SampleStretch(decision.lane, track.stretch_start, decision.step);
      track.stretch_start = -1;
    }
    for (const auto& [card, begin] : track.open) Close(decision.lane, card, begin, decision.time_s);
    track.open.clear();
    if (std::isfinite(decision.loss)) track.points[decision.step] = decision.loss;
  }

  // Samples run_.loss_at log-evenly over steps [from, to] of `lane`, keeping finite losses.
  void SampleStretch(int lane, int64_t from, int64_t to) {
    if (!run_.loss_at || to < 1) return;
    const double lo = std::log(static_cast<double>(std::max<int64_t>(from, 1)));
    const double hi = std::log(static_cast<double>(to));
    const int samples = std::max(2, run_.samples_per_stretch);
    for (int i = 0; i < samples; ++i) {
      const int64_t step = std::llround(std::exp(lo + (hi - lo) * i / (samples - 1)));
      if (tracks_[lane].points.count(step)) continue;
      const double loss = run_.loss_at(lane, step);
      if (std::isfinite(loss)) tracks_[lane].points[step] = loss;
    }
  }

  // Records that `lane` held `card` over [begin, end], extending its previous span there when the two touch.
  void Close(int lane, int card, double begin, double end) {
    end = std::max(begin, end);
    const auto key = std::make_pair(lane, card);
    const auto last = last_interval_.find(key);
    if (last != last_interval_.end() && std::abs(intervals_[last->second].end_s - begin) < 1e-9) {
      intervals_[last->second].end_s = end;
      return;
    }
    last_interval_[key] = intervals_.size();
    intervals_.push_back(CardInterval{card, lane, begin, end});
  }

  const ReportRun& run_;
  std::vector<LaneTrack> tracks_;
  std::vector<CardInterval> intervals_;
  std::map<std::pair<int, int>, size_t> last_interval_;
};

}  // namespace

LanesReportData ReportFromDecisions(const ReportRun& run, const std::vector<Decision>& decisions) {
  return Replay(run).Run(decisions);
}

LanesReportData ReportFromSimulation(const std::string& title, const SimulationSetup& setup,
                                     const SimulationResult& result) {
  ReportRun run;
  run.title = title;
  run.lane_names = setup.lane_names;
  run.num_cards = result.cards;
  run.total_seconds = result.makespan_s;
  const std::vector<const LearningCurve*>& curves = setup.input.curves;
  run.loss_at = [&curves](int lane, int64_t step) { return curves[lane]->LossAt(step); };
  return ReportFromDecisions(run, result.decisions);
}

}  // namespace kachi::lanes
