// Rank discovery from launcher environment variables (see discovery.h for the rules on overlapping launchers).
#include "launcher/discovery.h"

#include <unistd.h>

#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "kernels/base/status_macros.h"

extern char** environ;

namespace kachi {
namespace {

// What one launcher's variables say about this process (a WorldInfo plus where each number came from).
struct Claim {
  WorldInfo world;
  std::string rank_variable;  // e.g. "OMPI_COMM_WORLD_RANK=3", for messages
};

std::optional<std::string> Lookup(const EnvMap& env, absl::string_view name) {
  auto it = env.find(name);
  if (it == env.end()) return std::nullopt;
  return it->second;
}

// The integer value of variable `name`, nullopt when it is not set, an error when it is not an integer >= 0.
absl::StatusOr<std::optional<int>> ReadCount(const EnvMap& env, absl::string_view name) {
  auto text = Lookup(env, name);
  if (!text) return std::optional<int>();
  int value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable ", name, "='", *text, "' is not a non-negative integer"));
  }
  return std::optional<int>(value);
}

// Reads several variables at once; `values` receives them in order.
absl::Status ReadCounts(const EnvMap& env, const std::vector<absl::string_view>& names,
                        std::vector<std::optional<int>>* values) {
  for (absl::string_view name : names) {
    KACHI_ASSIGN_OR_RETURN(std::optional<int> value, ReadCount(env, name));
    values->push_back(value);
  }
  return absl::OkStatus();
}

// "A and B" style list of the variables among `names` whose values are missing.
std::string MissingOf(const std::vector<absl::string_view>& names, const std::vector<std::optional<int>>& values) {
  std::vector<absl::string_view> missing;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!values[i]) missing.push_back(names[i]);
  }
  return absl::StrJoin(missing, ", ");
}

// OpenMPI's mpirun: OMPI_COMM_WORLD_{RANK,SIZE} (required together), LOCAL_{RANK,SIZE}.
absl::StatusOr<std::optional<Claim>> ReadOpenMpi(const EnvMap& env, absl::string_view host) {
  const std::vector<absl::string_view> names = {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE",
                                                "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"};
  std::vector<std::optional<int>> v;
  KACHI_RETURN_IF_ERROR(ReadCounts(env, names, &v));
  if (!v[0] && !v[1] && !v[2] && !v[3]) return std::optional<Claim>();
  if (!v[0] || !v[1]) {
    return absl::InvalidArgumentError(absl::StrCat("OpenMPI launch variables are incomplete: ",
                                                   MissingOf({names[0], names[1]}, {v[0], v[1]}),
                                                   " missing while other OMPI_COMM_WORLD_* are set"));
  }
  Claim claim;
  claim.world = {*v[0], *v[1], v[2].value_or(-1), v[3].value_or(-1), -1, std::string(host), "openmpi",
                 "OMPI_COMM_WORLD_SIZE"};
  claim.rank_variable = absl::StrCat("OMPI_COMM_WORLD_RANK=", *v[0]);
  return std::optional<Claim>(claim);
}

// MPICH/Intel MPI (Hydra) PMI: PMI_RANK and PMI_SIZE (required together), MPI_LOCALRANKID/MPI_LOCALNRANKS.
absl::StatusOr<std::optional<Claim>> ReadPmi(const EnvMap& env, absl::string_view host) {
  const std::vector<absl::string_view> names = {"PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"};
  std::vector<std::optional<int>> v;
  KACHI_RETURN_IF_ERROR(ReadCounts(env, names, &v));
  if (!v[0] && !v[1]) return std::optional<Claim>();
  if (!v[0] || !v[1]) {
    return absl::InvalidArgumentError(absl::StrCat("PMI launch variables are incomplete: ",
                                                   MissingOf({names[0], names[1]}, {v[0], v[1]}),
                                                   " missing (PMI_RANK and PMI_SIZE come together)"));
  }
  Claim claim;
  claim.world = {*v[0], *v[1], v[2].value_or(-1), v[3].value_or(-1), -1, std::string(host), "pmi", "PMI_SIZE"};
  claim.rank_variable = absl::StrCat("PMI_RANK=", *v[0]);
  return std::optional<Claim>(claim);
}

