#include "train/distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "gliclass/error.h"

namespace gliclass::train {
namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int env_int(const char* name, int lo, int hi) {
  const char* v = env(name);
  if (!v) throw InputError(std::string("train: ") + name + " is not set (WORLD_SIZE is: data-parallel training "
                           "needs RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)");
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi)
    throw InputError(std::string("train: ") + name + "=\"" + v + "\" is not an integer in [" + std::to_string(lo) +
                     ", " + std::to_string(hi) + "]");
  return static_cast<int>(x);
}

// Flat copy of same-dtype tensors, and back.
torch::Tensor flatten(const std::vector<torch::Tensor>& tensors) {
  std::vector<torch::Tensor> flat;
  flat.reserve(tensors.size());
  for (const auto& t : tensors) {
    if (t.scalar_type() != tensors.front().scalar_type())
      throw Error("train: tensors of one collective must share a dtype");
    flat.push_back(t.reshape({-1}));
  }
  return torch::cat(flat);
}

void unflatten(const torch::Tensor& buffer, const std::vector<torch::Tensor>& tensors) {
  int64_t offset = 0;
  for (const auto& t : tensors) {
    t.copy_(buffer.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

}  // namespace

std::optional<WorldInfo> world_from_environment() {
  if (!env("WORLD_SIZE")) return std::nullopt;
  WorldInfo w;
  w.size = env_int("WORLD_SIZE", 1, 1 << 16);
  w.rank = env_int("RANK", 0, w.size - 1);
  const char* addr = env("MASTER_ADDR");
  if (!addr) throw InputError("train: MASTER_ADDR is not set (the address of rank 0's rendezvous store)");
  w.master_addr = addr;
  w.master_port = env_int("MASTER_PORT", 1, 65535);
  w.local_size = env("LOCAL_WORLD_SIZE") ? env_int("LOCAL_WORLD_SIZE", 1, w.size) : 1;
  return w;
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const WorldInfo& world, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()), rank_(world.rank), size_(world.size) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(world.master_port);
  store_options.isServer = world.rank == 0;
  store_options.numWorkers = static_cast<size_t>(world.size);
  store_options.timeout = timeout;
  try {
    impl_->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, store_options);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // Gloo connects the workers to each other on the interface that reaches
    // the master address (loopback for local workers).
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(
        world.master_addr == "localhost" ? "127.0.0.1" : world.master_addr));
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, world.rank, world.size, options);
  } catch (const c10::Error& e) {
    throw Error("train: rank " + std::to_string(world.rank) + " could not join the process group at " +
                world.master_addr + ":" + std::to_string(world.master_port) + ": " + e.what_without_backtrace());
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::sum(const std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> buffer{flatten(tensors)};
  impl_->group->allreduce(buffer)->wait();
  unflatten(buffer.front(), tensors);
}

void ProcessGroup::broadcast_from_rank0(const std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> buffer{flatten(tensors)};
  c10d::BroadcastOptions options;
  options.rootRank = 0;
  impl_->group->broadcast(buffer, options)->wait();
  unflatten(buffer.front(), tensors);
}

void ProcessGroup::barrier() { impl_->group->barrier()->wait(); }

}  // namespace gliclass::train
