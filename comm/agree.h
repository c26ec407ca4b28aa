// AgreeOnStatus: turns a status that only some ranks of a communicator saw into an error on every rank, so no rank
// goes on to wait in a collective for a peer that already failed.
#ifndef KACHI_COMM_AGREE_H_
#define KACHI_COMM_AGREE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "comm/communicator.h"

namespace kachi {

// Collective over `comm`. A rank whose `status` failed gets it back (prefixed "<what>: " when `what` is not empty);
// the others get Aborted naming the highest failing rank ("<what> failed on rank R (see its message)", or "rank R
// failed (see its message)"); OK everywhere when no rank failed.
absl::Status AgreeOnStatus(Communicator& comm, const absl::Status& status, absl::string_view what = "");

}  // namespace kachi

#endif  // KACHI_COMM_AGREE_H_
