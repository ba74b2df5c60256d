// Fault injection for the crash, signal and stall tests
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
//   throw the point throws a cir::Error (a rank that leaves its trial while
//         the rest of its group waits in a collective);
//   sleep=<seconds>  the process stops there for that long, then goes on (a
//         rank that stalls its group: launcher/stall_inspector.hpp).
// A fault ending in @<r> acts only in the process of world rank r (the rank
// mpirun gives it: OMPI_COMM_WORLD_RANK, PMIX_RANK or PMI_RANK).
// Each but throw prints one line to stderr, "CIR_FAULT: pid … kills itself
// at <point> (arrival N)", "… holds at <point> (arrival N) …" or "… sleeps
// <s> s at <point> (arrival N)"; throw's error says "CIR_FAULT: pid …
// throws at <point> (arrival N)". The points:
//   checkpoint.write  CheckpointDir::save has written the tensors into the
//                     checkpoint's temporary folder, not yet state.json;
//   store.commit      the store's new snapshot is written to <store>.tmp,
//                     HDF5 has closed it and its checksum block is
//                     written, not yet renamed over the store;
//   train.step        a trainer rank (or the launcher tests' fake runner)
//                     has its next batch, before it asks whether to stop
//                     and trains on it;
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
// its faults is not <point>:<N>[:<action>][@<rank>] with one of the points
// and actions above and N >= 1; with the action throw, throws cir::Error at
// the N-th arrival.
void fault_point(std::string_view point);

}  // namespace cir
