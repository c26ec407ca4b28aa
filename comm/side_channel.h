// The side channel: a TCP connection between every pair of ranks of the job, outside MPI, served by one thread per
// process. It keeps working while MPI is stuck in a collective, so a rank whose deadline fires can ask every other
// rank for its flight record (comm/flight_recorder.h), and it tells at once when a peer process dies (its socket
// closes without a goodbye). Started by InitMpi (collective over MPI_COMM_WORLD; KACHI_SIDE_CHANNEL=0 turns it
// off), stopped by FinalizeMpi (goodbye to every peer) or at exit. Addresses: each rank listens on an ephemeral
// port of every IPv4 interface and publishes its host name and non-loopback addresses (KACHI_SIDE_CHANNEL_ADDR
// overrides them); peers on the same host connect over loopback.
#ifndef KACHI_COMM_SIDE_CHANNEL_H_
#define KACHI_COMM_SIDE_CHANNEL_H_

#include <mpi.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace kachi {

// Collective over `world`: connects every pair of ranks. On failure (on any rank) every rank returns the error and
// the channel stays off (the job runs without it).
absl::Status StartSideChannel(MPI_Comm world);
// Says goodbye to every peer and stops the thread (idempotent; safe when never started).
void StopSideChannel();
// True between a successful start and the stop.
bool SideChannelRunning();

// This rank, the number of ranks and every rank's host name (world order), once running.
int SideChannelRank();
std::vector<std::string> SideChannelHosts();

// What a query learned about one peer.
struct PeerAnswer {
  enum State { kAnswered, kSilent, kDead, kLeft };
  int rank = 0;
  State state = kSilent;  // kSilent: connected but no answer in time (stopped or unreachable)
  std::string record;     // its flight record text when answered
};

// Asks every peer still connected for its flight record, waiting at most `timeout`; one entry per other rank.
std::vector<PeerAnswer> QueryPeers(absl::Duration timeout);

// Sets what runs (on the channel's thread) when peers die without a goodbye: called once, with every dead rank so
// far, as soon as every dead rank's host has no live rank left, else about 200 ms after the first death (so that
// every rank of a lost host is seen). Not called once a peer
// has announced that it ends the job (an abort) or has said goodbye.
void SetPeerLossHandler(std::function<void(const std::vector<int>& dead)> handler);

// Tells every peer that this rank is about to end the job (so they do not report it as lost).
void AnnounceAbort();

}  // namespace kachi

#endif  // KACHI_COMM_SIDE_CHANNEL_H_
