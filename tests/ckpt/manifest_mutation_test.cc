// Issue 13 defect 1, "a manifest that cannot lie": a small checkpoint (tp 2 x dp 2, random fp32 shards) is written
// with a sealed manifest, then hundreds of seeded single-field mutants of that manifest are tried (protobuf
// reflection: a random scalar field anywhere in the message, nudged by +-1, +-4, a random value, or flipped):
//  - written with the original seal: every mutant must be refused by ReadManifest, naming the file and "checksum";
//  - resealed (a forger who recomputes the checksum): every mutant of a structural field (layout, shape, tensors,
//    shards) must be refused by ReadManifest, the shard checks (VerifyShards) or the comparison with the run's
//    model (CheckCompatible); fields the reader never uses
//    (listed in kMetadataOnly) may pass, and then the load must still be bit-exact.
// No mutant may crash; the untouched checkpoint loads bit-exact. Also: an unsealed (pre-seal) manifest still loads.
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/ckpt/checkpoint_paths.h"
#include "runtime/ckpt/checkpoint_reader.h"
#include "runtime/ckpt/manifest.h"
#include "runtime/ckpt/manifest_check.h"
#include "runtime/ckpt/shard_io.h"
#include "runtime/ckpt/verify.h"
#include "runtime/io/atomic_file.h"
#include "runtime/model/parameter_layout.h"

namespace kachi::ckpt {
namespace {

namespace fs = std::filesystem;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr int kTp = 2;
constexpr int kDp = 2;
constexpr int kMutants = 400;
// Fields no reader uses for addressing data (informative only): a resealed change to them may pass, bit-exact.
const std::set<std::string> kMetadataOnly = {"zero1", "optimizer_begin", "optimizer_end", "dp_rank",
                                             "kachi.ckpt.ShardRecord.tp_rank", "created_unix_ms", "epoch", "seed",
                                             "num_windows", "loader.step", "optimizer_steps", "train", "config"};

GptShape TinyShape() { return GptShape{2, 4, 32, 250, 256, 32}; }

struct Fixture {
  std::string step_dir;
  Manifest manifest;
  std::vector<std::vector<float>> params;  // per tp rank, the whole flat buffer
};

// Writes step_00000007 of a fresh temporary checkpoint directory: dp rank 0 of each tp rank holds its PARAMS and
// both moments; dp rank 1's shards are empty.
Fixture MakeCheckpoint(uint32_t seed) {
  Fixture f;
  const std::string dir = (fs::temp_directory_path() / ("kachi_manifest_mut_" + std::to_string(getpid()))).string();
  fs::remove_all(dir);
  f.step_dir = StepDirPath(dir, 7);
  fs::create_directories(f.step_dir);
  const GptShape shape = TinyShape();
  const int64_t buffer = ParameterLayout(shape, 0, kTp).total_size();
  Manifest& m = f.manifest;
  m.set_step(7);
  m.set_optimizer_steps(7);
  m.mutable_layout()->set_dp(kDp);
  m.mutable_layout()->set_tp(kTp);
  m.mutable_layout()->set_buffer_size(buffer);
  *m.mutable_shape() = ShapeToProto(shape);
  m.mutable_loader()->set_step(7);
  m.mutable_loader()->set_global_batch(8);
  m.mutable_loader()->set_num_windows(100);
  m.mutable_train()->set_global_batch(8);
  AddTensorRecords(shape, kTp, &m);
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int dp = 0; dp < kDp; ++dp) {
    for (int tp = 0; tp < kTp; ++tp) {
      const int rank = dp * kTp + tp;
      ShardRecord* shard = m.add_shards();
      shard->set_rank(rank);
      shard->set_dp_rank(dp);
      shard->set_tp_rank(tp);
      shard->set_file(ShardFileName(rank));
      shard->set_optimizer_begin(0);
      shard->set_optimizer_end(buffer);
      std::string bytes;
      if (dp == 0) {
        std::vector<float> values(static_cast<size_t>(3 * buffer));
        for (float& v : values) v = normal(rng);
        f.params.emplace_back(values.begin(), values.begin() + buffer);
        bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
        for (int kind = 0; kind < 3; ++kind) {
          Segment* segment = shard->add_segments();
          segment->set_kind(static_cast<Segment::Kind>(kind));
          segment->set_tp_rank(tp);
          segment->set_flat_begin(0);
          segment->set_flat_end(buffer);
          segment->set_byte_offset(kind * buffer * 4);
        }
      }
      absl::StatusOr<FileDigest> digest = WriteSyncedFile(f.step_dir + "/" + shard->file(), bytes);
      EXPECT_TRUE(digest.ok());
      shard->set_bytes(digest->bytes);
      shard->set_crc32(digest->crc32);
    }
  }
  EXPECT_TRUE(WriteManifest(f.step_dir, m).ok());
  return f;
}

// Loads every tp rank's parameters through the reader; true when all equal the written values bit for bit.
bool LoadsBitExact(const Fixture& f) {
  absl::StatusOr<CheckpointReader> reader = CheckpointReader::Open(f.step_dir);
  if (!reader.ok()) return false;
  for (int tp = 0; tp < kTp; ++tp) {
    ParameterLayout layout(TinyShape(), tp, kTp);
    std::vector<float> params(static_cast<size_t>(layout.total_size()), 0.0f);
    if (!reader->LoadParameters(layout, params.data()).ok()) return false;
    for (const ParameterSpec& spec : layout.tensors()) {
      if (std::memcmp(params.data() + spec.offset, f.params[tp].data() + spec.offset, spec.size * sizeof(float)) != 0) {
        return false;
      }
    }
  }
  return true;
}

// A random scalar field reachable from `message` (descending into set sub-messages and repeated elements); its
// dotted name ("shards.segments.byte_offset") is appended to `path`.
struct Leaf {
  Message* message;
  const FieldDescriptor* field;
  int index;  // -1 for a singular field
};
bool PickLeaf(Message* message, std::mt19937& rng, std::string* path, Leaf* leaf) {
  const Reflection* reflection = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  if (fields.empty()) return false;
  const FieldDescriptor* field = fields[rng() % fields.size()];
  const int index = field->is_repeated() ? static_cast<int>(rng() % reflection->FieldSize(*message, field)) : -1;
  *path += (path->empty() ? "" : ".") + field->name();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    Message* child = index < 0 ? reflection->MutableMessage(message, field)
                               : reflection->MutableRepeatedMessage(message, field, index);
    return PickLeaf(child, rng, path, leaf);
  }
  *leaf = Leaf{message, field, index};
  return true;
}

