// Fault injection for the crash tests
// (docs/determinism.md "The chaos test and fault points"): with
// CIR_FAULT=<point>:<N> in the environment, the process SIGKILLs itself the
// N-th time it reaches fault_point(<point>), so a test can kill a run inside a
// checkpoint write or a store commit instead of hoping for a random kill. The points:
//   checkpoint.write  CheckpointDir::save has written the tensors into the
//                     checkpoint's temporary folder, not yet state.json;
//   store.commit      the store's new snapshot is written to <store>.tmp,
//                     not yet renamed over the store.
// Each process counts its own arrivals. Without CIR_FAULT a point costs a
// load and a compare.
#pragma once

#include <string_view>

namespace cir {

// Throws cir::Error the first time it runs when CIR_FAULT is set but is not
// <point>:<N> with one of the points above and N >= 1.
void fault_point(std::string_view point);

}  // namespace cir