// Slurm: an srun step (SLURM_STEP_NUM_TASKS set: SLURM_PROCID is this task's rank in the step) or the batch step
// of an sbatch script (SLURM_PROCID=0; SLURM_NTASKS is the allocation's task count).
struct SlurmClaim {
  Claim claim;
  bool is_step = false;  // true under srun
};

absl::StatusOr<std::optional<SlurmClaim>> ReadSlurm(const EnvMap& env, absl::string_view host) {
  const std::vector<absl::string_view> names = {"SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS",
                                                "SLURM_NPROCS", "SLURM_LOCALID", "SLURM_NODEID"};
  std::vector<std::optional<int>> v;
  KACHI_RETURN_IF_ERROR(ReadCounts(env, names, &v));
  const auto& [procid, step_tasks, ntasks, nprocs, localid, nodeid] =
      std::tie(v[0], v[1], v[2], v[3], v[4], v[5]);
  if (!procid) {
    if (step_tasks) {
      return absl::InvalidArgumentError(
          absl::StrCat("Slurm step variables are incomplete: SLURM_STEP_NUM_TASKS=", *step_tasks,
                       " is set but SLURM_PROCID is missing"));
    }
    return std::optional<SlurmClaim>();
  }
  SlurmClaim out;
  out.is_step = step_tasks.has_value();
  WorldInfo& w = out.claim.world;
  w.source = "slurm";
  w.rank = *procid;
  if (step_tasks) {
    w.world_size = *step_tasks;
    w.size_variable = "SLURM_STEP_NUM_TASKS";
  } else if (ntasks) {
    w.world_size = *ntasks;
    w.size_variable = "SLURM_NTASKS";
  } else if (nprocs) {
    w.world_size = *nprocs;
    w.size_variable = "SLURM_NPROCS";
  } else {
    w.world_size = 1;  // a batch step without a task count has one task
    w.size_variable = "";
  }
  w.local_rank = localid.value_or(-1);
  w.node_index = nodeid.value_or(-1);
  w.local_size = -1;
  const char* per_node_name = out.is_step ? "SLURM_STEP_TASKS_PER_NODE" : "SLURM_TASKS_PER_NODE";
  if (auto per_node = Lookup(env, per_node_name); per_node && w.node_index >= 0) {
    auto tasks = TasksOnNode(*per_node, w.node_index);
    if (!tasks.ok()) {
      if (!absl::IsOutOfRange(tasks.status())) {
        return absl::InvalidArgumentError(absl::StrCat(per_node_name, ": ", tasks.status().message()));
      }
    } else {
      w.local_size = *tasks;
    }
  }
  w.node_name = Lookup(env, "SLURMD_NODENAME").value_or(std::string(host));
  out.claim.rank_variable = absl::StrCat("SLURM_PROCID=", *procid);
  return std::optional<SlurmClaim>(out);
}

// Ranges every WorldInfo must satisfy (known fields only).
absl::Status CheckRanges(const WorldInfo& w) {
  if (w.world_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(w.size_variable, "=0: a world needs at least one rank"));
  }
  if (w.world_size > 0 && w.rank >= w.world_size) {
    return absl::InvalidArgumentError(absl::StrCat(w.source, " says rank ", w.rank, " but ", w.size_variable, "=",
                                                   w.world_size, ": expected a rank below the world size"));
  }
  if (w.local_size == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(w.source, " says this node runs 0 ranks, yet this process is one of them"));
  }
  if (w.local_rank >= 0 && w.local_size > 0 && w.local_rank >= w.local_size) {
    return absl::InvalidArgumentError(absl::StrCat(w.source, " says local rank ", w.local_rank, " of ",
                                                   w.local_size, " ranks on this node: expected local rank < ",
                                                   w.local_size));
  }
  if (w.local_size > 0 && w.world_size > 0 && w.local_size > w.world_size) {
    return absl::InvalidArgumentError(absl::StrCat(w.source, " says ", w.local_size, " ranks on this node but ",
                                                   w.world_size, " in the whole world"));
  }
  return absl::OkStatus();
}

// Error for two launchers that describe the same launch but disagree about this process's rank.
absl::Status Disagreement(absl::string_view first, absl::string_view second, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("conflicting launcher variables: ", first, " but ", second, " (",
                                                 why, "); the environment mixes two launches"));
}

}  // namespace

