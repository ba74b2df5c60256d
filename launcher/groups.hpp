// How the world's ranks form data-parallel groups
// (docs/architecture.md "Groups"): groups of ranks_per_trial consecutive
// ranks, never across a node when the node can hold the group. Ranks left
// over on their nodes are pooled (in rank order) into groups that span
// nodes; ranks still left over stay idle.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "launcher/owned_comm.hpp"

namespace cir::launcher {

// The group of every rank (-1 = idle), from the node of every rank (any
// integer naming the node) and the group size. Groups are numbered by their
// lowest rank.
std::vector<int> assign_groups(const std::vector<int>& node_of_rank, int ranks_per_trial);

// This rank's place.
struct GroupLayout {
  int group = -1;  // -1: this rank is idle
  int groups = 0;  // how many groups the world has
  int group_rank = 0, group_size = 0;
  int local_rank = 0, local_size = 1;     // this rank's place among the ranks on its node
  OwnedComm comm;                         // the group's communicator (MPI_COMM_NULL when idle)
  std::vector<int> group_of_rank;         // every world rank's group
  std::vector<std::string> host_of_rank;  // every world rank's host (MPI_Get_processor_name)
};

// Splits `world` (collective). Nodes, and the ranks' local rank and size on
// theirs, come from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED). The node and
// group communicators follow cir's MPI error policy (common/mpi.hpp); the
// group's is named "group G".
GroupLayout make_groups(MPI_Comm world, int ranks_per_trial);

// The hosts of each group's ranks, in group rank order.
std::vector<std::vector<std::string>> hosts_of_groups(const GroupLayout& layout);

}  // namespace cir::launcher
