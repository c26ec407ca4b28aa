// The backend-independent half of Communicator: argument validation, sequence numbers and watchdog registration
// around every collective (see communicator.h).
#include "comm/communicator.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "comm/collective_observer.h"
#include "comm/watchdog.h"
#include "kernels/base/status_macros.h"

namespace kachi {
namespace {

bool ValidDType(DType dtype) {
  for (DType known : kAllDTypes) {
    if (known == dtype) return true;
  }
  return false;
}

bool ValidReduceOp(ReduceOp op) {
  return op == ReduceOp::kSum || op == ReduceOp::kAvg || op == ReduceOp::kMax;
}

absl::Status CheckDType(absl::string_view op_name, DType dtype) {
  if (ValidDType(dtype)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(op_name, ": unknown dtype value ", static_cast<int>(dtype),
                                                 " (expected fp32, bf16, fp16, int32 or int64)"));
}

absl::Status CheckReduceOp(absl::string_view op_name, ReduceOp op) {
  if (ValidReduceOp(op)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(op_name, ": unknown reduce op value ", static_cast<int>(op), " (expected sum, avg or max)"));
}

// Errors when `buffer` is null although it must hold `count` elements.
absl::Status CheckBuffer(absl::string_view op_name, absl::string_view which, const void* buffer, size_t count) {
  if (count == 0 || buffer != nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(op_name, ": ", which, " buffer is null but count is ", count,
                                                 " (expected a buffer of ", count, " elements)"));
}

// Errors when `count` elements of `element_bytes` each (times `multiplier`) overflow size_t.
absl::Status CheckBytes(absl::string_view op_name, size_t count, size_t multiplier, size_t element_bytes) {
  const size_t max = std::numeric_limits<size_t>::max();
  if (count != 0 && (multiplier > max / count || count * multiplier > max / element_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat(op_name, ": ", count, " x ", multiplier, " elements of ", element_bytes, " bytes overflow"));
  }
  return absl::OkStatus();
}

// Errors when [a, a + a_bytes) and [b, b + b_bytes) overlap, except for the exact in-place layout b == a + offset.
absl::Status CheckOverlap(absl::string_view op_name, const void* a, size_t a_bytes, const void* b, size_t b_bytes,
                          size_t in_place_offset, absl::string_view in_place_rule) {
  if (a == nullptr || b == nullptr || a_bytes == 0 || b_bytes == 0) return absl::OkStatus();
  const auto a_begin = reinterpret_cast<uintptr_t>(a);
  const auto b_begin = reinterpret_cast<uintptr_t>(b);
  if (b_begin == a_begin + in_place_offset) return absl::OkStatus();
  if (a_begin < b_begin + b_bytes && b_begin < a_begin + a_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(op_name, ": send and recv buffers overlap but are not in place (",
                                                   in_place_rule, ")"));
  }
  return absl::OkStatus();
}

// The calling thread's observer (SetThreadCollectiveObserver).
thread_local CollectiveObserver* thread_observer = nullptr;

}  // namespace

CollectiveObserver* SetThreadCollectiveObserver(CollectiveObserver* observer) {
  CollectiveObserver* previous = thread_observer;
  thread_observer = observer;
  return previous;
}

absl::string_view CollectiveName(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::kAllReduce: return "all_reduce";
    case CollectiveKind::kReduceScatter: return "reduce_scatter";
    case CollectiveKind::kAllGather: return "all_gather";
    case CollectiveKind::kBroadcast: return "broadcast";
    case CollectiveKind::kBarrier: return "barrier";
    case CollectiveKind::kSplit: return "split";
  }
  return "unknown";
}

Communicator::Communicator(CommOptions options) : options_(std::move(options)) {}

Communicator::~Communicator() = default;

absl::Status Communicator::WaitEvent(void* cuda_event) {
  if (cuda_event == nullptr) return absl::OkStatus();
  return absl::UnimplementedError(absl::StrCat("WaitEvent on communicator '", options_.name, "': backend '",
                                               backend(), "' cannot wait for a CUDA event"));
}

template <typename Body>
absl::Status Communicator::RunCollective(CollectiveKind kind, size_t bytes, Body&& body) {
  CollectiveRecord record;
  record.comm_name = options_.name;
  record.rank = rank();
  record.size = size();
  record.backend = std::string(backend());
  record.kind = kind;
  record.sequence = sequence_++;  // during body(), sequence() - 1 is this collective's number
  record.bytes = bytes;
  record.started = absl::Now();
  record.deadline = record.started + options_.deadline;
  Watchdog& watchdog = Watchdog::Get();
  const uint64_t token = watchdog.Begin(record);
  absl::Status status = body();
  if (!status.ok() || !TrackAsync(token)) watchdog.End(token);
  if (thread_observer != nullptr) {
    thread_observer->OnCollective(kind, options_.name, record.size, bytes, record.started, absl::Now());
  }
  return status;
}