EnvMap ProcessEnvironment() {
  EnvMap env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view text(*entry);
    const size_t eq = text.find('=');
    if (eq == absl::string_view::npos) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

std::string HostName() {
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

absl::StatusOr<int> TasksOnNode(absl::string_view tasks_per_node, int node_index) {
  int node = 0;
  for (absl::string_view item : absl::StrSplit(tasks_per_node, ',')) {
    item = absl::StripAsciiWhitespace(item);
    int tasks = 0;
    int repeat = 1;
    const size_t paren = item.find('(');
    absl::string_view count = item.substr(0, paren);
    bool ok = absl::SimpleAtoi(count, &tasks) && tasks >= 0;
    if (ok && paren != absl::string_view::npos) {
      absl::string_view times = item.substr(paren);
      ok = absl::ConsumePrefix(&times, "(x") && absl::ConsumeSuffix(&times, ")") &&
           absl::SimpleAtoi(times, &repeat) && repeat > 0;
    }
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("malformed tasks-per-node list '", tasks_per_node,
                                                     "' at '", item, "'; expected items like 2 or 2(x3)"));
    }
    if (node_index < node + repeat) return tasks;
    node += repeat;
  }
  return absl::OutOfRangeError(absl::StrCat("tasks-per-node list '", tasks_per_node, "' covers ", node,
                                            " nodes; node index ", node_index, " is past its end"));
}

absl::StatusOr<WorldInfo> DiscoverWorld(const EnvMap& env, absl::string_view host_name) {
  KACHI_ASSIGN_OR_RETURN(std::optional<Claim> ompi, ReadOpenMpi(env, host_name));
  KACHI_ASSIGN_OR_RETURN(std::optional<Claim> pmi, ReadPmi(env, host_name));
  KACHI_ASSIGN_OR_RETURN(std::optional<SlurmClaim> slurm, ReadSlurm(env, host_name));
  KACHI_ASSIGN_OR_RETURN(std::optional<int> pmix_rank, ReadCount(env, "PMIX_RANK"));

  const bool slurm_step = slurm && slurm->is_step;
  Claim chosen;
  if (ompi) {
    // mpirun is always the innermost launcher: any SLURM_* describe the allocation or OpenMPI's daemon step.
    chosen = *ompi;
  } else if (pmi && slurm_step && pmi->world.world_size == slurm->claim.world.world_size) {
    // srun --mpi=pmi2: Slurm and PMI describe the same launch and must agree.
    if (pmi->world.rank != slurm->claim.world.rank) {
      return Disagreement(slurm->claim.rank_variable, pmi->rank_variable,
                          "PMI_SIZE equals SLURM_STEP_NUM_TASKS, so both describe this srun step");
    }
    chosen = slurm->claim;
  } else if (pmi) {
    // Hydra (mpiexec) inside an allocation: its proxies may be an srun step of their own, with other numbers.
    chosen = *pmi;
  } else if (slurm_step) {
    chosen = slurm->claim;
  } else if (pmix_rank) {
    chosen.world = {*pmix_rank, -1, -1, -1, -1, std::string(host_name), "pmix", ""};
    chosen.rank_variable = absl::StrCat("PMIX_RANK=", *pmix_rank);
  } else if (slurm) {
    chosen = slurm->claim;  // the batch step of an sbatch script, started without srun
  } else {
    chosen.world = {0, 1, 0, 1, 0, std::string(host_name), "single", ""};
  }
  if (pmix_rank && chosen.world.source != "pmix" && *pmix_rank != chosen.world.rank) {
    return Disagreement(chosen.rank_variable, absl::StrCat("PMIX_RANK=", *pmix_rank),
                        absl::StrCat("the PMIx server of the ", chosen.world.source, " launch exports both"));
  }
  KACHI_RETURN_IF_ERROR(CheckRanges(chosen.world));
  return chosen.world;
}

std::string DescribeWorld(const WorldInfo& w) {
  auto known = [](int v) { return v < 0 ? std::string("?") : absl::StrCat(v); };
  return absl::StrCat("rank ", w.rank, "/", known(w.world_size), " local ", known(w.local_rank), "/",
                      known(w.local_size), " node ", known(w.node_index), " (", w.node_name, ") via ", w.source);
}

}  // namespace kachi
