// kernels/base/status_macros.h: KACHI_RETURN_IF_ERROR on Status and StatusOr, KACHI_ASSIGN_OR_RETURN, and that
// each evaluates its argument exactly once.
#include "kernels/base/status_macros.h"

#include <random>

#include "gtest/gtest.h"

namespace kachi {
namespace {

int g_calls = 0;

absl::StatusOr<int> Maybe(int value, bool ok) {
  ++g_calls;
  if (!ok) return absl::InvalidArgumentError("no value");
  return value;
}

absl::Status Check(bool ok) {
  ++g_calls;
  return ok ? absl::OkStatus() : absl::NotFoundError("missing");
}

absl::Status ReturnIfError(bool status_ok, bool status_or_ok) {
  KACHI_RETURN_IF_ERROR(Check(status_ok));
  KACHI_RETURN_IF_ERROR(Maybe(1, status_or_ok));
  return absl::OkStatus();
}

absl::StatusOr<int> Sum(int a, bool a_ok, int b, bool b_ok) {
  KACHI_ASSIGN_OR_RETURN(int x, Maybe(a, a_ok));
  int y = 0;
  KACHI_ASSIGN_OR_RETURN(y, Maybe(b, b_ok));
  return x + y;
}

TEST(StatusMacrosTest, ReturnIfErrorTakesStatusAndStatusOr) {
  g_calls = 0;
  EXPECT_TRUE(ReturnIfError(true, true).ok());
  EXPECT_EQ(g_calls, 2);
  EXPECT_EQ(ReturnIfError(false, true).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReturnIfError(true, false).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(g_calls, 2 + 1 + 2);  // the first error stops the function
}

TEST(StatusMacrosTest, AssignOrReturnOnRandomValues) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> value(-1000, 1000);
  for (int i = 0; i < 100; ++i) {
    const int a = value(rng), b = value(rng);
    g_calls = 0;
    EXPECT_EQ(*Sum(a, true, b, true), a + b);
    EXPECT_EQ(g_calls, 2);
    EXPECT_EQ(Sum(a, false, b, true).status().message(), "no value");
    EXPECT_EQ(Sum(a, true, b, false).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace kachi
