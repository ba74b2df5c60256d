// OwnedComm (launcher/owned_comm.hpp) and the MPI error policy of the
// communicators the launcher creates (common/mpi.hpp), with its own main:
// MPI must be initialised, and the last check is that an OwnedComm may
// outlive MPI.
#include "launcher/owned_comm.hpp"

#include <gtest/gtest.h>
#include <mpi.h>

#include <string>
#include <utility>

#include "common/error.hpp"
#include "common/mpi.hpp"
#include "launcher/groups.hpp"

namespace cir::launcher {
namespace {

// Counts how often MPI freed a communicator marked with mark_frees(): the
// attribute's delete callback runs when its communicator is freed.
int count_free(MPI_Comm, int, void* counter, void*) {
  ++*static_cast<int*>(counter);
  return MPI_SUCCESS;
}

class OwnedCommTest : public ::testing::Test {
 protected:
  void SetUp() override { MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, count_free, &key_, nullptr); }
  void TearDown() override { MPI_Comm_free_keyval(&key_); }
  void mark_frees(const OwnedComm& comm, int& counter) { MPI_Comm_set_attr(comm.get(), key_, &counter); }

 private:
  int key_ = MPI_KEYVAL_INVALID;
};

TEST_F(OwnedCommTest, DupIsACommunicatorOfTheSameGroupFreedAtTheEndOfItsScope) {
  int freed = 0;
  {
    const OwnedComm comm = OwnedComm::dup(MPI_COMM_WORLD, "test");
    ASSERT_NE(comm.get(), MPI_COMM_NULL);
    int result = MPI_UNEQUAL;
    MPI_Comm_compare(comm.get(), MPI_COMM_WORLD, &result);
    EXPECT_EQ(result, MPI_CONGRUENT);
    mark_frees(comm, freed);
    EXPECT_EQ(freed, 0);
  }
  EXPECT_EQ(freed, 1);
}

TEST_F(OwnedCommTest, MovingLeavesTheSourceEmptyAndFreesOnce) {
  int freed = 0;
  {
    OwnedComm source = OwnedComm::dup(MPI_COMM_WORLD, "test");
    mark_frees(source, freed);
    const MPI_Comm handle = source.get();
    const OwnedComm target = std::move(source);
    EXPECT_EQ(source.get(), MPI_COMM_NULL);  // the moved-from state is the point
    EXPECT_EQ(target.get(), handle);
  }
  EXPECT_EQ(freed, 1);
}

TEST_F(OwnedCommTest, MoveAssignmentFreesWhatTheTargetHeld) {
  int freed_old = 0, freed_new = 0;
  {
    OwnedComm target = OwnedComm::dup(MPI_COMM_WORLD, "test");
    mark_frees(target, freed_old);
    OwnedComm source = OwnedComm::dup(MPI_COMM_WORLD, "test");
    mark_frees(source, freed_new);
    target = std::move(source);
    EXPECT_EQ(freed_old, 1);
    EXPECT_EQ(freed_new, 0);
  }
  EXPECT_EQ(freed_new, 1);
}

TEST_F(OwnedCommTest, NullHoldsNothingToFree) {
  const OwnedComm empty;
  EXPECT_EQ(empty.get(), MPI_COMM_NULL);
  // What MPI_Comm_split gives a rank that joins no group.
  MPI_Comm none = MPI_COMM_WORLD;
  MPI_Comm_split(MPI_COMM_WORLD, MPI_UNDEFINED, 0, &none);
  const OwnedComm adopted(none);
  EXPECT_EQ(adopted.get(), MPI_COMM_NULL);
}

// An invalid argument on a group communicator is a cir::Error naming the
// call, the communicator and the rank, on the calling rank, instead of an
// abort of the job; the communicator stays usable.
TEST(MpiErrorPolicy, AnErrorOnAGroupCommunicatorIsACirErrorNamingCallCommunicatorAndRank) {
  const GroupLayout layout = make_groups(MPI_COMM_WORLD, 2);
  const MPI_Comm group = layout.comm.get();
  ASSERT_NE(group, MPI_COMM_NULL);
  int world_rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  int value = 1;
  try {
    mpi::check(MPI_Bcast(&value, 1, MPI_INT, 5, group), "MPI_Bcast", group);
    ADD_FAILURE() << "a broadcast from rank 5 of a group of 2 succeeded";
  } catch (const Error& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("MPI_Bcast failed on the communicator 'group 0' (this process is its rank " +
                        std::to_string(layout.group_rank) + " of 2): MPI_ERR_ROOT"),
              std::string::npos)
        << text;
    EXPECT_EQ(e.where().rank, world_rank);
    EXPECT_EQ(e.code(), ExitCode::preempted);
  }
  int sum = 0;
  mpi::check(MPI_Allreduce(&value, &sum, 1, MPI_INT, MPI_SUM, group), "MPI_Allreduce", group);
  EXPECT_EQ(sum, 2);
}

TEST(MpiErrorPolicy, DuplicatesAreNamedAndReturnErrors) {
  const OwnedComm inbox = OwnedComm::dup(MPI_COMM_WORLD, "inbox");
  MPI_Errhandler handler = MPI_ERRHANDLER_NULL;
  MPI_Comm_get_errhandler(inbox.get(), &handler);
  EXPECT_EQ(handler, MPI_ERRORS_RETURN);
  MPI_Errhandler_free(&handler);
  char name[MPI_MAX_OBJECT_NAME] = {};
  int length = 0;
  MPI_Comm_get_name(inbox.get(), name, &length);
  EXPECT_EQ(std::string(name, static_cast<std::size_t>(length)), "inbox");
}

}  // namespace
}  // namespace cir::launcher

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int failed = RUN_ALL_TESTS();
  {
    // Destroyed after MPI_Finalize: freeing then would be an MPI error that
    // ends the process with a failure.
    const cir::launcher::OwnedComm outlives = cir::launcher::OwnedComm::dup(MPI_COMM_WORLD, "test");
    MPI_Finalize();
  }
  return failed;
}