int64_t Nudge(int64_t value, std::mt19937& rng) {
  switch (rng() % 6) {
    case 0: return value + 1;
    case 1: return value - 1;
    case 2: return value + 4;
    case 3: return value - 4;
    case 4: return value * 2 + 1;
    default: return static_cast<int32_t>(rng());
  }
}

void Mutate(const Leaf& leaf, std::mt19937& rng) {
  const Reflection* r = leaf.message->GetReflection();
  const FieldDescriptor* f = leaf.field;
  const bool rep = leaf.index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      const int32_t v = rep ? r->GetRepeatedInt32(*leaf.message, f, leaf.index) : r->GetInt32(*leaf.message, f);
      const int32_t n = static_cast<int32_t>(Nudge(v, rng));
      rep ? r->SetRepeatedInt32(leaf.message, f, leaf.index, n) : r->SetInt32(leaf.message, f, n);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      const int64_t v = rep ? r->GetRepeatedInt64(*leaf.message, f, leaf.index) : r->GetInt64(*leaf.message, f);
      const int64_t n = Nudge(v, rng);
      rep ? r->SetRepeatedInt64(leaf.message, f, leaf.index, n) : r->SetInt64(leaf.message, f, n);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      const uint32_t n = static_cast<uint32_t>(Nudge(r->GetUInt32(*leaf.message, f), rng));
      r->SetUInt32(leaf.message, f, n);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(leaf.message, f, r->GetUInt64(*leaf.message, f) + 1); break;
    case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(leaf.message, f, !r->GetBool(*leaf.message, f)); break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int v = r->GetEnumValue(*leaf.message, f);
      r->SetEnumValue(leaf.message, f, (v + 1 + static_cast<int>(rng() % 2)) % 3);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v = rep ? r->GetRepeatedString(*leaf.message, f, leaf.index) : r->GetString(*leaf.message, f);
      v = v.empty() ? "x" : (rng() % 2 ? v.substr(1) : v + "0");
      rep ? r->SetRepeatedString(leaf.message, f, leaf.index, v) : r->SetString(leaf.message, f, v);
      break;
    }
    default: r->SetInt64(leaf.message, f, 0);  // float/double: none in the manifest
  }
}

