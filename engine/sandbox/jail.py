"""How a sandbox is made: bubblewrap's namespaces (no network, no host files, no host
processes), a seccomp filter, and resource limits. The one place that decides what code run
by code_interpreter can see and do.

- Namespaces: user, pid, net (only its own loopback), ipc, uts, cgroup; nested user
  namespaces are refused (`--disable-userns`). The root is empty and read-only but for what
  is bound in: /usr (and its /bin, /lib links), the sandbox's Python read-only, the runner,
  a private /proc and /dev, and two size-limited tmpfs folders, /tmp and /mnt/data.
- seccomp: the kernel interfaces code has no use for and escapes are made of (ptrace,
  mounts, namespaces, keyrings, bpf, kernel modules, io_uring…) fail with EPERM.
- Limits: memory (RLIMIT_AS), processes (RLIMIT_NPROC, counted inside the sandbox's own
  user namespace), file size, open files, no core dumps — set by the runner before any code
  runs, soft and hard alike. CPU time, wall time, output size and the memory of all the
  sandbox's processes together are kept by the supervisor (from the kernel's accounting in
  /proc: the code cannot change it, and the supervisor may lack CAP_SYS_RESOURCE to move
  another user's RLIMIT_CPU).
- A server running as root hands the sandbox to an unprivileged user first (`nobody`): the
  kernel does not count root's processes against RLIMIT_NPROC, and a root mapped into the
  sandbox's user namespace would be root outside it too."""

import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

RUNNER = Path(__file__).with_name("runner.py")
RUNNER_INSIDE = "/opt/threadline/runner.py"
SANDBOX_USER = 65534  # nobody: the user a root server hands the sandbox to
OPEN_FILES = 256
# System call names the filter refuses (those this kernel does not know are skipped).
REFUSED_CALLS = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "fanotify_init",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "syslog",
    "acct",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "iopl",
    "ioperm",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "quotactl",
    "vhangup",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
)


class Unavailable(Exception):
    """No sandbox can be made on this host; the message says why. Code never runs then."""


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int
    wall_seconds: float
    memory_bytes: int
    processes: int
    output_bytes: int
    disk_bytes: int  # each of /mnt/data and /tmp (memory-backed)


@dataclass(frozen=True)
class Command:
    argv: list[str]
    seccomp: int  # the filter's file descriptor, passed to bwrap


# As root: a private mount namespace where what the sandbox needs is bound read-only under
# /mnt (a fresh tmpfs, searchable by all), then the sandbox's user, then bwrap. So `nobody`
# reaches the sandbox's Python even when a folder above it is private (a clone in a
# `mktemp -d` folder, a Python under a private home). The host's mounts are untouched.
_STAGE = """set -e
mount -t tmpfs -o mode=755,size=64k threadline-sandbox /mnt
count=$1; shift; i=0
while [ "$i" -lt "$count" ]; do
  if [ -d "$1" ]; then mkdir "/mnt/$i"; else touch "/mnt/$i"; fi
  mount --bind -o ro "$1" "/mnt/$i"
  i=$((i + 1)); shift
done
exec "$@"
"""
_BECOME_SANDBOX_USER = [
    "setpriv",
    f"--reuid={SANDBOX_USER}",
    f"--regid={SANDBOX_USER}",
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "--",
]


