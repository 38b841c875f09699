// An interrupted `ffn-parity golden bless --force` never damages the golden it replaces:
// the process is SIGKILLed at several points (while it computes, and as soon as its
// temporary file appears, i.e. while it writes), and after each kill the golden must be
// either byte-identical to the one before, or (a kill that landed after the rename) a
// complete new golden; `golden info` must read it, and the only other file a kill may leave
// is the process's own FILE.tmp.<pid>.
//   golden_interrupt <ffn-parity> <work dir>
// Exit 0: all good; 1: a check failed (printed).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    std::cout << "FAIL " << what << "\n";
    ++failures;
  }
}

std::vector<char> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Starts `args` with stdout and stderr discarded.
pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (pid < 0) {
    std::perror("fork");
    std::exit(1);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

int run(const std::vector<std::string>& args) {
  const int status = wait_for(spawn(args));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Whether the child is still running (it is not reaped here).
bool running(pid_t pid) {
  siginfo_t si{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return si.si_pid == 0;
}

struct Outcome {
  bool killed = false;   // the kill landed before the process ended
  bool saw_tmp = false;  // its temporary file existed when it was killed
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: golden_interrupt <ffn-parity> <work dir>\n";
    return 2;
  }
  const std::string tool = argv[1];
  const fs::path dir = argv[2];
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path golden = dir / "interrupted.h5";
  // 64 tokens: about 0.1 s of compute and a 0.5 MB file, whose write the poll below catches.
  const std::vector<std::string> bless = {tool, "golden", "bless", "--shape", "tiny", "--tokens", "64",
                                          "-o", golden.string(), "--force"};
  const std::vector<std::string> info = {tool, "golden", "info", golden.string()};

  if (run(bless) != 0 || run(info) != 0) {
    std::cout << "FAIL cannot bless the golden to interrupt\n";
    return 1;
  }
  std::vector<char> before = bytes_of(golden);

  // One bless, killed by `kill_when`; then the checks.
  const auto attempt = [&](const std::string& label, auto kill_when) {
    const pid_t pid = spawn(bless);
    const fs::path tmp = golden.string() + ".tmp." + std::to_string(pid);
    Outcome o;
    kill_when(pid, tmp, o);
    const int status = wait_for(pid);
    o.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (!o.killed) check(WIFEXITED(status) && WEXITSTATUS(status) == 0, label + ": bless failed on its own");
    const bool tmp_left = fs::exists(tmp);

    const std::vector<char> after = bytes_of(golden);
    std::string what;
    if (after == before) {
      what = "golden unchanged";
    } else {
      // Only a finished rename may change the golden: the temporary file is then gone.
      what = "golden replaced";
      check(!tmp_left, label + ": golden changed while " + tmp.string() + " is still there (not a rename)");
    }
    check(run(info) == 0, label + ": `golden info` cannot read the golden after the kill (" + what + ")");
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      check(name == golden.filename().string() || name == golden.filename().string() + ".cases" ||
                e.path() == tmp,
            label + ": unexpected file " + name);
    }
    if (tmp_left) fs::remove(tmp);
    std::cout << label << ": " << (o.killed ? "killed" : "finished") << (o.saw_tmp ? " while writing" : "")
              << ", " << what << (tmp_left ? ", its temporary file left behind" : "") << "\n";
    before = after;
    return o;
  };

  int killed_computing = 0, killed_writing = 0;
  for (const auto delay : {0ms, 20ms, 50ms, 100ms, 200ms}) {
    const Outcome o = attempt("kill after " + std::to_string(delay.count()) + " ms",
                              [&](pid_t pid, const fs::path& tmp, Outcome& out) {
                                std::this_thread::sleep_for(delay);
                                out.saw_tmp = fs::exists(tmp);
                                ::kill(pid, SIGKILL);
                              });
    killed_computing += o.killed && !o.saw_tmp;
  }
  // As soon as the temporary file appears: the kill lands while the golden is written.
  for (int i = 0; i < 12 && killed_writing < 3; ++i) {
    const Outcome o = attempt("kill when the temporary file appears (" + std::to_string(i + 1) + ")",
                              [&](pid_t pid, const fs::path& tmp, Outcome& out) {
                                struct stat st {};
                                while (running(pid)) {
                                  if (::stat(tmp.c_str(), &st) == 0) {
                                    out.saw_tmp = true;
                                    break;
                                  }
                                  std::this_thread::sleep_for(20us);
                                }
                                ::kill(pid, SIGKILL);
                              });
    killed_writing += o.killed && o.saw_tmp;
  }
  check(killed_computing > 0, "no kill landed before the write");
  check(killed_writing > 0, "no kill landed while the golden was written");
  std::cout << killed_computing << " kills before the write, " << killed_writing << " while writing; "
            << failures << " failures\n";
  fs::remove_all(dir);
  return failures == 0 ? 0 : 1;
}