absl::Status Communicator::AllReduce(const void* send, void* recv, size_t count, DType dtype, ReduceOp op) {
  constexpr absl::string_view kOp = "all_reduce";
  KACHI_RETURN_IF_ERROR(CheckDType(kOp, dtype));
  KACHI_RETURN_IF_ERROR(CheckReduceOp(kOp, op));
  KACHI_RETURN_IF_ERROR(CheckBuffer(kOp, "send", send, count));
  KACHI_RETURN_IF_ERROR(CheckBuffer(kOp, "recv", recv, count));
  KACHI_RETURN_IF_ERROR(CheckBytes(kOp, count, 1, DTypeSize(dtype)));
  const size_t bytes = count * DTypeSize(dtype);
  KACHI_RETURN_IF_ERROR(CheckOverlap(kOp, send, bytes, recv, bytes, 0, "in place needs recv == send"));
  return RunCollective(CollectiveKind::kAllReduce, bytes,
                       [&] { return DoAllReduce(send, recv, count, dtype, op); });
}

absl::Status Communicator::ReduceScatter(const void* send, void* recv, size_t recv_count, DType dtype,
                                         ReduceOp op) {
  constexpr absl::string_view kOp = "reduce_scatter";
  KACHI_RETURN_IF_ERROR(CheckDType(kOp, dtype));
  KACHI_RETURN_IF_ERROR(CheckReduceOp(kOp, op));
  KACHI_RETURN_IF_ERROR(CheckBuffer(kOp, "send", send, recv_count));
  KACHI_RETURN_IF_ERROR(CheckBuffer(kOp, "recv", recv, recv_count));
  KACHI_RETURN_IF_ERROR(CheckBytes(kOp, recv_count, static_cast<size_t>(size()), DTypeSize(dtype)));
  const size_t recv_bytes = recv_count * DTypeSize(dtype);
  const size_t send_bytes = recv_bytes * static_cast<size_t>(size());
  KACHI_RETURN_IF_ERROR(CheckOverlap(kOp, send, send_bytes, recv, recv_bytes, recv_bytes * static_cast<size_t>(rank()),
                                     "in place needs recv == send + rank * recv_count"));
  return RunCollective(CollectiveKind::kReduceScatter, send_bytes,
                       [&] { return DoReduceScatter(send, recv, recv_count, dtype, op); });
}

absl::Status Communicator::AllGather(const void* send, void* recv, size_t send_count, DType dtype) {
  constexpr absl::string_view kOp = "all_gather";
  KACHI_RETURN_IF_ERROR(CheckDType(kOp, dtype));
  KACHI_RETURN_IF_ERROR(CheckBuffer(kOp, "send", send, send_count));
  KACHI_RETURN_IF_ERROR(CheckBuffer(kOp, "recv", recv, send_count));
  KACHI_RETURN_IF_ERROR(CheckBytes(kOp, send_count, static_cast<size_t>(size()), DTypeSize(dtype)));
  const size_t send_bytes = send_count * DTypeSize(dtype);
  const size_t recv_bytes = send_bytes * static_cast<size_t>(size());
  KACHI_RETURN_IF_ERROR(CheckOverlap(kOp, recv, recv_bytes, send, send_bytes, send_bytes * static_cast<size_t>(rank()),
                                     "in place needs send == recv + rank * send_count"));
  return RunCollective(CollectiveKind::kAllGather, send_bytes,
                       [&] { return DoAllGather(send, recv, send_count, dtype); });
}

absl::Status Communicator::Broadcast(void* buffer, size_t count, DType dtype, int root) {
  constexpr absl::string_view kOp = "broadcast";
  KACHI_RETURN_IF_ERROR(CheckDType(kOp, dtype));
  KACHI_RETURN_IF_ERROR(CheckBuffer(kOp, "data", buffer, count));
  KACHI_RETURN_IF_ERROR(CheckBytes(kOp, count, 1, DTypeSize(dtype)));
  if (root < 0 || root >= size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kOp, ": root ", root, " is out of range (expected 0 <= root < ", size(), ")"));
  }
  return RunCollective(CollectiveKind::kBroadcast, count * DTypeSize(dtype),
                       [&] { return DoBroadcast(buffer, count, dtype, root); });
}

absl::Status Communicator::Barrier() {
  return RunCollective(CollectiveKind::kBarrier, 0, [&] { return DoBarrier(); });
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Split(int color, int key) {
  return Split(color, key, absl::StrCat(options_.name, "/split", color));
}

absl::StatusOr<std::unique_ptr<Communicator>> Communicator::Split(int color, int key, std::string name) {
  CommOptions options = options_;
  options.name = std::move(name);
  std::unique_ptr<Communicator> result;
  absl::Status status = RunCollective(CollectiveKind::kSplit, 0, [&]() -> absl::Status {
    KACHI_ASSIGN_OR_RETURN(result, DoSplit(color, key, std::move(options)));
    return absl::OkStatus();
  });
  KACHI_RETURN_IF_ERROR(status);
  return result;
}

}  // namespace kachi
