// The sweep of `kachi bench comm` (see comm_bench.h).
#include "bench/comm/comm_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bench/comm/bench_buffer.h"
#include "bench/comm/bench_peer.h"
#include "bench/comm/bench_stats.h"
#include "bench/comm/bench_table.h"
#include "bench/comm/collective_bench.h"
#include "bench/comm/input_pattern.h"

namespace kachi {
namespace {

// Seed of the input pattern (fixed so runs are comparable; the pattern differs per rank and element).
constexpr uint64_t kPatternSeed = 20261122;
// Sizes from here on count towards the summary's ratio line.
constexpr size_t kLargeMessageBytes = 1 << 20;

// True on every rank when `ok` holds on every rank.
bool OnAllRanks(bool ok, MPI_Comm control) {
  int local = ok ? 1 : 0;
  int all = 0;
  MPI_Allreduce(&local, &all, 1, MPI_INT, MPI_MIN, control);
  return all == 1;
}

// Times `iters` calls of `call` (then waits for the backend) on every rank and returns the slowest rank's time per
// call in microseconds. A failure on any rank fails on every rank.
absl::StatusOr<double> TimeCalls(const BenchPeer& peer, int iters, const std::function<absl::Status()>& call) {
  MPI_Barrier(peer.control());
  const auto start = std::chrono::steady_clock::now();
  absl::Status status;
  for (int i = 0; i < iters && status.ok(); ++i) status = call();
  if (status.ok()) status = peer.Wait();
  const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
  double local[2] = {elapsed.count() / iters, status.ok() ? 0.0 : 1.0};
  double slowest[2] = {0, 0};
  MPI_Allreduce(local, slowest, 2, MPI_DOUBLE, MPI_MAX, peer.control());
  if (!status.ok()) return status;
  if (slowest[1] > 0) return absl::AbortedError("a benchmark call failed on another rank (see its message)");
  return slowest[0];
}

// One (collective, dtype) table.
class Section {
 public:
  Section(Communicator& world, const BenchPeer& peer, const CollectiveBench& bench, DType dtype,
          const CommBenchOptions& options, std::ostream& out)
      : world_(world), peer_(peer), bench_(bench), dtype_(dtype), options_(options), out_(out) {}

  // Measures every size; `checks_failed` is set when a result check failed.
  absl::Status Run(bool* checks_failed);

 private:
  // Runs `call` once and compares this rank's result with the host reference; the message names what is wrong.
  absl::Status CheckOnce(const BenchCall& call, const BenchShape& shape, const std::function<absl::Status()>& run);
  bool printing() const { return world_.rank() == 0; }

