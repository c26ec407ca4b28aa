// A small MPI program for the shell-driven deadline tests: every rank runs all-reduces of 1 Mi fp32 (4194304
// bytes) on the world communicator; at collective #5 one rank misbehaves:
//   deadline_probe skip <rank> <deadline_s>  the rank skips #5 and sleeps (the others' watchdogs must end the job)
//   deadline_probe kill <rank> <deadline_s>  the rank kills itself with SIGKILL (mpirun must end the job)
//   deadline_probe stop <rank> <deadline_s>  the rank stops itself with SIGSTOP (answers nothing any more)
//   deadline_probe grid <rank> <deadline_s>  as stop, but each step is an all-reduce on "world/tp" (pairs of
//                                            neighbours) then one on "world/dp" (ranks of the same pair slot)
// Exits 0 only if every collective completed, which the tests treat as a failure.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <memory>
#include <string>
#include <vector>

#include "comm/mpi_communicator.h"

namespace {

constexpr size_t kCount = size_t{1} << 20;
constexpr int kBadSequence = 5;
constexpr int kCollectives = 8;

int Usage() {
  std::fprintf(stderr, "usage: deadline_probe skip|kill|stop|grid <rank> <deadline_s>\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return Usage();
  const std::string mode = argv[1];
  const int victim = std::atoi(argv[2]);
  const double deadline_s = std::atof(argv[3]);
  if ((mode != "skip" && mode != "kill" && mode != "stop" && mode != "grid") || deadline_s <= 0) return Usage();
  if (auto s = kachi::InitMpi(&argc, &argv); !s.ok()) {
    std::fprintf(stderr, "deadline_probe: %s\n", s.ToString().c_str());
    return 3;
  }
  kachi::CommOptions options;
  options.deadline = absl::Seconds(deadline_s);
  auto comm = kachi::CreateMpiCommunicator(MPI_COMM_WORLD, options);
  if (!comm.ok()) {
    std::fprintf(stderr, "deadline_probe: %s\n", comm.status().ToString().c_str());
    return 3;
  }
  const int rank = (*comm)->rank();
  std::unique_ptr<kachi::Communicator> tp, dp;
  if (mode == "grid") {
    auto tp_or = (*comm)->Split(rank / 2, rank, "world/tp");
    auto dp_or = (*comm)->Split(rank % 2, rank, "world/dp");
    if (!tp_or.ok() || !dp_or.ok()) return 3;
    tp = *std::move(tp_or);
    dp = *std::move(dp_or);
  }
  std::mt19937 gen(1234 + rank);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> send(kCount), recv(kCount);
  for (float& v : send) v = dist(gen);
  for (int i = 0; i < kCollectives; ++i) {
    if (i == kBadSequence && rank == victim) {
      std::fprintf(stderr, "deadline_probe: rank %d %s collective #%d\n", rank,
                   mode == "skip" ? "skips" : mode == "kill" ? "kills itself at" : "stops itself at", i);
      std::fflush(stderr);
      if (mode == "kill") std::raise(SIGKILL);
      if (mode == "stop" || mode == "grid") std::raise(SIGSTOP);
      sleep(120);  // the other ranks' watchdogs must end the job long before this
      return 0;
    }
    absl::Status s = absl::OkStatus();
    if (mode == "grid") {
      s = tp->AllReduce(send.data(), recv.data(), kCount, kachi::DType::kFloat32, kachi::ReduceOp::kSum);
      if (s.ok()) s = dp->AllReduce(send.data(), recv.data(), kCount, kachi::DType::kFloat32, kachi::ReduceOp::kSum);
    } else {
      s = (*comm)->AllReduce(send.data(), recv.data(), kCount, kachi::DType::kFloat32, kachi::ReduceOp::kSum);
    }
    if (!s.ok()) {
      std::fprintf(stderr, "deadline_probe: rank %d: %s\n", rank, s.ToString().c_str());
      return 4;
    }
  }
  std::fprintf(stderr, "deadline_probe: rank %d completed every collective\n", rank);
  tp.reset();
  dp.reset();
  comm->reset();
  kachi::FinalizeMpi();
  return 0;
}
