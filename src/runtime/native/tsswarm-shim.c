/*
 * tsswarm-shim: the per-container monitor, and (as "tsswarm-shim init") the --init process.
 *
 * Monitor mode is started by the CLI or the runtime library, detached in its own session. It
 * mounts the container's overlay root, runs `<runtime> run -d`, becomes the container's parent
 * (child subreaper), turns its stdout/stderr into docker json-file log lines, and records the
 * exit code and whether the memory cgroup saw an OOM kill. It outlives whoever started it.
 *
 * Control channel: fd 3, if open, is a socket to the starter. The shim writes one line per
 * event: "started <pid>", "error <message>", "exited <code> <oom>". With --rm, it waits for the
 * starter to write a line or hang up before it removes the container, so a foreground
 * `run --rm` can print the last log lines first.
 *
 * Static, no allocations in the steady state: a monitor costs a few hundred kB of RSS.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNTIME_ARGS 16
#define MAX_RM_PATHS 8
#define LINE_MAX_BYTES 16384

static const char *runtime_bin = "/usr/sbin/runc";
static const char *runtime_root;
static const char *runtime_args[MAX_RUNTIME_ARGS];
static int n_runtime_args;
static const char *cgroup_path;
static const char *bundle, *id, *log_path, *state_dir, *oom_file;
static const char *mount_lower, *mount_upper, *mount_work, *mount_target;
static const char *rm_paths[MAX_RM_PATHS];
static int n_rm_paths;
static int remove_after;
static int ctl_fd = -1;
static int log_fd = -1;

static void ctl(const char *fmt, ...) {
  if (ctl_fd < 0) return;
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  if (write(ctl_fd, buf, (size_t)n) < 0) {
    close(ctl_fd);
    ctl_fd = -1;
  }
}

static void now_rfc3339(char *out, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, len, "%s.%09ldZ", base, ts.tv_nsec);
}

/* Writes a whole file through a temporary name, so readers never see half of it. */
static int write_atomic(const char *dir, const char *name, const char *content) {
  char tmp[4096], dst[4096];
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  size_t len = strlen(content);
  if (write(fd, content, len) != (ssize_t)len) {
    close(fd);
    return -1;
  }
  fsync(fd);
  close(fd);
  return rename(tmp, dst);
}

struct stream {
  int fd;
  const char *name;
  char buf[LINE_MAX_BYTES];
  size_t len;
};

static void emit(struct stream *s, const char *data, size_t len) {
  /* One json-file record: {"log":"...","stream":"stdout","time":"..."} */
  static char out[LINE_MAX_BYTES * 6 + 128];
  size_t o = 0;
  o += (size_t)snprintf(out, sizeof out, "{\"log\":\"");
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)data[i];
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else if (c == '\r') {
      out[o++] = '\\';
      out[o++] = 'r';
    } else if (c == '\t') {
      out[o++] = '\\';
      out[o++] = 't';
    } else if (c < 0x20 || c == 0x7f) {
      o += (size_t)snprintf(out + o, 8, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  char ts[64];
  now_rfc3339(ts, sizeof ts);
  o += (size_t)snprintf(out + o, sizeof out - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n", s->name,
                        ts);
  if (log_fd >= 0 && write(log_fd, out, o) < 0) {
    /* A full disk must not stop the container: drop the record. */
  }
}

/* Returns 0 on EOF or error, 1 while the stream stays open. */
static int pump(struct stream *s) {
  ssize_t n = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) {
    if (s->len > 0) emit(s, s->buf, s->len);
    s->len = 0;
    close(s->fd);
    s->fd = -1;
    return 0;
  }
  s->len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < s->len; i++) {
    if (s->buf[i] == '\n') {
      emit(s, s->buf + start, i + 1 - start);
      start = i + 1;
    }
  }
  if (start == 0 && s->len == sizeof s->buf) {
    /* A line longer than the buffer is split, as docker splits at 16 kB. */
    emit(s, s->buf, s->len);
    s->len = 0;
  } else if (start > 0) {
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
  }
  return 1;
}

