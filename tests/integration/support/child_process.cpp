#include "child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
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

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(char* const* argv, const char* out_path, const char* err_path,
                             pid_t parent) {
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

  const int in = ::open("/dev/null", O_RDONLY);
  const int out = ::open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  const int err = ::open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0 || err < 0) ::_exit(126);
  ::dup2(in, STDIN_FILENO);
  ::dup2(out, STDOUT_FILENO);
  ::dup2(err, STDERR_FILENO);
  ::execvp(argv[0], argv);
  constexpr char msg[] = "itest: exec failed\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
  ::_exit(127);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::filesystem::path& stdout_path,
                           const std::filesystem::path& stderr_path) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  // Everything the child needs is prepared before fork: after it, only the exec path runs.
  std::vector<std::string> args = argv;
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  const std::string out = stdout_path.string();
  const std::string err = stderr_path.string();
  const pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid_ == 0) exec_child(cargs.data(), out.c_str(), err.c_str(), parent);
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
