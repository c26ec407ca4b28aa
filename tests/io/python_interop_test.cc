// Interoperability with Python's safetensors package: a file written by safetensors.numpy reads correctly here,
// and files written here load in Python with the right names, dtypes, shapes, values and metadata. Runs the
// interpreter in $KACHI_PYTHON (default python3) and skips with a message when it lacks numpy or safetensors.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "comm/dtype.h"
#include "gtest/gtest.h"
#include "runtime/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace kachi {
namespace {

std::string Python() {
  const char* python = std::getenv("KACHI_PYTHON");
  return python && *python ? python : "python3";
}

// Runs `command` through the shell; returns its exit status and appends its combined output to `output`.
int RunCommand(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output->append(buffer, n);
  return ::pclose(pipe);
}

// Skips the test unless the interpreter has numpy and safetensors.
#define KACHI_SKIP_WITHOUT_PYTHON_SAFETENSORS()                                                        \
  do {                                                                                                 \
    std::string ignored;                                                                               \
    if (RunCommand(Python() + " -c 'import numpy, safetensors.numpy'", &ignored) != 0) {               \
      GTEST_SKIP() << Python() << " lacks numpy/safetensors (pip install numpy safetensors, or point " \
                   << "KACHI_PYTHON at an interpreter that has them): Python interop test skipped";    \
    }                                                                                                  \
  } while (0)

std::string Script(const std::string& name) { return std::string(KACHI_IO_PYTHON_DIR) + "/" + name; }

// One line of an expectation file: name, dtype, shape and the values as text.
struct Expected {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<std::string> values;
};

TEST(PythonInteropTest, ReadsAFileWrittenBySafetensorsNumpy) {
  KACHI_SKIP_WITHOUT_PYTHON_SAFETENSORS();
  const std::string dir = testing::MakeTempDir("py_write");
  const std::string file_path = dir + "/python.safetensors", expected_path = dir + "/expected.txt";
  std::string output;
  ASSERT_EQ(RunCommand(absl::StrCat(Python(), " ", Script("write_with_safetensors.py"), " ", file_path, " ",
                                    expected_path, " 4242"),
                       &output),
            0)
      << output;

  std::map<std::string, Expected> expected;
  std::map<std::string, std::string> expected_meta;
  std::ifstream in(expected_path);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    ASSERT_GE(fields.size(), 3u) << line;
    if (fields[0] == "@meta") {
      expected_meta[fields[1]] = fields[2];
      continue;
    }
    ASSERT_EQ(fields.size(), 4u) << line;
    Expected& e = expected[fields[0]];
    e.dtype = fields[1];
    for (absl::string_view dim : absl::StrSplit(fields[2], ',', absl::SkipEmpty()))
      e.shape.push_back(std::stoll(std::string(dim)));
    e.values = absl::StrSplit(fields[3], ' ', absl::SkipEmpty());
  }
  ASSERT_EQ(expected.size(), 10u) << "the Python writer should cover 9 dtypes and a scalar";

  absl::StatusOr<SafetensorsFile> file = ReadSafetensors(file_path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->metadata(), expected_meta);
  EXPECT_EQ(file->tensors().size(), expected.size());
  for (const auto& [name, e] : expected) {
    SCOPED_TRACE(name);
    const SafetensorsTensor* tensor = file->Find(name);
    ASSERT_NE(tensor, nullptr);
    EXPECT_EQ(SafetensorsDTypeName(tensor->dtype), e.dtype);
    EXPECT_EQ(tensor->shape, e.shape);
    if (IsFloatingDType(tensor->dtype)) {
      absl::StatusOr<std::vector<float>> values = file->Floats(name);
      ASSERT_TRUE(values.ok()) << values.status();
      ASSERT_EQ(values->size(), e.values.size());
      for (size_t i = 0; i < e.values.size(); ++i) {
        EXPECT_EQ((*values)[i], static_cast<float>(std::stod(e.values[i]))) << "element " << i;
      }
    } else {
      absl::StatusOr<std::vector<int64_t>> values = file->Ints(name);
      ASSERT_TRUE(values.ok()) << values.status();
      ASSERT_EQ(values->size(), e.values.size());
      for (size_t i = 0; i < e.values.size(); ++i) EXPECT_EQ((*values)[i], std::stoll(e.values[i])) << i;
    }
  }
  std::filesystem::remove_all(dir);
}