static int run_runtime(const char *const *extra, int n_extra, int out_fd, int err_fd) {
  const char *argv[64];
  int a = 0;
  argv[a++] = runtime_bin;
  if (runtime_root) {
    argv[a++] = "--root";
    argv[a++] = runtime_root;
  }
  for (int i = 0; i < n_extra && a < 62; i++) argv[a++] = extra[i];
  argv[a] = NULL;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(out_fd >= 0 ? out_fd : devnull, 1);
    dup2(err_fd >= 0 ? err_fd : devnull, 2);
    if (ctl_fd >= 0) close(ctl_fd);
    execv(runtime_bin, (char *const *)argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/*
 * What `runc delete` does for a stopped container, without paying ~50 ms for another Go
 * process: remove its cgroups and its state directory. Any surprise falls back to runc.
 */
static int fast_delete(void) {
  const char *base = strrchr(runtime_bin, '/');
  if (!cgroup_path || !runtime_root || strcmp(base ? base + 1 : runtime_bin, "runc") != 0) return -1;
  char path[4096];
  DIR *d = opendir("/sys/fs/cgroup");
  if (!d) return -1;
  int failed = 0;
  snprintf(path, sizeof path, "/sys/fs/cgroup/cgroup.controllers");
  if (access(path, F_OK) == 0) {
    snprintf(path, sizeof path, "/sys/fs/cgroup%s", cgroup_path);
    if (rmdir(path) != 0 && errno != ENOENT) failed = 1;
  } else {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      snprintf(path, sizeof path, "/sys/fs/cgroup/%s%s", e->d_name, cgroup_path);
      if (rmdir(path) != 0 && errno != ENOENT && errno != ENOTDIR) failed = 1;
    }
  }
  closedir(d);
  if (failed) return -1;
  snprintf(path, sizeof path, "%s/%s", runtime_root, id);
  nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

static void release_runtime(void) {
  if (fast_delete() != 0) {
    const char *del[] = {"delete", "--force", id};
    run_runtime(del, 3, -1, -1);
  }
  if (mount_target) umount2(mount_target, MNT_DETACH);
}

static void cleanup(void) {
  release_runtime();
  if (remove_after) {
    for (int i = 0; i < n_rm_paths; i++) {
      struct stat st;
      if (lstat(rm_paths[i], &st) != 0) continue;
      if (S_ISDIR(st.st_mode))
        nftw(rm_paths[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
      else
        unlink(rm_paths[i]);
    }
  }
}

/* The last "msg" of runc's json log, or "" if none. */
static void runtime_error(char *out, size_t len) {
  out[0] = 0;
  char path[4096];
  snprintf(path, sizeof path, "%s/runtime.log", bundle);
  FILE *f = fopen(path, "re");
  if (!f) return;
  static char line[8192];
  while (fgets(line, sizeof line, f)) {
    if (!strstr(line, "\"level\":\"error\"")) continue;
    char *m = strstr(line, "\"msg\":\"");
    if (!m) continue;
    m += 7;
    size_t o = 0;
    for (char *p = m; *p && *p != '\n' && o + 1 < len; p++) {
      if (*p == '\\' && p[1]) {
        p++;
        out[o++] = *p == 'n' ? ' ' : *p;
      } else if (*p == '"') {
        break;
      } else {
        out[o++] = *p;
      }
    }
    out[o] = 0;
  }
  fclose(f);
}

static int oom_killed(void) {
  if (!oom_file) return 0;
  FILE *f = fopen(oom_file, "re");
  if (!f) return 0;
  char line[256];
  int killed = 0;
  while (fgets(line, sizeof line, f)) {
    long n;
    if (sscanf(line, "oom_kill %ld", &n) == 1 && n > 0) killed = 1;
  }
  fclose(f);
  return killed;
}

static void wait_for_ack(void) {
  if (ctl_fd < 0) return;
  struct pollfd p = {.fd = ctl_fd, .events = POLLIN};
  char c;
  /* The starter is printing the last log lines; it answers within a moment or is gone. */
  if (poll(&p, 1, 30000) > 0 && (p.revents & POLLIN)) {
    if (read(ctl_fd, &c, 1) < 0) {
      /* hung up: nothing to wait for */
    }
  }
}

static int monitor(void) {
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  /* Stop and kill go through the runtime; a stray SIGTERM/SIGINT must not lose the exit code. */
  signal(SIGTERM, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);

  if (mount_target) {
    char opts[4096 * 2];
    int n = snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", mount_lower,
                     mount_upper, mount_work);
    if (n < 0 || (size_t)n >= sizeof opts ||
        mount("overlay", mount_target, "overlay", 0, opts) != 0) {
      ctl("error mount overlay on %s: %s\n", mount_target, strerror(errno));
      return 1;
    }
  }
  log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log_fd < 0) {
    ctl("error open log %s: %s\n", log_path, strerror(errno));
    cleanup();
    return 1;
  }
  int outp[2], errp[2];
  if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
    ctl("error pipe: %s\n", strerror(errno));
    cleanup();
    return 1;
  }
  char pid_file[4096], runtime_log[4096];
  snprintf(pid_file, sizeof pid_file, "%s/pid", bundle);
  snprintf(runtime_log, sizeof runtime_log, "%s/runtime.log", bundle);
  const char *run[8 + MAX_RUNTIME_ARGS];
  int r = 0;
  for (int i = 0; i < n_runtime_args; i++) run[r++] = runtime_args[i];
  run[r++] = "--log";
  run[r++] = runtime_log;
  run[r++] = "--log-format";
  run[r++] = "json";
  run[r++] = "run";
  run[r++] = "-d";
  run[r++] = "--pid-file";
  run[r++] = pid_file;
  run[r++] = "--bundle";
  run[r++] = bundle;
  run[r++] = id;
  /* runc passes its stdio straight to the container in detached mode. */
  int rc = run_runtime(run, r, outp[1], errp[1]);
  close(outp[1]);
  close(errp[1]);
  struct stream out = {.fd = outp[0], .name = "stdout"};
  struct stream err = {.fd = errp[0], .name = "stderr"};
  if (rc != 0) {
    char msg[2048];
    runtime_error(msg, sizeof msg);
    if (!msg[0]) {
      ssize_t n = read(errp[0], msg, sizeof msg - 1);
      msg[n > 0 ? n : 0] = 0;
      for (char *p = msg; *p; p++)
        if (*p == '\n') *p = ' ';
    }
    /* Unmount before answering: the starter removes the directories once it hears back. */
    remove_after = 0;
    cleanup();
    ctl("error %s\n", msg[0] ? msg : "runtime failed");
    return 1;
  }
  pid_t child = 0;
  FILE *pf = fopen(pid_file, "re");
  if (pf) {
    if (fscanf(pf, "%d", &child) != 1) child = 0;
    fclose(pf);
  }
  char ts[64], json[512];
  now_rfc3339(ts, sizeof ts);
  snprintf(json, sizeof json, "{\"pid\":%d,\"monitorPid\":%d,\"startedAt\":\"%s\"}\n", child,
           getpid(), ts);
  write_atomic(state_dir, "running.json", json);
  ctl("started %d\n", child);

  int status = -1;
  int exited = 0;
  struct timespec drain_deadline = {0, 0};
  while (out.fd >= 0 || err.fd >= 0 || !exited) {
    struct pollfd fds[3];
    int nf = 0;
    fds[nf++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    fds[nf++] = (struct pollfd){.fd = out.fd, .events = POLLIN};
    fds[nf++] = (struct pollfd){.fd = err.fd, .events = POLLIN};
    int timeout = -1;
    if (exited) {
      /* Grandchildren that escaped the pid namespace could hold the pipes forever. */
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long left = (drain_deadline.tv_sec - now.tv_sec) * 1000 +
                  (drain_deadline.tv_nsec - now.tv_nsec) / 1000000;
      if (left <= 0) break;
      timeout = (int)left;
    }
    int n = poll(fds, (nfds_t)nf, timeout);
    if (n < 0 && errno != EINTR) break;
    if (fds[1].fd >= 0 && fds[1].revents) pump(&out);
    if (fds[2].fd >= 0 && fds[2].revents) pump(&err);
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      int st;
      pid_t p;
      while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p == child) {
          status = st;
          exited = 1;
          clock_gettime(CLOCK_MONOTONIC, &drain_deadline);
          drain_deadline.tv_sec += 2;
        }
      }
      if (child <= 0 && p < 0 && errno == ECHILD) exited = 1;
    }
  }
  if (out.fd >= 0) pump(&out);
  if (err.fd >= 0) pump(&err);
  int code = 255;
  if (status >= 0) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int oom = oom_killed();
  /* Cgroup and mount go before the exit is recorded: whoever sees "exited" sees them gone. */
  release_runtime();
  now_rfc3339(ts, sizeof ts);
  if (status < 0)
    snprintf(json, sizeof json,
             "{\"exitCode\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\",\"error\":\"monitor lost "
             "the container process (pid %d)\"}\n",
             code, oom ? "true" : "false", ts, child);
  else
    snprintf(json, sizeof json, "{\"exitCode\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\"}\n",
             code, oom ? "true" : "false", ts);
  write_atomic(state_dir, "exit.json", json);
  ctl("exited %d %d\n", code, oom);
  if (remove_after) {
    wait_for_ack();
    cleanup();
  }
  return 0;
}

