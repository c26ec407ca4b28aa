// The MPI backend of Communicator (see mpi_communicator.h): host buffers go straight to MPI
// (mpi_host_collectives.h); device buffers are staged through pinned host memory (device_staging.h). Each
// communicator also owns a control communicator for the watchdog's peer-status queries (mpi_peer_status.h).
#include "comm/mpi_communicator.h"

#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "comm/device_staging.h"
#include "comm/comm_record.h"
#include "comm/flight_recorder.h"
#include "comm/mpi_host_collectives.h"
#include "comm/mpi_peer_status.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

// Communicator over an owned MPI communicator (plus its control communicator for peer-status queries).
class MpiCommunicator final : public Communicator {
 public:
  // Takes ownership of `comm` and `control` (both freed on destruction).
  MpiCommunicator(MPI_Comm comm, MPI_Comm control, CommOptions options) : Communicator(std::move(options)) {
    group_.comm = comm;
    control_ = control;
    MPI_Comm_rank(comm, &group_.rank);
    MPI_Comm_size(comm, &group_.size);
    progress_ = std::make_shared<PeerProgress>();
    RegisterPeerStatus(control_, options_.name, group_.rank, group_.size, progress_);
    RecordCommunicator(options_.name, MpiWorldRanks(comm), progress_);
  }