class Jail:
    def __init__(self, python: Path, limits: Limits) -> None:
        self.python = python
        self.limits = limits

    def problem(self) -> str | None:
        """Why no sandbox can be made here, or None."""
        missing = [tool for tool in self._tools() if shutil.which(tool) is None]
        if missing:
            return (
                f"{', '.join(missing)} not installed; `make install` installs bubblewrap "
                "(Debian packages bubblewrap, util-linux, mount)."
            )
        if not self.python.is_file():
            return (
                f"the sandbox's Python {self.python} is missing; `make install` builds it "
                "(THREADLINE_SANDBOX_PYTHON names another)."
            )
        try:
            import pyseccomp  # noqa: F401  (loads libseccomp)
        except (ImportError, OSError) as error:
            return f"seccomp is unavailable (libseccomp2 and pyseccomp are needed): {error}"
        return None

    @staticmethod
    def _tools() -> list[str]:
        return ["bwrap", "unshare", "mount", "setpriv"] if os.geteuid() == 0 else ["bwrap"]

    def command(self, requests: int, replies: int, info: int) -> Command:
        """The command line for one session; `requests` and `replies` are the runner's pipes,
        `info` where bwrap writes its pids. Raises Unavailable."""
        if why := self.problem():
            raise Unavailable(why)
        setup = {
            "requests": requests,
            "replies": replies,
            "limits": {
                "memory_bytes": self.limits.memory_bytes,
                "processes": self.limits.processes,
                "file_bytes": self.limits.disk_bytes,
                "open_files": OPEN_FILES,
            },
        }
        # Read-only binds: where they are on the host → where the sandbox sees them.
        binds = {folder: folder for folder in self._python_folders()}
        binds[str(RUNNER)] = RUNNER_INSIDE
        staged = os.geteuid() == 0
        sources = [f"/mnt/{i}" for i in range(len(binds))] if staged else list(binds)
        seccomp = _seccomp_filter()
        bwrap = [
            "bwrap",
            *("--info-fd", str(info)),
            *("--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc"),
            *("--unshare-uts", "--unshare-cgroup-try", "--disable-userns"),
            *("--die-with-parent", "--new-session", "--hostname", "sandbox"),
            *_system_folders(),
            # Before the binds: a sandbox Python under /tmp stays visible.
            *("--size", str(self.limits.disk_bytes), "--tmpfs", "/tmp"),
            *("--size", str(self.limits.disk_bytes), "--tmpfs", "/mnt/data"),
            *[
                a
                for src, dest in zip(sources, binds.values(), strict=True)
                for a in ("--ro-bind", src, dest)
            ],
            *("--proc", "/proc", "--dev", "/dev"),
            *("--remount-ro", "/", "--chdir", "/mnt/data"),
            "--clearenv",
            *[a for name, value in self._environment().items() for a in ("--setenv", name, value)],
            *("--seccomp", str(seccomp)),
            "--",
            *(str(self.python.absolute()), "-I", "-B", "-u", RUNNER_INSIDE, json.dumps(setup)),
        ]
        if not staged:
            return Command(argv=bwrap, seccomp=seccomp)
        stage = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _STAGE]
        return Command(
            argv=[*stage, "sh", str(len(binds)), *binds, *_BECOME_SANDBOX_USER, *bwrap],
            seccomp=seccomp,
        )

    def _python_folders(self) -> list[str]:
        """The sandbox's Python: its venv, and the installation the venv was made from."""
        python = self.python.absolute()
        venv = python.parent.parent
        folders = [str(venv)]
        config = venv / "pyvenv.cfg"
        if config.is_file():
            for line in config.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home":
                    folders.append(str(Path(value.strip()).resolve().parent))
        return [f for f in dict.fromkeys(folders) if not f.startswith("/usr/")]

    def _environment(self) -> dict[str, str]:
        venv_bin = str(self.python.absolute().parent)
        return {
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": "/tmp/matplotlib",
            # One thread per math library: no pools of idle threads per session.
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }


def _system_folders() -> list[str]:
    """/usr read-only, and /bin, /lib… as the host has them (links into /usr, or folders)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _seccomp_filter() -> int:
    """The filter as BPF in an unlinked temporary file; bwrap reads it from the descriptor."""
    import pyseccomp as seccomp

    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in REFUSED_CALLS:
        try:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        except (ValueError, RuntimeError, OSError):
            continue  # a call this kernel (or libseccomp) does not know
    # clone3's flags are out of a filter's reach: ENOSYS makes libc fall back to clone.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.flush()
        out.seek(0)
        return os.dup(out.fileno())  # the offset is shared: bwrap reads from the start
