// The suite set-up of the multi-rank training tests (run under mpirun -np N): MPI_COMM_WORLD as a communicator named
// "world" with a 120 s deadline (a stuck peer fails the collective instead of hanging the test) and a directory of
// skewed random tokens that rank 0 writes and every rank reads (SharedSkewedTokenDir), removed by rank 0 once every
// rank is done with it.
#ifndef KACHI_TESTS_TRAIN_SHARED_DATA_WORLD_H_
#define KACHI_TESTS_TRAIN_SHARED_DATA_WORLD_H_

#include <mpi.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "comm/communicator.h"
#include "comm/mpi_communicator.h"
#include "kernels/base/status_macros.h"
#include "tests/train/train_test_util.h"

namespace kachi::testing {

// The world and the shared data directory, created and removed together.
class SharedDataWorld {
 public:
  // Collective over MPI_COMM_WORLD: the world, then SharedSkewedTokenDir(world, prefix, vocab, seed) (20000 tokens
  // in /tmp/PREFIX_<rank 0's pid>; a fresh TestDataSeed() when no seed is given). Errors: the communicator's, or
  // Internal when the directory could not be shared (a test failure says why).
  static absl::StatusOr<std::unique_ptr<SharedDataWorld>> Create(const std::string& prefix, int64_t vocab,
                                                                 std::optional<uint32_t> seed = std::nullopt) {
    KACHI_ASSIGN_OR_RETURN(std::unique_ptr<Communicator> world,
                           CreateMpiCommunicator(MPI_COMM_WORLD, CommOptions{absl::Seconds(120), "world"}));
    std::string data_dir = SharedSkewedTokenDir(*world, prefix, vocab, seed);
    if (data_dir.empty()) return absl::InternalError(absl::StrCat("no shared token directory ", prefix));
    return std::unique_ptr<SharedDataWorld>(new SharedDataWorld(std::move(world), std::move(data_dir)));
  }

  SharedDataWorld(const SharedDataWorld&) = delete;
  SharedDataWorld& operator=(const SharedDataWorld&) = delete;
  // Collective: waits for every rank (MPI_Barrier on MPI_COMM_WORLD), then rank 0 removes the data directory.
  ~SharedDataWorld() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_->rank() == 0) std::filesystem::remove_all(data_dir_);
  }

  // Every rank of the job.
  Communicator& world() const { return *world_; }
  // The directory holding train_000000.bin.
  const std::string& data_dir() const { return data_dir_; }

 private:
  SharedDataWorld(std::unique_ptr<Communicator> world, std::string data_dir)
      : world_(std::move(world)), data_dir_(std::move(data_dir)) {}

  std::unique_ptr<Communicator> world_;
  std::string data_dir_;
};

}  // namespace kachi::testing

#endif  // KACHI_TESTS_TRAIN_SHARED_DATA_WORLD_H_
