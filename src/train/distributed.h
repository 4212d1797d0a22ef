// Data-parallel training across processes on PyTorch's c10d with the Gloo
// backend. Rendezvous is torchrun's: a TCPStore served by rank 0 at
// MASTER_ADDR:MASTER_PORT, each worker told its RANK and the WORLD_SIZE.
//
// Every worker holds the whole model; each trains on its own slice of every
// global micro-batch, and gradients are summed across workers before the
// optimizer step, so all replicas take the same step (trainer.cpp).
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gliclass::train {

struct WorldInfo {
  int rank = 0;
  int size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int local_size = 1;  // workers on this machine (LOCAL_WORLD_SIZE), for the thread budget
};

// The world described by RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT
// (LOCAL_WORLD_SIZE optional); nullopt when WORLD_SIZE is unset. InputError
// naming the variable when one is missing or malformed.
std::optional<WorldInfo> world_from_environment();

class ProcessGroup {
 public:
  // Joins the group (blocks until every rank has joined, up to `timeout`).
  ProcessGroup(const WorldInfo& world, std::chrono::milliseconds timeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // In place: every rank ends with the element-wise sum over ranks. The
  // tensors (one dtype) travel as one flat buffer: one collective per call.
  void sum(const std::vector<torch::Tensor>& tensors);
  // In place: every rank ends with rank 0's values.
  void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace gliclass::train
