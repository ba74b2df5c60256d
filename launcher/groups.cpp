#include "launcher/groups.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "common/mpi.hpp"

namespace cir::launcher {

std::vector<int> assign_groups(const std::vector<int>& node_of_rank, int ranks_per_trial) {
  const int world = static_cast<int>(node_of_rank.size());
  std::vector<int> group(node_of_rank.size(), -1);
  // Each node's ranks in rank order; full groups stay on their node.
  std::map<int, std::vector<int>> by_node;
  std::vector<int> node_order;
  for (int rank = 0; rank < world; ++rank) {
    auto [it, inserted] = by_node.try_emplace(node_of_rank[rank]);
    if (inserted) node_order.push_back(node_of_rank[rank]);
    it->second.push_back(rank);
  }
  std::vector<std::vector<int>> groups;
  std::vector<int> leftover;
  for (int node : node_order) {
    const auto& ranks = by_node[node];
    const std::size_t full = ranks.size() / static_cast<std::size_t>(ranks_per_trial) * ranks_per_trial;
    for (std::size_t i = 0; i < full; i += ranks_per_trial)
      groups.emplace_back(ranks.begin() + static_cast<long>(i),
                          ranks.begin() + static_cast<long>(i + ranks_per_trial));
    leftover.insert(leftover.end(), ranks.begin() + static_cast<long>(full), ranks.end());
  }
  std::sort(leftover.begin(), leftover.end());
  for (std::size_t i = 0; i + ranks_per_trial <= leftover.size(); i += ranks_per_trial)
    groups.emplace_back(leftover.begin() + static_cast<long>(i),
                        leftover.begin() + static_cast<long>(i + ranks_per_trial));
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.front() < b.front(); });
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (int rank : groups[g]) group[rank] = static_cast<int>(g);
  return group;
}

GroupLayout make_groups(MPI_Comm world, int ranks_per_trial) {
  int rank = 0, size = 0;
  mpi::check(MPI_Comm_rank(world, &rank), "MPI_Comm_rank", world);
  mpi::check(MPI_Comm_size(world, &size), "MPI_Comm_size", world);
  GroupLayout layout;
  MPI_Comm split = MPI_COMM_NULL;
  mpi::check(MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &split),
             "MPI_Comm_split_type", world);
  const OwnedComm node(split);
  mpi::adopt(node.get(), "node");
  mpi::check(MPI_Comm_rank(node.get(), &layout.local_rank), "MPI_Comm_rank", node.get());
  mpi::check(MPI_Comm_size(node.get(), &layout.local_size), "MPI_Comm_size", node.get());
  // A node is named by the world rank of its first rank.
  int node_name = rank;
  mpi::check(MPI_Bcast(&node_name, 1, MPI_INT, 0, node.get()), "MPI_Bcast", node.get());
  std::vector<int> nodes(static_cast<std::size_t>(size));
  mpi::check(MPI_Allgather(&node_name, 1, MPI_INT, nodes.data(), 1, MPI_INT, world), "MPI_Allgather", world);

  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  mpi::check(MPI_Get_processor_name(host, &length), "MPI_Get_processor_name", world);
  std::vector<char> hosts(static_cast<std::size_t>(size) * MPI_MAX_PROCESSOR_NAME);
  mpi::check(MPI_Allgather(host, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, hosts.data(), MPI_MAX_PROCESSOR_NAME,
                           MPI_CHAR, world),
             "MPI_Allgather", world);
  for (int r = 0; r < size; ++r)
    layout.host_of_rank.emplace_back(hosts.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);

  layout.group_of_rank = assign_groups(nodes, ranks_per_trial);
  layout.group = layout.group_of_rank[static_cast<std::size_t>(rank)];
  for (int g : layout.group_of_rank) layout.groups = std::max(layout.groups, g + 1);
  MPI_Comm group = MPI_COMM_NULL;
  mpi::check(MPI_Comm_split(world, layout.group < 0 ? MPI_UNDEFINED : layout.group, rank, &group),
             "MPI_Comm_split", world);
  layout.comm = OwnedComm(group);
  if (group != MPI_COMM_NULL) {
    mpi::adopt(group, fmt::format("group {}", layout.group));
    mpi::check(MPI_Comm_rank(group, &layout.group_rank), "MPI_Comm_rank", group);
    mpi::check(MPI_Comm_size(group, &layout.group_size), "MPI_Comm_size", group);
  }
  return layout;
}

std::vector<std::vector<std::string>> hosts_of_groups(const GroupLayout& layout) {
  std::vector<std::vector<std::string>> hosts(static_cast<std::size_t>(layout.groups));
  for (std::size_t rank = 0; rank < layout.group_of_rank.size(); ++rank)
    if (layout.group_of_rank[rank] >= 0)
      hosts[static_cast<std::size_t>(layout.group_of_rank[rank])].push_back(layout.host_of_rank[rank]);
  return hosts;
}

}  // namespace cir::launcher
