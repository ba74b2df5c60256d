// Fault injection for the crash and signal tests
// (docs/determinism.md "The chaos test and fault points"): with
// CIR_FAULT=<point>:<N>[:<action>] in the environment, a process acts the
// N-th time it reaches fault_point(<point>), so a test can place a kill or a
// signal exactly instead of hoping for a moment. Several faults, separated
// by commas, act independently (e.g. hold the trainers at a step so that the
// coordinator's next commit comes mid-sweep, and hold that commit). The
// actions:
//   kill  (the default) the process SIGKILLs itself;
//   hold  the process waits there until it has received a stop signal
//         (common/signals.hpp), then goes on: a test waits for the line the
//         hold prints, sends the signal, and knows where it landed.
// Each prints one line to stderr, "CIR_FAULT: pid … kills itself at <point>
// (arrival N)" or "CIR_FAULT: pid … holds at <point> (arrival N) …". The points:
//   checkpoint.write  CheckpointDir::save has written the tensors into the
//                     checkpoint's temporary folder, not yet state.json;
//   store.commit      the store's new snapshot is written to <store>.tmp,
//                     not yet renamed over the store;
//   train.step        a trainer rank has its next batch, before it asks
//                     whether to stop and trains on it;
//   eval.split        an evaluation has encoded a split's gallery and
//                     queries, before it ranks them;
//   store.append      a commit's frame is written to <store>.journal, not
//                     yet fsynced.
// Each process counts its own arrivals. Without CIR_FAULT a point costs a
// load and a compare.
#pragma once

#include <string_view>

namespace cir {

// Throws cir::Error the first time it runs when CIR_FAULT is set but one of
// its faults is not <point>:<N>[:kill|hold] with one of the points above
// and N >= 1.
void fault_point(std::string_view point);

}  // namespace cir
