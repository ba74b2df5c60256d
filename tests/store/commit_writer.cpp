// store_commit_writer STORE: opens STORE (written by the store tests'
// header()) as its writer, adds a second trial and commits, which writes a
// full snapshot. crash_test.cpp runs it with CIR_FAULT=store.commit:1
// (common/fault.hpp), so that it kills itself once HDF5 has closed the new
// snapshot and its checksum block is written, before the rename.
#include <cstdio>
#include <exception>

#include "store/store.hpp"
#include "store_fixture.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: store_commit_writer STORE\n");
    return 2;
  }
  using namespace cir::store::testing;
  try {
    cir::store::Writer writer = cir::store::Writer::open(argv[1], header());
    writer.add_trials({trial(0), trial(1)});
    writer.flush();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "store_commit_writer: %s\n", error.what());
    return 1;
  }
  return 0;
}
