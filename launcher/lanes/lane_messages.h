// The lanes control protocol's tags and ranks on the control channel (comm/control_channel.h); the messages
// themselves are LanesAssignment (coordinator -> worker) and LanesWorkerMessage (worker -> coordinator) in
// runtime/proto/lanes.proto.
#ifndef KACHI_LAUNCHER_LANES_LANE_MESSAGES_H_
#define KACHI_LAUNCHER_LANES_LANE_MESSAGES_H_

namespace kachi::lanes {

// The world rank whose coordinator thread owns the policy and the journal.
inline constexpr int kCoordinatorRank = 0;
// Tag of LanesAssignment messages (to a worker).
inline constexpr int kAssignmentTag = 1;
// Tag of LanesWorkerMessage messages (to the coordinator).
inline constexpr int kWorkerTag = 2;

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_LANE_MESSAGES_H_