  Communicator& world_;
  const BenchPeer& peer_;
  const CollectiveBench& bench_;
  const DType dtype_;
  const CommBenchOptions& options_;
  std::ostream& out_;
  BenchBuffer* send_ = nullptr;
  BenchBuffer* recv_ = nullptr;
  std::vector<uint8_t> input_;
};

absl::Status Section::CheckOnce(const BenchCall& call, const BenchShape& shape,
                                const std::function<absl::Status()>& run) {
  if (bench_.input_in_recv()) {
    absl::Status status = recv_->Upload(input_);
    if (!status.ok()) return status;
  }
  absl::Status status = run();
  if (status.ok()) status = peer_.Wait();
  if (!status.ok()) return status;
  absl::StatusOr<std::vector<uint8_t>> result = recv_->Download(shape.recv_count * DTypeSize(dtype_));
  if (!result.ok()) return result.status();
  const bool approximate = bench_.reduces() && call.op == ReduceOp::kAvg;
  return CompareWithExpected(dtype_, *result, shape.recv_count, approximate,
                             [&](size_t i) { return bench_.Expected(call, kPatternSeed, i); });
}

absl::Status Section::Run(bool* checks_failed) {
  const int ranks = world_.size();
  const size_t width = DTypeSize(dtype_);
  const std::vector<size_t> sizes = SweepSizes(options_);
  BenchShape largest;
  for (size_t bytes : sizes) {
    const BenchShape shape = bench_.Shape(bytes, dtype_, ranks);
    largest.send_count = std::max(largest.send_count, shape.send_count);
    largest.recv_count = std::max(largest.recv_count, shape.recv_count);
  }
  absl::StatusOr<BenchBuffer> send = BenchBuffer::Allocate(largest.send_count * width, peer_.device_buffers());
  if (!send.ok()) return send.status();
  absl::StatusOr<BenchBuffer> recv = BenchBuffer::Allocate(largest.recv_count * width, peer_.device_buffers());
  if (!recv.ok()) return recv.status();
  send_ = &*send;
  recv_ = &*recv;
  input_ = EncodePattern(dtype_, kPatternSeed, world_.rank(),
                         bench_.input_in_recv() ? largest.recv_count : largest.send_count);
  absl::Status status = (bench_.input_in_recv() ? recv_ : send_)->Upload(input_);
  if (!status.ok()) return status;

  const std::string redop = bench_.reduces() ? std::string(ReduceOpName(options_.op)) : "-";
  if (printing()) {
    out_ << absl::StrFormat("#\n# %s %s  (busbw = algbw * %s = algbw * %.3f)\n", CollectiveName(bench_.kind()),
                            DTypeName(dtype_), bench_.BusFactorFormula(), bench_.BusFactor(ranks))
         << TableColumns(peer_.raw_name()) << "\n";
    out_.flush();
  }
  bool raw_probed = false;
  bool raw_available = true;
  double worst_large_ratio = 0;
  int large_sizes = 0;
  double busbw_sum = 0;
  int rows = 0;
  for (size_t bytes : sizes) {
    const BenchShape shape = bench_.Shape(bytes, dtype_, ranks);
    if (shape.call_count == 0) continue;
    BenchCall call;
    call.send = send_->data();
    call.recv = recv_->data();
    call.count = shape.call_count;
    call.dtype = dtype_;
    call.op = options_.op;
    call.root = 0;
    call.rank = world_.rank();
    call.ranks = ranks;
    const std::function<absl::Status()> kachi = [&] { return bench_.RunKachi(world_, call); };
    const std::function<absl::Status()> raw = [&] { return peer_.RunRaw(bench_, call); };

    if (!raw_probed) {  // whether the raw peer has this call depends only on dtype and op: the same on every rank
      raw_probed = true;
      absl::Status probe = raw();
      if (absl::IsUnimplemented(probe)) {
        raw_available = false;
      } else if (!probe.ok()) {
        return probe;
      }
      status = peer_.Wait();
      if (!status.ok()) return status;
    }
    if (options_.warmup_iters > 0) {
      absl::StatusOr<double> warm = TimeCalls(peer_, options_.warmup_iters, kachi);
      if (!warm.ok()) return warm.status();
      if (raw_available) {
        warm = TimeCalls(peer_, options_.warmup_iters, raw);
        if (!warm.ok()) return warm.status();
      }
    }
    std::vector<double> kachi_samples;
    std::vector<double> raw_samples;
    for (int repeat = 0; repeat < options_.repeats; ++repeat) {
      for (int turn = 0; turn < 2; ++turn) {
        const bool kachi_turn = (turn == 0) == (repeat % 2 == 0);
        if (!kachi_turn && !raw_available) continue;
        absl::StatusOr<double> us = TimeCalls(peer_, options_.iters, kachi_turn ? kachi : raw);
        if (!us.ok()) return us.status();
        (kachi_turn ? kachi_samples : raw_samples).push_back(*us);
      }
    }

    BenchRow row;
    row.bytes = shape.size_count * width;
    row.count = shape.size_count;
    row.dtype = dtype_;
    row.redop = redop;
    row.kachi_us = Median(kachi_samples);
    row.raw_us = raw_available ? Median(raw_samples) : -1;
    row.bus_factor = bench_.BusFactor(ranks);
    row.check = "-";
    if (options_.check) {
      absl::Status check = CheckOnce(call, shape, kachi);
      if (check.ok() && raw_available) {
        check = CheckOnce(call, shape, raw);
        if (!check.ok()) check = absl::Status(check.code(), absl::StrCat("raw ", peer_.raw_name(), ": ", check.message()));
      } else if (!check.ok()) {
        check = absl::Status(check.code(), absl::StrCat("kachi: ", check.message()));
      }
      if (!check.ok()) {
        std::fprintf(stderr, "kachi bench comm: rank %d: %s %s %zu bytes: result check failed: %s\n", world_.rank(),
                     std::string(CollectiveName(bench_.kind())).c_str(), std::string(DTypeName(dtype_)).c_str(),
                     row.bytes, std::string(check.message()).c_str());
      }
      const bool ok = OnAllRanks(check.ok(), peer_.control());
      row.check = ok ? "ok" : "FAIL";
      if (!ok) *checks_failed = true;
    }
    if (printing()) {
      out_ << FormatRow(row) << "\n";
      out_.flush();
    }
    ++rows;
    busbw_sum += Bandwidth(row.bytes, row.kachi_us) * row.bus_factor;
    if (row.bytes >= kLargeMessageBytes && row.raw_us > 0) {
      ++large_sizes;
      worst_large_ratio = std::max(worst_large_ratio, row.kachi_us / row.raw_us);
    }
  }
  if (printing()) {
    out_ << absl::StrFormat("# %s %s: average kachi busbw %.3f GB/s over %d sizes", CollectiveName(bench_.kind()),
                            DTypeName(dtype_), rows > 0 ? busbw_sum / rows : 0.0, rows);
    if (large_sizes > 0) {
      out_ << absl::StrFormat("; worst kachi/%s ratio at >= 1 MiB: %.3f over %d sizes", peer_.raw_name(),
                              worst_large_ratio, large_sizes);
    }
    out_ << "\n";
    out_.flush();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunCommBench(Communicator& world, MPI_Comm control, const CommBenchOptions& options, std::ostream& out) {
  absl::Status status = ValidateCommBenchOptions(options);
  if (!status.ok()) return status;
  absl::StatusOr<BenchPeer> peer = BenchPeer::For(world, control);
  if (!peer.ok()) return peer.status();
  if (world.rank() == 0) {
    std::vector<std::string> collectives;
    for (CollectiveKind kind : options.collectives) collectives.emplace_back(CollectiveName(kind));
    std::vector<std::string> dtypes;
    for (DType dtype : options.dtypes) dtypes.emplace_back(DTypeName(dtype));
    out << absl::StrFormat(
        "# kachi bench comm: backend %s, %d ranks, collectives %s, dtypes %s, op %s, sizes %u..%u B (x%u), "
        "warmup %d, iters %d, repeats %d, check %s\n",
        world.backend(), world.size(), absl::StrJoin(collectives, ","), absl::StrJoin(dtypes, ","),
        ReduceOpName(options.op), options.min_bytes, options.max_bytes, options.step_factor, options.warmup_iters,
        options.iters, options.repeats, options.check ? "on" : "off");
    out << absl::StrFormat(
        "# times: microseconds per call on the slowest rank, median of %d repeats; kachi and raw %s samples "
        "interleaved on the same buffers (out of place; broadcast in place from rank 0)\n",
        options.repeats, peer->raw_name());
    out.flush();
  }
  bool checks_failed = false;
  for (CollectiveKind kind : options.collectives) {
    std::unique_ptr<CollectiveBench> bench = NewCollectiveBench(kind);
    if (bench == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("no benchmark for ", CollectiveName(kind)));
    }
    for (DType dtype : options.dtypes) {
      status = Section(world, *peer, *bench, dtype, options, out).Run(&checks_failed);
      if (!status.ok()) {
        return absl::Status(status.code(), absl::StrCat(CollectiveName(kind), " ", DTypeName(dtype), ": ",
                                                        status.message()));
      }
    }
  }
  if (checks_failed) return absl::InternalError("some results differ from the host reference (FAIL rows above)");
  return absl::OkStatus();
}

}  // namespace kachi