// Writes `file` and its expectation file, then runs the Python checker on them.
void CheckInPython(const SafetensorsFile& file, const std::string& dir, const std::string& stem) {
  const std::string file_path = dir + "/" + stem + ".safetensors", expected_path = dir + "/" + stem + ".txt";
  ASSERT_TRUE(WriteSafetensors(file_path, file).ok());
  std::ofstream out(expected_path);
  for (const auto& [key, value] : file.metadata()) out << "@meta\t" << key << "\t" << value << "\n";
  for (const auto& [name, tensor] : file.tensors()) {
    std::vector<std::string> values;
    if (IsFloatingDType(tensor.dtype)) {
      const absl::StatusOr<std::vector<float>> floats = file.Floats(name);
      ASSERT_TRUE(floats.ok()) << floats.status();
      for (float v : *floats) values.push_back(absl::StrFormat("%.17g", v));
    } else {
      const absl::StatusOr<std::vector<int64_t>> ints = file.Ints(name);
      ASSERT_TRUE(ints.ok()) << ints.status();
      for (int64_t v : *ints) values.push_back(absl::StrCat(v));
    }
    out << name << "\t" << SafetensorsDTypeName(tensor.dtype) << "\t" << absl::StrJoin(tensor.shape, ",") << "\t"
        << absl::StrJoin(values, " ") << "\n";
  }
  out.close();
  std::string output;
  EXPECT_EQ(RunCommand(absl::StrCat(Python(), " ", Script("check_kachi_file.py"), " ", file_path, " ", expected_path),
                       &output),
            0)
      << output;
  EXPECT_NE(output.find("OK"), std::string::npos) << output;
}

TEST(PythonInteropTest, FilesWrittenHereLoadInPython) {
  KACHI_SKIP_WITHOUT_PYTHON_SAFETENSORS();
  const std::string dir = testing::MakeTempDir("py_read");
  SafetensorsFile numpy_dtypes;
  ASSERT_TRUE(numpy_dtypes.AddFloats("h.0.attn.c_attn.weight", {8, 24}, testing::NonZeroFloats(192, 31)).ok());
  ASSERT_TRUE(
      numpy_dtypes.AddFloats("half", {3, 3}, testing::NonZeroFloats(9, 32, -8, 8), SafetensorsDType::kF16).ok());
  ASSERT_TRUE(numpy_dtypes.AddFloats("double", {5}, testing::NonZeroFloats(5, 33), SafetensorsDType::kF64).ok());
  ASSERT_TRUE(numpy_dtypes.AddFloats("loss", {}, testing::NonZeroFloats(1, 34)).ok());
  ASSERT_TRUE(
      numpy_dtypes.AddInts("inputs", {2, 3}, {7, -1, 255, 2147483647, -2147483647 - 1, 40}, SafetensorsDType::kI32)
          .ok());
  ASSERT_TRUE(numpy_dtypes.AddInts("targets", {4}, {int64_t{1} << 40, -5, 0, 9}, SafetensorsDType::kI64).ok());
  ASSERT_TRUE(numpy_dtypes.AddFloats("empty", {0, 4}, {}).ok());
  numpy_dtypes.mutable_metadata()["format"] = "pt";
  numpy_dtypes.mutable_metadata()["note"] = "quote \" backslash \\ unicode \xc3\xa9";
  CheckInPython(numpy_dtypes, dir, "numpy_dtypes");

  SafetensorsFile with_bf16 = numpy_dtypes;
  ASSERT_TRUE(
      with_bf16.AddFloats("bf16.weight", {4, 2}, testing::NonZeroFloats(8, 35, -3, 3), SafetensorsDType::kBF16).ok());
  CheckInPython(with_bf16, dir, "with_bf16");
  std::filesystem::remove_all(dir);
}

TEST(PythonInteropTest, PythonCheckerCatchesAWrongValue) {
  KACHI_SKIP_WITHOUT_PYTHON_SAFETENSORS();
  // Guards the checker itself: an expectation that differs from the file must fail.
  const std::string dir = testing::MakeTempDir("py_wrong");
  SafetensorsFile file;
  ASSERT_TRUE(file.AddFloats("w", {2}, {0.25f, -1.5f}).ok());
  ASSERT_TRUE(WriteSafetensors(dir + "/w.safetensors", file).ok());
  std::ofstream(dir + "/w.txt") << "w\tF32\t2\t0.25 -1.25\n";
  std::string output;
  EXPECT_NE(
      RunCommand(absl::StrCat(Python(), " ", Script("check_kachi_file.py"), " ", dir, "/w.safetensors ", dir, "/w.txt"),
                 &output),
      0)
      << output;
  EXPECT_NE(output.find("values differ"), std::string::npos) << output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kachi
