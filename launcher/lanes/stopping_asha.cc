// Stopping-based ASHA, event-driven over the simulated lanes.
#include "launcher/lanes/stopping_asha.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "launcher/lanes/policy_types.h"

namespace kachi::lanes {

bool ContinuesAtRung(const std::vector<double>& recorded, double loss, double eta) {
  const auto strictly_better = std::count_if(recorded.begin(), recorded.end(), [&](double v) { return v < loss; });
  return static_cast<double>(strictly_better) / static_cast<double>(recorded.size()) <= 1.0 / eta;
}

absl::StatusOr<SimulationResult> SimulateStoppingAsha(const SimulationInput& input) {
  if (absl::Status status = ValidatePolicyInputs(input.pool, input.options, input.lanes); !status.ok()) return status;
  if (input.curves.size() != input.lanes.size()) {
    return absl::InvalidArgumentError(absl::StrCat("stopping ASHA: ", input.lanes.size(), " lanes but ",
                                                   input.curves.size(), " curves"));
  }
  const std::vector<int64_t> rungs = RungSteps(input.options);
  const int64_t max_steps = input.options.max_steps;
  const int lanes = static_cast<int>(input.lanes.size());
  std::vector<int> cards(lanes);
  std::vector<double> step_s(lanes);
  for (int lane = 0; lane < lanes; ++lane) {
    const int width = AllowedWidths(input.lanes[lane], input.pool).front();
    cards[lane] = width * input.lanes[lane].tp;
    step_s[lane] = StepSeconds(input.timing, width);
  }
  // Events: (time, lane, index of the lane's next checkpoint in rungs + max_steps).
  using Event = std::tuple<double, int, int>;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  std::vector<double> start_s(lanes, 0);
  std::vector<std::vector<double>> recorded(rungs.size());
  SimulationResult result;
  result.cards = input.pool.cards;
  int free_cards = input.pool.cards;
  int next = 0;
  double now = 0;
  double total_queue = 0;
  auto event_for = [&](int lane, int target) {
    const int64_t step = target < static_cast<int>(rungs.size()) ? rungs[target] : max_steps;
    const int64_t diverge = input.curves[lane]->DivergeStep();
    const int64_t until = diverge >= 0 && diverge < step ? diverge : step;
    const double finish = target == static_cast<int>(rungs.size()) ? input.timing.checkpoint_s : 0;
    events.emplace(start_s[lane] + static_cast<double>(until) * step_s[lane] + (until == step ? finish : 0), lane,
                   until == step ? target : -1);
  };
  auto start_more = [&] {
    while (next < lanes && cards[next] <= free_cards) {
      free_cards -= cards[next];
      start_s[next] = now;
      total_queue += now;
      result.max_queue_s = std::max(result.max_queue_s, now);
      ++result.starts;
      event_for(next, 0);
      ++next;
    }
  };
  start_more();
  while (!events.empty()) {
    const auto [time_s, lane, target] = events.top();
    events.pop();
    now = time_s;
    bool release = true;
    if (target < 0) {
      ++result.stops;  // diverged
    } else if (target == static_cast<int>(rungs.size())) {
      ++result.finishes;
      const double loss = input.curves[lane]->LossAt(max_steps);
      if (std::isfinite(loss) && (!result.best_lane || loss < result.best_loss)) {
        result.best_lane = lane;
        result.best_loss = loss;
        result.best_finished_s = now;
      }
    } else {
      const double loss = input.curves[lane]->LossAt(rungs[target]);
      std::vector<double>& at_rung = recorded[target];
      if (std::isfinite(loss)) at_rung.push_back(loss);
      if (std::isfinite(loss) && ContinuesAtRung(at_rung, loss, input.options.eta)) {
        ++result.promotions;
        release = false;
        event_for(lane, target + 1);
      } else {
        ++result.stops;
      }
    }
    if (release) {
      result.held_card_s += cards[lane] * (now - start_s[lane]);
      free_cards += cards[lane];
      start_more();
    }
  }
  result.makespan_s = now;
  result.mean_queue_s = lanes > 0 ? total_queue / lanes : 0;
  return result;
}

}  // namespace kachi::lanes
