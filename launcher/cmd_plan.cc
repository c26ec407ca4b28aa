// `kachi plan [CONFIG.pbtxt] --hosts H --ranks_per_host P [--set ...]`: the largest layout of the run that fits H
// hosts of P ranks (runtime/train/world_plan.h), printed as one line ("ranks 6 hosts 3 dp 3 tp 2 micro_batch 4
// accumulation 1") for scripts/kachi-elastic.sh and launcher/slurm/train.sbatch, which restart a job on the hosts
// left after one is lost. Starts no MPI; exits 1 when nothing fits.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "launcher/commands.h"
#include "launcher/flags.h"
#include "runtime/train/world_plan.h"

ABSL_FLAG(int, hosts, 1, "kachi plan: hosts available");
ABSL_FLAG(int, ranks_per_host, 1, "kachi plan: ranks (slots) per host");

namespace kachi {

int PlanCommand(const std::vector<std::string>& args) {
  if (args.size() > 1) {
    std::fprintf(stderr, "usage: kachi plan [CONFIG.pbtxt] --hosts H --ranks_per_host P [--set field=value ...]\n");
    return 2;
  }
  if (!args.empty()) absl::SetFlag(&FLAGS_config, args[0]);
  absl::StatusOr<config::KachiConfig> config = ConfigFromFlags();
  if (!config.ok()) {
    std::fprintf(stderr, "kachi plan: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  WorldPlanInput input;
  input.hosts = absl::GetFlag(FLAGS_hosts);
  input.ranks_per_host = absl::GetFlag(FLAGS_ranks_per_host);
  input.tp = config->parallel().tp() > 0 ? config->parallel().tp() : 1;
  input.global_batch = config->train().global_batch();
  input.micro_batch = config->train().micro_batch();
  input.eval_windows = config->train().eval_windows();
  absl::StatusOr<WorldPlan> plan = PlanWorld(input);
  if (!plan.ok()) {
    std::fprintf(stderr, "kachi plan: %s\n", std::string(plan.status().message()).c_str());
    return 1;
  }
  std::printf("%s\n", WorldPlanLine(*plan, input.global_batch).c_str());
  return 0;
}

}  // namespace kachi
