// Hugging Face GPT-2 export/import across a tensor-parallel group (run under mpirun at 2 and 4 ranks, the world
// being the tp group): the file exported from a tp model equals the tp = 1 export of the same seed, importing
// gives every rank exactly its shard, and a failed write on rank 0 is reported on every rank.
#include <mpi.h>

#include <filesystem>

#include "comm/mpi_communicator.h"
#include "gtest/gtest.h"
#include "runtime/io/hf_gpt2.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/tensor_shard.h"
#include "runtime/model/gpt_model.h"
#include "tests/io/io_test_util.h"

namespace kachi {
namespace {

GptShape TestShape() { return GptShape{2, 4, 64, 250, 256, 64}; }

class HfGpt2MpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CommOptions options;
    options.name = "tp";
    options.deadline = absl::Seconds(120);
    absl::StatusOr<std::unique_ptr<Communicator>> comm = CreateMpiCommunicator(MPI_COMM_WORLD, options);
    ASSERT_TRUE(comm.ok()) << comm.status();
    tp_ = *std::move(comm);
    if (absl::Status st = ValidateShape(TestShape(), tp_->size()); !st.ok()) {
      GTEST_SKIP() << "tp=" << tp_->size() << " does not divide the test model: " << st;
    }
    // Rank 0 makes a directory and shares its path with every rank.
    std::string dir = tp_->rank() == 0 ? testing::MakeTempDir("mpi") : std::string();
    int length = static_cast<int>(dir.size());
    MPI_Bcast(&length, 1, MPI_INT, 0, MPI_COMM_WORLD);
    dir.resize(length);
    MPI_Bcast(dir.data(), length, MPI_CHAR, 0, MPI_COMM_WORLD);
    dir_ = dir;
  }

  void TearDown() override {
    MPI_Barrier(MPI_COMM_WORLD);
    if (tp_ && tp_->rank() == 0 && !dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Communicator> tp_;
  std::string dir_;
};

TEST_F(HfGpt2MpiTest, ExportFromTpModelEqualsTp1Export) {
  const uint64_t seed = 20240601;
  GptModel model(TestShape(), tp_.get());
  InitializeParameters(model.layout(), seed, model.params());
  const std::string path = dir_ + "/tp_export.safetensors";
  ASSERT_TRUE(ExportHfGpt2(model.layout(), model.params(), tp_.get(), path, {}).ok());

  const ParameterLayout single(TestShape(), 0, 1);
  std::vector<float> single_params(single.total_size());
  InitializeParameters(single, seed, single_params.data());
  SafetensorsFile expected;
  ASSERT_TRUE(GatherHfGpt2Tensors(single, single_params.data(), nullptr, {}, &expected).ok());

  absl::StatusOr<SafetensorsFile> exported = ReadSafetensors(path);  // every rank reads rank 0's file
  ASSERT_TRUE(exported.ok()) << exported.status();
  ASSERT_EQ(exported->tensors().size(), expected.tensors().size());
  for (const auto& [name, tensor] : expected.tensors()) {
    const SafetensorsTensor* found = exported->Find(name);
    ASSERT_NE(found, nullptr) << name;
    EXPECT_EQ(found->shape, tensor.shape) << name;
    EXPECT_TRUE(found->bytes == tensor.bytes) << name << " differs from the tp=1 export";
  }
}

TEST_F(HfGpt2MpiTest, ImportGivesEachRankExactlyItsShard) {
  // A random (not initializer-made) global model, written by rank 0 from a tp=1 layout.
  const ParameterLayout single(TestShape(), 0, 1);
  std::vector<float> global_model = testing::NonZeroFloats(single.total_size(), 99);
  const ParameterSpec& single_wte = single.tensors()[single.wte()];
  for (int64_t row = TestShape().vocab_size; row < single_wte.global_rows; ++row) {
    for (int64_t c = 0; c < single_wte.global_cols; ++c) {
      global_model[single_wte.offset + row * single_wte.global_cols + c] = 0.0f;  // import zero-fills padding
    }
  }
  const std::string path = dir_ + "/global.safetensors";
  if (tp_->rank() == 0) {
    ASSERT_TRUE(ExportHfGpt2(single, global_model.data(), nullptr, path, {}).ok());
  }
  MPI_Barrier(MPI_COMM_WORLD);

  GptModel model(TestShape(), tp_.get());
  ASSERT_TRUE(LoadHfGpt2(path, model.layout(), {}, model.params()).ok());
  for (const ParameterSpec& spec : model.layout().tensors()) {
    const float* global = global_model.data() + single.tensors()[single.Find(spec.name)].offset;
    for (int64_t i = 0; i < spec.size; ++i) {
      ASSERT_EQ(model.params()[spec.offset + i], global[spec.GlobalIndex(i)])
          << spec.name << " local element " << i << " on tp rank " << tp_->rank();
    }
  }

  // Exporting the imported shards reproduces the file's tensors.
  const std::string again = dir_ + "/again.safetensors";
  ASSERT_TRUE(ExportHfGpt2(model.layout(), model.params(), tp_.get(), again, {}).ok());
  absl::StatusOr<SafetensorsFile> first = ReadSafetensors(path), second = ReadSafetensors(again);
  ASSERT_TRUE(first.ok() && second.ok());
  for (const auto& [name, tensor] : first->tensors()) {
    ASSERT_NE(second->Find(name), nullptr) << name;
    EXPECT_TRUE(second->Find(name)->bytes == tensor.bytes) << name;
  }
}

TEST_F(HfGpt2MpiTest, FailedWriteOnRankZeroFailsEveryRank) {
  GptModel model(TestShape(), tp_.get());
  InitializeParameters(model.layout(), 5, model.params());
  const absl::Status status =
      ExportHfGpt2(model.layout(), model.params(), tp_.get(), dir_ + "/no_such_dir/x.safetensors", {});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("x.safetensors"), absl::string_view::npos) << status;
}

}  // namespace
}  // namespace kachi
