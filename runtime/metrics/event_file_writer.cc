// TFRecord framing and the event file (see event_file_writer.h).
#include "runtime/metrics/event_file_writer.h"

#include <unistd.h>

#include <chrono>
#include <climits>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/metrics/crc32c.h"
#include "runtime/metrics/tensorboard_event.pb.h"

namespace kachi {
namespace {

// The version string of the first record (what TensorBoard's own writers put there).
constexpr char kFileVersion[] = "brain.Event:2";

// `value` as little-endian bytes appended to `out`.
template <typename T>
void AppendLittleEndian(T value, std::string* out) {
  for (size_t i = 0; i < sizeof(T); ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

double WallTime() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

std::string FrameRecord(absl::string_view data) {
  std::string record;
  record.reserve(data.size() + 16);
  AppendLittleEndian<uint64_t>(data.size(), &record);
  AppendLittleEndian<uint32_t>(MaskCrc32c(Crc32c(record.data(), 8)), &record);
  record.append(data.data(), data.size());
  AppendLittleEndian<uint32_t>(MaskCrc32c(Crc32c(data.data(), data.size())), &record);
  return record;
}

absl::StatusOr<std::unique_ptr<EventFileWriter>> EventFileWriter::Create(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", error.message()));
  const double now = WallTime();
  const std::string path = (std::filesystem::path(dir) / absl::StrFormat("events.out.tfevents.%010d.%s",
                                                                         static_cast<int64_t>(now), HostName()))
                               .string();
  std::ofstream file(path, std::ios::binary | std::ios::app);
  if (!file) return absl::PermissionDeniedError(absl::StrCat("cannot write TensorBoard events to ", path));
  std::unique_ptr<EventFileWriter> writer(new EventFileWriter(path, std::move(file)));
  tensorboard::Event event;
  event.set_wall_time(now);
  event.set_file_version(kFileVersion);
  if (auto st = writer->WriteRecord(event.SerializeAsString()); !st.ok()) return st;
  return writer;
}

absl::Status EventFileWriter::WriteScalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars) {
  tensorboard::Event event;
  event.set_wall_time(WallTime());
  event.set_step(step);
  tensorboard::Summary* summary = event.mutable_summary();
  for (const auto& [tag, value] : scalars) {
    tensorboard::Summary::Value* v = summary->add_value();
    v->set_tag(tag);
    v->set_simple_value(static_cast<float>(value));
  }
  return WriteRecord(event.SerializeAsString());
}

absl::Status EventFileWriter::WriteRecord(const std::string& data) {
  const std::string record = FrameRecord(data);
  file_.write(record.data(), static_cast<std::streamsize>(record.size()));
  file_.flush();
  if (!file_) return absl::DataLossError(absl::StrCat("cannot write TensorBoard events to ", path_));
  return absl::OkStatus();
}

}  // namespace kachi
