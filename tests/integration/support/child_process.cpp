#include "child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace paperboy::itest {

bool ExitStatus::exited() const {
  return WIFEXITED(raw);
}
int ExitStatus::code() const {
  return WEXITSTATUS(raw);
}
bool ExitStatus::signaled() const {
  return WIFSIGNALED(raw);
}
int ExitStatus::signal() const {
  return WTERMSIG(raw);
}

std::string ExitStatus::describe() const {
  if (exited()) return "exit " + std::to_string(code());
  if (signaled()) return "signal " + std::to_string(signal()) + " (" + ::strsignal(signal()) + ")";
  return "wait status " + std::to_string(raw);
}

namespace {

constexpr int listen_fds_start = 3;  // SD_LISTEN_FDS_START
constexpr std::string_view listen_pid_prefix = "LISTEN_PID=";
constexpr std::size_t pid_digits = 20;

// The environment the child gets: the test's own with options.environment set over it (a name
// given there replaces the inherited one; a bare NAME without '=' removes it), and for socket
// activation a LISTEN_PID entry with room for the pid, which only the child knows.
std::vector<std::string> child_environment(const ChildOptions& options) {
  std::vector<std::string> added = options.environment;
  if (options.listen_fd >= 0) {
    added.push_back("LISTEN_FDS=1");
    added.push_back(std::string(listen_pid_prefix) + std::string(pid_digits, '\0'));
  }
  auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view inherited(*entry);
    const bool replaced = std::any_of(added.begin(), added.end(), [&](const std::string& a) {
      return name_of(a) == name_of(inherited);
    });
    if (!replaced) environment.emplace_back(inherited);
  }
  std::copy_if(added.begin(), added.end(), std::back_inserter(environment),
               [](const std::string& a) { return a.find('=') != std::string::npos; });
  return environment;
}

// Writes the decimal pid into the room left for it (async-signal-safe: no allocation).
void fill_pid(char* room, pid_t pid) {
  char digits[pid_digits];
  std::size_t n = 0;
  for (auto value = static_cast<unsigned long>(pid); n == 0 || value != 0; value /= 10) {
    digits[n++] = static_cast<char>('0' + value % 10);
  }
  for (std::size_t i = 0; i < n; ++i) room[i] = digits[n - 1 - i];
  room[n] = '\0';
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(char* const* argv, char* const* envp, char* listen_pid_room,
                             int listen_fd, std::uint64_t file_size_limit, const char* out_path,
                             const char* err_path, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(126);  // the parent died before prctl took effect

  // The test process ignores SIGPIPE; ignored signals survive exec, and the daemon must run
  // with the dispositions it would get from a shell or systemd.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (file_size_limit != 0) {
    // Ignored signals survive exec: a write past the limit fails with EFBIG instead of killing.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGXFSZ, &ignore, nullptr);
    rlimit limit{};
    ::getrlimit(RLIMIT_FSIZE, &limit);
    limit.rlim_cur = file_size_limit;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(126);
  }

  const int in = ::open("/dev/null", O_RDONLY);
  const int out = ::open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int err = ::open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0 || err < 0) ::_exit(126);
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(err, STDERR_FILENO);
  if (listen_fd >= 0) {
    // dup2 clears FD_CLOEXEC on the copy; a descriptor already at 3 needs it cleared by hand.
    if (listen_fd == listen_fds_start) {
      ::fcntl(listen_fd, F_SETFD, 0);
    } else if (::dup2(listen_fd, listen_fds_start) < 0) {
      ::_exit(126);
    }
    fill_pid(listen_pid_room, ::getpid());
  }
  ::execvpe(argv[0], argv, envp);
  constexpr char msg[] = "itest: exec failed\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  ::_exit(127);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::filesystem::path& stdout_path,
                           const std::filesystem::path& stderr_path, const ChildOptions& options) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  // Everything the child needs is prepared before fork: after it, only the exec path runs.
  std::vector<std::string> args = argv;
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  const std::string out = stdout_path.string();
  const std::string err = stderr_path.string();
  std::vector<std::string> environment = child_environment(options);
  std::vector<char*> cenv;
  char* listen_pid_room = nullptr;
  for (auto& entry : environment) {
    cenv.push_back(entry.data());
    if (options.listen_fd >= 0 && entry.starts_with(listen_pid_prefix)) {
      listen_pid_room = entry.data() + listen_pid_prefix.size();
    }
  }
  cenv.push_back(nullptr);
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid_ == 0) {
    exec_child(cargs.data(), cenv.data(), listen_pid_room, options.listen_fd,
               options.file_size_limit, out.c_str(), err.c_str(), parent);
  }
}

ChildProcess::~ChildProcess() {
  if (!status_) kill();
}

bool ChildProcess::reap(int flags) {
  if (status_) return true;
  int raw = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &raw, flags);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    status_ = ExitStatus{raw};
    return true;
  }
  return false;
}

bool ChildProcess::running() {
  return !reap(WNOHANG);
}

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<ExitStatus> ChildProcess::wait_for(Duration timeout) {
  // waitpid has no timeout; poll it. The step only bounds how late an exit is noticed.
  if (wait_until([this] { return reap(WNOHANG); }, timeout, std::chrono::milliseconds(2))) {
    return status_;
  }
  return std::nullopt;
}

ExitStatus ChildProcess::kill() {
  if (!reap(WNOHANG)) {
    ::kill(pid_, SIGKILL);
    reap(0);
  }
  return *status_;
}

}  // namespace paperboy::itest
