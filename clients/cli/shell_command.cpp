#include "shell_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <system_error>

#include "interrupts.hpp"

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace paperboy::cli {
namespace {

// How often a wait on the command looks at interrupted(), if a signal landed just before it.
constexpr int poll_slice_ms = 1000;
constexpr std::size_t read_size = 64 * 1024;

[[noreturn]] void throw_errno(int error, const char* what) {
  throw std::system_error(error, std::system_category(), what);
}

// One end of a pipe, closed when it goes out of scope or by close().
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }

  int get() const noexcept { return fd_; }
  bool open() const noexcept { return fd_ >= 0; }
  void close() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Pipe make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw_errno(errno, "cannot create a pipe");
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

void set_non_blocking(const Fd& fd) {
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    throw_errno(errno, "cannot make a pipe non-blocking");
  }
}

// posix_spawn with stdin and stdout on our pipes, nothing else inherited, and SIGPIPE back to
// its default action (we ignore it; a shell pipeline inside the command must not).
pid_t spawn_shell(const std::string& command, const Fd& stdin_end, const Fd& stdout_end) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_adddup2(&actions, stdin_end.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stdout_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  // Its own process group, so stopping it reaches what the shell started too (a `sleep` would
  // otherwise keep the output pipe open, and us waiting, after the shell is gone).
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::string arg0 = "sh";
  std::string arg1 = "-c";
  std::string arg2 = command;
  std::array<char*, 4> argv{arg0.data(), arg1.data(), arg2.data(), nullptr};
  pid_t pid = 0;
  const int error = ::posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) throw_errno(error, "cannot run /bin/sh");
  return pid;
}

// Once we are interrupted, the command and everything it started get SIGTERM, once.
void stop_if_interrupted(pid_t pid, bool& stopped) {
  if (!interrupted() || stopped) return;
  ::kill(-pid, SIGTERM);
  stopped = true;
}

int wait_for_exit(pid_t pid, bool& stopped) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno(errno, "cannot wait for the command");
    stop_if_interrupted(pid, stopped);
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace

CommandResult run_shell_command(const std::string& command, std::string_view input,
                                std::size_t max_output) {
  Pipe to_child = make_pipe();
  Pipe from_child = make_pipe();
  const pid_t pid = spawn_shell(command, to_child.read, from_child.write);
  to_child.read.close();
  from_child.write.close();

  // Feed stdin and drain stdout together: a command that writes before it has read all of its
  // input would otherwise fill one pipe while we block on the other.
  CommandResult result;
  bool stopped = false;
  std::size_t written = 0;
  std::string buffer(read_size, '\0');
  set_non_blocking(to_child.write);
  set_non_blocking(from_child.read);
  for (;;) {
    if (to_child.write.open() && written == input.size()) to_child.write.close();
    std::array<pollfd, 2> fds{};
    nfds_t count = 0;
    if (to_child.write.open()) fds[count++] = {to_child.write.get(), POLLOUT, 0};
    if (from_child.read.open()) fds[count++] = {from_child.read.get(), POLLIN, 0};
    if (count == 0) break;
    stop_if_interrupted(pid, stopped);
    const int ready = ::poll(fds.data(), count, poll_slice_ms);
    if (ready < 0 && errno != EINTR) throw_errno(errno, "poll failed");
    if (ready <= 0) continue;

    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == to_child.write.get()) {
        const auto n = ::write(fds[i].fd, input.data() + written, input.size() - written);
        if (n >= 0) {
          written += static_cast<std::size_t>(n);
        } else if (errno != EAGAIN && errno != EINTR) {
          // EPIPE: the command closed its stdin without reading all of it; that is its call.
          result.took_input = false;
          to_child.write.close();
        }
      } else {
        const auto n = ::read(fds[i].fd, buffer.data(), buffer.size());
        if (n == 0) {
          from_child.read.close();
        } else if (n > 0) {
          const auto got = static_cast<std::size_t>(n);
          const auto room = max_output - std::min(max_output, result.output.size());
          result.output.append(buffer, 0, std::min(room, got));
          if (got > room) result.truncated = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          throw_errno(errno, "cannot read the command's output");
        }
      }
    }
  }
  result.status = wait_for_exit(pid, stopped);
  return result;
}

}  // namespace paperboy::cli
