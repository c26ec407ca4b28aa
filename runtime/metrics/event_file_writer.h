// TensorBoard event files: events.out.tfevents.<time>.<host> in a directory, a sequence of TFRecord-framed
// tensorboard Event protobufs (tensorboard_event.proto) that TensorBoard (EventAccumulator, `tensorboard --logdir`)
// reads. kachi writes scalars only; rank 0 of a training run writes them beside its JSON-lines metrics.
#ifndef KACHI_RUNTIME_METRICS_EVENT_FILE_WRITER_H_
#define KACHI_RUNTIME_METRICS_EVENT_FILE_WRITER_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kachi {

// One TFRecord: the data's length (uint64, little-endian), the masked CRC-32C of those 8 bytes, the data, the
// masked CRC-32C of the data.
std::string FrameRecord(absl::string_view data);

// Appends events to one event file.
class EventFileWriter {
 public:
  // Creates `dir` (and its parents) when missing, and in it a new file events.out.tfevents.<unix seconds>.<host>
  // whose first record names the file version ("brain.Event:2"). An existing file of that name is appended to.
  static absl::StatusOr<std::unique_ptr<EventFileWriter>> Create(const std::string& dir);

  // Appends one Event at `step`, stamped with the current wall time, holding `scalars` (tag, value; stored as
  // float, TensorBoard's simple_value), and flushes it to the file.
  absl::Status WriteScalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars);

  // The file written.
  const std::string& path() const { return path_; }

 private:
  EventFileWriter(std::string path, std::ofstream file) : path_(std::move(path)), file_(std::move(file)) {}
  // Appends FrameRecord(data) and flushes.
  absl::Status WriteRecord(const std::string& data);

  std::string path_;
  std::ofstream file_;
};

}  // namespace kachi

#endif  // KACHI_RUNTIME_METRICS_EVENT_FILE_WRITER_H_
