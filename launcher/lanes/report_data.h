// The input of the lanes report (launcher/lanes/report.h): each lane's loss curve and final status, and which lane
// held which card when. The lane executor and the simulator fill it; WriteLanesReport turns it into HTML/SVG.
#ifndef KACHI_LAUNCHER_LANES_REPORT_DATA_H_
#define KACHI_LAUNCHER_LANES_REPORT_DATA_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kachi::lanes {

// One lane's loss curve and how it ended.
struct LaneSeries {
  // The lane's name as the lanes file (or the search expansion) gave it; shown in legends (HTML-escaped).
  std::string name;
  // How the lane ended or stands: "finished", "stopped", "paused", "running" (anything else is drawn as running).
  std::string status;
  // (optimizer step, loss) measurements in increasing step order; steps >= 1 (the x axis is logarithmic).
  std::vector<std::pair<int64_t, double>> points;
};

// One span of time during which one lane held one card (training, checkpointing or restoring on it).
struct CardInterval {
  // The card (pool rank), 0 <= card < LanesReportData::num_cards.
  int card = 0;
  // The lane holding it: an index into LanesReportData::lanes.
  int lane = 0;
  // When the lane took the card and when it gave it back, in seconds since the run began (begin <= end).
  double begin_s = 0;
  double end_s = 0;
};

// Everything the report shows.
struct LanesReportData {
  // The page's title and heading, e.g. the lanes file's name (HTML-escaped).
  std::string title;
  // Every lane, indexed as CardInterval::lane indexes them.
  std::vector<LaneSeries> lanes;
  // Every span a lane held a card, in any order.
  std::vector<CardInterval> intervals;
  // Cards in the pool: the timeline has one row per card.
  int num_cards = 0;
  // Length of the run in seconds: the timeline's x axis spans [0, total_seconds].
  double total_seconds = 0;
};

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_REPORT_DATA_H_