/* --init: pid 1 inside the container; forwards signals and reaps orphans, like tini. */
static pid_t init_child;
static void forward(int sig) {
  if (init_child > 0) kill(init_child, sig);
}

static int init_main(int argc, char **argv) {
  int first = 2;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    fprintf(stderr, "tsswarm-init: no command\n");
    return 127;
  }
  init_child = fork();
  if (init_child < 0) return 126;
  if (init_child == 0) {
    setpgid(0, 0);
    execvp(argv[first], argv + first);
    fprintf(stderr, "tsswarm-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);
  for (;;) {
    int st;
    pid_t p = wait(&st);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0) return 0;
    if (p == init_child) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
}

static int usage(const char *msg) {
  fprintf(stderr, "tsswarm-shim: %s\n", msg);
  return 2;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "init") == 0) return init_main(argc, argv);
  const char *base = strrchr(argv[0], '/');
  if (strcmp(base ? base + 1 : argv[0], "tsswarm-init") == 0) {
    /* Invoked as /sbin/tsswarm-init -- cmd... */
    char **shifted = argv - 1;
    (void)shifted;
    int first = 1;
    if (first < argc && strcmp(argv[first], "--") == 0) first++;
    static char *args[256];
    int n = 0;
    args[n++] = argv[0];
    args[n++] = "init";
    for (int i = first; i < argc && n < 255; i++) args[n++] = argv[i];
    args[n] = NULL;
    return init_main(n, args);
  }
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(k, "--rm") == 0) {
      remove_after = 1;
      continue;
    }
    if (!v) return usage("missing value");
    i++;
    if (strcmp(k, "--runtime") == 0)
      runtime_bin = v;
    else if (strcmp(k, "--runtime-root") == 0)
      runtime_root = v;
    else if (strcmp(k, "--runtime-arg") == 0 && n_runtime_args < MAX_RUNTIME_ARGS)
      runtime_args[n_runtime_args++] = v;
    else if (strcmp(k, "--bundle") == 0)
      bundle = v;
    else if (strcmp(k, "--id") == 0)
      id = v;
    else if (strcmp(k, "--log") == 0)
      log_path = v;
    else if (strcmp(k, "--state-dir") == 0)
      state_dir = v;
    else if (strcmp(k, "--cgroup") == 0)
      cgroup_path = v;
    else if (strcmp(k, "--oom-file") == 0)
      oom_file = v;
    else if (strcmp(k, "--lower") == 0)
      mount_lower = v;
    else if (strcmp(k, "--upper") == 0)
      mount_upper = v;
    else if (strcmp(k, "--work") == 0)
      mount_work = v;
    else if (strcmp(k, "--target") == 0)
      mount_target = v;
    else if (strcmp(k, "--rm-path") == 0 && n_rm_paths < MAX_RM_PATHS)
      rm_paths[n_rm_paths++] = v;
    else
      return usage("unknown option");
  }
  if (!bundle || !id || !log_path || !state_dir) return usage("need --bundle --id --log --state-dir");
  if (mount_target && (!mount_lower || !mount_upper || !mount_work))
    return usage("--target needs --lower --upper --work");
  if (fcntl(3, F_GETFD) != -1) {
    ctl_fd = 3;
    fcntl(ctl_fd, F_SETFD, FD_CLOEXEC);
  }
  return monitor();
}
