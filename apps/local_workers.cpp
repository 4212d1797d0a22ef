#include "local_workers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "gliclass/error.h"

extern char** environ;

namespace gliclass::cli {
namespace {

std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t begin = 0; begin < all.size();) {
    const size_t end = all.find('\0', begin);
    args.push_back(all.substr(begin, end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  if (args.empty()) throw Error("train: cannot read this process's command line from /proc/self/cmdline");
  return args;
}

// A port the kernel says is free now (rank 0 binds it a moment later).
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("train: socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) throw Error(std::string("train: no free loopback port: ") + std::strerror(errno));
  return ntohs(addr.sin_port);
}

bool is_world_variable(const char* entry) {
  for (const char* name : {"RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=", "MASTER_PORT="})
    if (std::strncmp(entry, name, std::strlen(name)) == 0) return true;
  return false;
}

volatile std::sig_atomic_t g_terminate = 0;
extern "C" void on_sigterm(int) { g_terminate = 1; }

}  // namespace

int run_local_workers(int nproc) {
  const auto args = own_command_line();
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int port = free_loopback_port();

  // Ctrl-C reaches the workers from the terminal and they stop cleanly
  // (saving last/); the launcher waits for them instead of dying first.
  std::signal(SIGINT, SIG_IGN);
  struct sigaction term {};
  term.sa_handler = on_sigterm;  // no SA_RESTART: waitpid returns EINTR
  sigemptyset(&term.sa_mask);
  ::sigaction(SIGTERM, &term, nullptr);

  std::vector<pid_t> workers;
  auto stop_all = [&](int sig) {
    for (pid_t p : workers)
      if (p > 0) ::kill(p, sig);
  };
  for (int rank = 0; rank < nproc; ++rank) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
      if (!is_world_variable(*e)) env.emplace_back(*e);
    for (const auto& [name, value] :
         {std::pair<const char*, std::string>{"RANK", std::to_string(rank)}, {"LOCAL_RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(nproc)}, {"LOCAL_WORLD_SIZE", std::to_string(nproc)},
          {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", std::to_string(port)}})
      env.push_back(std::string(name) + "=" + value);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    // The workers get default signal handling back (the launcher ignores SIGINT).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      stop_all(SIGTERM);
      throw Error("train: cannot start worker " + std::to_string(rank) + ": " + std::strerror(rc));
    }
    workers.push_back(pid);
  }

  int result = 0;
  size_t running = workers.size();
  bool forwarded = false;
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno != EINTR) break;
      if (g_terminate && !forwarded) {
        stop_all(SIGTERM);
        forwarded = true;
      }
      continue;
    }
    for (auto& p : workers)
      if (p == pid) p = -1;
    --running;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0 && result == 0) {
      result = code;
      if (running > 0) {
        std::cerr << "gliclass train: a worker exited with " << code << "; stopping the others\n";
        stop_all(SIGTERM);
      }
    }
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  return result;
}

}  // namespace gliclass::cli
