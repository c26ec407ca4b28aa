// Entry points of kachi's subcommands, dispatched by launcher/main.cc. Each receives the positional arguments that
// follow the subcommand name (absl flags are already parsed) and returns the process exit code. Commands that need
// MPI or a communicator start them through launcher/bootstrap.h.
#ifndef KACHI_LAUNCHER_COMMANDS_H_
#define KACHI_LAUNCHER_COMMANDS_H_

#include <string>
#include <vector>

namespace kachi {

// `kachi version`: version, build type, CUDA/NCCL/MPI/protobuf versions compiled in.
int VersionCommand(const std::vector<std::string>& args);
// `kachi env`: one line per rank (rank, world, local rank, node, device, backend), gathered to rank 0.
int EnvCommand(const std::vector<std::string>& args);
// `kachi bench comm|...`: benchmarks printed beside their peer (bench/).
int BenchCommand(const std::vector<std::string>& args);
// `kachi bench scaling`: the model on sub-worlds of 1, 2, 4, ... ranks, measured, modeled and projected
// (launcher/cmd_bench_scaling.cc, bench/scaling/).
int ScalingBenchCommand(const std::vector<std::string>& args);
// `kachi train [CONFIG.pbtxt]`: trains a GPT over the job's ranks as a dp x tp grid (launcher/cmd_train.cc).
int TrainCommand(const std::vector<std::string>& args);
// `kachi plan [CONFIG] --hosts H --ranks_per_host P`: the largest layout that fits (elastic restarts).
int PlanCommand(const std::vector<std::string>& args);
// `kachi sample WEIGHTS.safetensors`: generates text from trained weights on one process (launcher/cmd_sample.cc).
int SampleCommand(const std::vector<std::string>& args);
// `kachi eval WEIGHTS --data GLOB [--windows N] [--logits OUT]`: loss, perplexity and logits of given weights over
// token shards, windows split across the job's ranks (launcher/cmd_eval.cc).
int EvalCommand(const std::vector<std::string>& args);
// `kachi data --out DIR FILE...`: text files to byte-level token shards (launcher/data_command.h).
int DataCommand(const std::vector<std::string>& args);
// `kachi ckpt inspect DIR | export DIR --safetensors OUT`: checkpoint tools, one process (launcher/cmd_ckpt.cc).
int CkptCommand(const std::vector<std::string>& args);
// `kachi lanes --simulate [LANES.pbtxt]`: the lane policy on simulated lanes beside its baselines
// (launcher/cmd_lanes.cc).
int LanesCommand(const std::vector<std::string>& args);

}  // namespace kachi

#endif  // KACHI_LAUNCHER_COMMANDS_H_