bool IsMetadataOnly(const std::string& path, const Leaf& leaf) {
  if (kMetadataOnly.count(leaf.field->full_name()) || kMetadataOnly.count(leaf.field->name())) return true;
  for (const std::string& prefix : {"train.", "config.", "loader."}) {
    if (path.rfind(prefix, 0) == 0 && leaf.field->name() != "global_batch") return true;
  }
  return false;
}

TEST(ManifestMutationTest, TheUntouchedCheckpointIsSealedAndLoadsBitExact) {
  const Fixture f = MakeCheckpoint(1);
  bool sealed = false;
  absl::StatusOr<Manifest> read = ReadManifest(f.step_dir, &sealed);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(sealed);
  EXPECT_TRUE(VerifyShards(f.step_dir, *read).empty());
  EXPECT_TRUE(LoadsBitExact(f));
  // A manifest of kachi before seals (no manifest_crc32) is still read, structurally checked, and loads.
  ASSERT_TRUE(WriteFileAtomically(f.step_dir + "/" + kManifestFile, f.manifest.SerializeAsString()).ok());
  read = ReadManifest(f.step_dir, &sealed);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_FALSE(sealed);
  EXPECT_TRUE(LoadsBitExact(f));
  fs::remove_all(fs::path(f.step_dir).parent_path());
}

TEST(ManifestMutationTest, EveryMutantIsRefusedOrLoadsBitExact) {
  const Fixture f = MakeCheckpoint(2);
  const std::string original = SealManifest(f.manifest);
  const std::string trailer = original.substr(original.size() - 5);
  std::mt19937 rng(20261203);
  int stale_refused = 0, resealed_refused = 0, resealed_metadata_passed = 0, tried = 0;
  for (int i = 0; i < kMutants; ++i) {
    Manifest mutant = f.manifest;
    std::string path;
    Leaf leaf{};
    ASSERT_TRUE(PickLeaf(&mutant, rng, &path, &leaf));
    Mutate(leaf, rng);
    Manifest unsealed = mutant;
    unsealed.clear_manifest_crc32();
    Manifest base = f.manifest;
    base.clear_manifest_crc32();
    if (unsealed.SerializeAsString() == base.SerializeAsString()) continue;  // the nudge changed nothing
    ++tried;
    SCOPED_TRACE("mutant " + std::to_string(i) + ": " + path);
    // 1. The original seal: refused by its checksum.
    ASSERT_TRUE(WriteFileAtomically(f.step_dir + "/" + kManifestFile, unsealed.SerializeAsString() + trailer).ok());
    absl::StatusOr<Manifest> read = ReadManifest(f.step_dir);
    EXPECT_FALSE(read.ok());
    if (!read.ok()) {
      ++stale_refused;
      EXPECT_NE(read.status().message().find(kManifestFile), std::string::npos) << read.status();
    }
    // 2. Resealed: refused by the structural or shard checks, unless the field is metadata (then bit-exact).
    ASSERT_TRUE(WriteManifest(f.step_dir, mutant).ok());
    read = ReadManifest(f.step_dir);
    // (A self-consistent manifest of another model shape, e.g. heads or vocab_size, is refused at load by the
    // comparison with the run's model: CheckCompatible.)
    absl::StatusOr<CheckpointReader> reader = CheckpointReader::Open(f.step_dir);
    const bool refused = !read.ok() || !VerifyShards(f.step_dir, *read).empty() || !reader.ok() ||
                         !reader->CheckCompatible(ParameterLayout(TinyShape(), 0, kTp)).ok();
    if (refused) {
      ++resealed_refused;
    } else {
      EXPECT_TRUE(IsMetadataOnly(path, leaf)) << "a resealed mutant of " << path << " was accepted";
      EXPECT_TRUE(LoadsBitExact(f)) << "a resealed mutant of " << path << " loads different values";
      ++resealed_metadata_passed;
    }
  }
  std::printf("manifest mutants: %d tried, %d refused by the seal, %d resealed refused, %d resealed metadata-only "
              "passed (bit-exact)\n", tried, stale_refused, resealed_refused, resealed_metadata_passed);
  EXPECT_GT(tried, kMutants / 2);
  EXPECT_EQ(stale_refused, tried);
  ASSERT_TRUE(WriteManifest(f.step_dir, f.manifest).ok());
  EXPECT_TRUE(LoadsBitExact(f));
  fs::remove_all(fs::path(f.step_dir).parent_path());
}

}  // namespace
}  // namespace kachi::ckpt