  ~MpiCommunicator() override {
    ForgetCommunicator(progress_.get());
    UnregisterPeerStatus(control_);
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) {
      MPI_Comm_free(&control_);
      MPI_Comm_free(&group_.comm);
    }
  }

  int rank() const override { return group_.rank; }
  int size() const override { return group_.size; }
  absl::string_view backend() const override { return "mpi"; }
  bool wants_device_buffers() const override { return false; }
  // Collectives are synchronous (and may stage device buffers through the host): block on the event.
  absl::Status WaitEvent(void* cuda_event) override { return WaitForCudaEvent(cuda_event); }

  MPI_Comm comm() const { return group_.comm; }

 protected:
  absl::Status DoAllReduce(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) override {
    ProgressScope scope(*progress_, sequence() - 1, CollectiveKind::kAllReduce);
    const size_t bytes = count * DTypeSize(dtype);
    const bool send_on_device = IsDeviceMemory(send);
    const bool recv_on_device = send == recv ? send_on_device : IsDeviceMemory(recv);
    if (!send_on_device && !recv_on_device) {
      return MpiHostAllReduce(group_, send, recv, count, dtype, op, scratch_);
    }
    void* host_recv = recv;
    if (recv_on_device) {
      KACHI_RETURN_IF_ERROR(recv_stage_.Reserve(bytes));
      host_recv = recv_stage_.data();
    }
    const void* host_send = send;
    if (send == recv) {
      KACHI_RETURN_IF_ERROR(CopyDeviceToHost(host_recv, recv, bytes));
      host_send = host_recv;
    } else if (send_on_device) {
      KACHI_RETURN_IF_ERROR(StageIn(send_stage_, send, bytes, &host_send));
    }
    KACHI_RETURN_IF_ERROR(MpiHostAllReduce(group_, host_send, host_recv, count, dtype, op, scratch_));
    return recv_on_device ? CopyHostToDevice(recv, host_recv, bytes) : absl::OkStatus();
  }

  absl::Status DoReduceScatter(const void* send, void* recv, size_t recv_count, DType dtype,
                               ReduceOp op) override {
    ProgressScope scope(*progress_, sequence() - 1, CollectiveKind::kReduceScatter);
    const size_t recv_bytes = recv_count * DTypeSize(dtype);
    const size_t send_bytes = recv_bytes * static_cast<size_t>(group_.size);
    const size_t own_offset = recv_bytes * static_cast<size_t>(group_.rank);
    const bool in_place = static_cast<const char*>(send) + own_offset == static_cast<char*>(recv);
    const bool send_on_device = IsDeviceMemory(send);
    const bool recv_on_device = in_place ? send_on_device : IsDeviceMemory(recv);
    if (!send_on_device && !recv_on_device) {
      return MpiHostReduceScatter(group_, send, recv, recv_count, dtype, op, scratch_);
    }
    const void* host_send = send;
    if (send_on_device) {
      KACHI_RETURN_IF_ERROR(StageIn(send_stage_, send, send_bytes, &host_send));
    }
    void* host_recv = recv;
    if (in_place) {
      host_recv = static_cast<char*>(send_stage_.data()) + own_offset;  // in place on the host copy as well
    } else if (recv_on_device) {
      KACHI_RETURN_IF_ERROR(recv_stage_.Reserve(recv_bytes));
      host_recv = recv_stage_.data();
    }
    KACHI_RETURN_IF_ERROR(MpiHostReduceScatter(group_, host_send, host_recv, recv_count, dtype, op, scratch_));
    return recv_on_device ? CopyHostToDevice(recv, host_recv, recv_bytes) : absl::OkStatus();
  }

  absl::Status DoAllGather(const void* send, void* recv, size_t send_count, DType dtype) override {
    ProgressScope scope(*progress_, sequence() - 1, CollectiveKind::kAllGather);
    const size_t send_bytes = send_count * DTypeSize(dtype);
    const size_t recv_bytes = send_bytes * static_cast<size_t>(group_.size);
    const size_t own_offset = send_bytes * static_cast<size_t>(group_.rank);
    const bool in_place = static_cast<const char*>(recv) + own_offset == static_cast<const char*>(send);
    const bool recv_on_device = IsDeviceMemory(recv);
    const bool send_on_device = in_place ? recv_on_device : IsDeviceMemory(send);
    if (!send_on_device && !recv_on_device) return MpiHostAllGather(group_, send, recv, send_count, dtype);
    void* host_recv = recv;
    if (recv_on_device) {
      KACHI_RETURN_IF_ERROR(recv_stage_.Reserve(recv_bytes));
      host_recv = recv_stage_.data();
    }
    const void* host_send = send;
    if (in_place) {
      host_send = static_cast<char*>(recv_stage_.data()) + own_offset;  // this rank's chunk, in place on the host copy as well
      KACHI_RETURN_IF_ERROR(CopyDeviceToHost(static_cast<char*>(recv_stage_.data()) + own_offset, send, send_bytes));
    } else if (send_on_device) {
      KACHI_RETURN_IF_ERROR(StageIn(send_stage_, send, send_bytes, &host_send));
    }
    KACHI_RETURN_IF_ERROR(MpiHostAllGather(group_, host_send, host_recv, send_count, dtype));
    return recv_on_device ? CopyHostToDevice(recv, host_recv, recv_bytes) : absl::OkStatus();
  }

  absl::Status DoBroadcast(void* buffer, size_t count, DType dtype, int root) override {
    ProgressScope scope(*progress_, sequence() - 1, CollectiveKind::kBroadcast);
    if (!IsDeviceMemory(buffer)) return MpiHostBroadcast(group_, buffer, count, dtype, root);
    const size_t bytes = count * DTypeSize(dtype);
    KACHI_RETURN_IF_ERROR(recv_stage_.Reserve(bytes));
    if (group_.rank == root) {
      KACHI_RETURN_IF_ERROR(CopyDeviceToHost(recv_stage_.data(), buffer, bytes));
    }
    KACHI_RETURN_IF_ERROR(MpiHostBroadcast(group_, recv_stage_.data(), count, dtype, root));
    return group_.rank == root ? absl::OkStatus() : CopyHostToDevice(buffer, recv_stage_.data(), bytes);
  }

  absl::Status DoBarrier() override {
    ProgressScope scope(*progress_, sequence() - 1, CollectiveKind::kBarrier);
    return MpiStatus(MPI_Barrier(group_.comm), "MPI_Barrier");
  }

  absl::StatusOr<std::unique_ptr<Communicator>> DoSplit(int color, int key, CommOptions options) override {
    ProgressScope scope(*progress_, sequence() - 1, CollectiveKind::kSplit);
    MPI_Comm split = MPI_COMM_NULL;
    KACHI_RETURN_IF_ERROR(
        MpiStatus(MPI_Comm_split(group_.comm, color < 0 ? MPI_UNDEFINED : color, key, &split), "MPI_Comm_split"));
    if (split == MPI_COMM_NULL) return std::unique_ptr<Communicator>();
    return Adopt(split, std::move(options));
  }

 public:
  // Wraps `comm` (owned from now on) with a fresh control communicator and MPI_ERRORS_RETURN.
  static absl::StatusOr<std::unique_ptr<Communicator>> Adopt(MPI_Comm comm, CommOptions options) {
    MPI_Comm control = MPI_COMM_NULL;
    if (auto s = MpiStatus(MPI_Comm_dup(comm, &control), "MPI_Comm_dup (control)"); !s.ok()) {
      MPI_Comm_free(&comm);
      return s;
    }
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(control, MPI_ERRORS_RETURN);
    return std::unique_ptr<Communicator>(new MpiCommunicator(comm, control, std::move(options)));
  }

 private:
  // Copies `bytes` of device memory at `device` into `stage` and points `*host` at the copy.
  static absl::Status StageIn(PinnedBuffer& stage, const void* device, size_t bytes, const void** host) {
    KACHI_RETURN_IF_ERROR(stage.Reserve(bytes));
    KACHI_RETURN_IF_ERROR(CopyDeviceToHost(stage.data(), device, bytes));
    *host = stage.data();
    return absl::OkStatus();
  }

  MpiGroup group_;
  MPI_Comm control_ = MPI_COMM_NULL;
  std::shared_ptr<PeerProgress> progress_;
  MpiScratch scratch_;
  PinnedBuffer send_stage_;
  PinnedBuffer recv_stage_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(MPI_Comm comm, CommOptions options) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    return absl::FailedPreconditionError("CreateMpiCommunicator: MPI is not initialized (call InitMpi first)");
  }
  if (comm == MPI_COMM_NULL) return absl::InvalidArgumentError("CreateMpiCommunicator: comm is MPI_COMM_NULL");
  MPI_Comm dup = MPI_COMM_NULL;
  KACHI_RETURN_IF_ERROR(MpiStatus(MPI_Comm_dup(comm, &dup), "MPI_Comm_dup"));
  return MpiCommunicator::Adopt(dup, std::move(options));
}

MPI_Comm MpiCommOf(const Communicator& communicator) {
  const auto* mpi = dynamic_cast<const MpiCommunicator*>(&communicator);
  return mpi != nullptr ? mpi->comm() : MPI_COMM_NULL;
}

}  // namespace kachi
