#pragma once

namespace gliclass::cli {
// `gliclass train --nproc N`: runs this same command line N times as
// data-parallel workers on this machine (torchrun's environment: RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free
// MASTER_PORT), waits for them and returns the first failing worker's exit
// code (0 when all succeed). When one worker fails the others are stopped.
int run_local_workers(int nproc);
}  // namespace gliclass::cli
