"""A real single-node Slurm cluster on localhost for the integration test (root only).

Debian's slurmctld + slurmd + munge, configured in a temporary folder:
slurmctld reads ``slurm.conf`` there and serves it "configless" to slurmd, so
jobs (and the ``srun`` the Snakemake executor runs inside them) find it
without touching ``/etc/slurm``.  Completed jobs are written by
``jobcomp/filetxt`` to ``jobcomp.log`` (there is no slurmdbd, so no ``sacct``).
Every daemon this module starts is stopped by its pid; every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel", "munged", "munge")
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")


class SlurmUnavailable(RuntimeError):
    """Slurm cannot be installed or started here (the test skips with this reason)."""


def _which(name: str):
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def ensure_installed(timeout: int = 600) -> None:
    """Install Debian's Slurm and munge when missing; SlurmUnavailable when that is impossible."""
    if os.geteuid() != 0:
        raise SlurmUnavailable("not root: starting munged, slurmctld and slurmd needs root")
    if all(_which(b) for b in BINARIES):
        return
    if not shutil.which("apt-get"):
        raise SlurmUnavailable("Slurm is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "install", "-y", "-q", *PACKAGES],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", *PACKAGES],
    ):
        try:
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SlurmUnavailable(f"{' '.join(cmd)} did not finish within {timeout} s") from None
        if cmd[1] == "install" and res.returncode == 0:
            break
    missing = [b for b in BINARIES if not _which(b)]
    if missing:
        raise SlurmUnavailable(
            f"apt-get could not install {', '.join(PACKAGES)} (still missing: "
            f"{', '.join(missing)}): {res.stderr[-500:]}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, interval: float = 0.5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(interval)
    raise SlurmUnavailable(f"gave up after {timeout:.0f} s waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


class LocalSlurm:
    """``with LocalSlurm(folder) as cluster:`` -> a running one-node cluster; ``cluster.env`` for clients."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.pids: dict[str, int] = {}
        self.host = socket.gethostname()
        self.conf = self.folder / "slurm.conf"
        self.jobcomp = self.folder / "jobcomp.log"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    # -- set-up ---------------------------------------------------------------------
    def _munge_ok(self) -> bool:
        if not MUNGE_SOCKET.exists():
            return False
        enc = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
        return (
            enc.returncode == 0
            and subprocess.run(["unmunge"], input=enc.stdout, capture_output=True, timeout=10).returncode == 0
        )

    def _start_munge(self) -> None:
        if self._munge_ok():  # somebody's munged already serves the default socket: use it, never stop it
            return
        # munged runs as user munge, which cannot enter pytest's private (0700) temporary folders
        mdir = Path(tempfile.mkdtemp(prefix="vs-munge-"))
        self._munge_dir = mdir
        MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
        for d in (mdir, MUNGE_SOCKET.parent):
            shutil.chown(d, "munge", "munge")
            d.chmod(0o755)
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=False, timeout=30)
            shutil.chown(key, "munge", "munge")
            key.chmod(0o600)
        pidfile = mdir / "munged.pid"
        res = subprocess.run(
            [
                "runuser",
                "-u",
                "munge",
                "--",
                _which("munged"),
                f"--pid-file={pidfile}",
                f"--log-file={mdir / 'munged.log'}",
                f"--seed-file={mdir / 'munged.seed'}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if res.returncode != 0:
            raise SlurmUnavailable(f"munged did not start: {res.stderr.strip()}")
        _wait(pidfile.exists, 10, "munged's pid file")
        self.pids["munged"] = int(pidfile.read_text().split()[0])
        _wait(self._munge_ok, 15, "munge to encode and decode a credential")

    def _write_config(self) -> None:
        for d in ("state", "spool"):
            (self.folder / d).mkdir(exist_ok=True)
        self.ctld_port, self.slurmd_port = _free_port(), _free_port()
        f = self.folder
        self.conf.write_text(f"""# single-node test cluster written by tests/local_slurm.py
ClusterName=vstest
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldParameters=enable_configless
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
StateSaveLocation={f / "state"}
SlurmdSpoolDir={f / "spool"}
SlurmctldPidFile={f / "slurmctld.pid"}
SlurmdPidFile={f / "slurmd.pid"}
SlurmctldLogFile={f / "slurmctld.log"}
SlurmdLogFile={f / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
NodeName={self.host} CPUs={os.cpu_count()} RealMemory={self._memory_mb()} State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")
        # Slurm 22.05 refuses CgroupPlugin=disabled; with proctrack/linuxproc and task/none it is never used
        (f / "cgroup.conf").write_text("CgroupPlugin=cgroup/v1\n")

    @staticmethod
    def _memory_mb() -> int:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        return max(1000, int(total * 0.8))

    def _daemon(self, name: str, cmd: list, pidfile: Path) -> None:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=self.env)
        if res.returncode != 0:
            raise SlurmUnavailable(f"{name} did not start: {res.stderr.strip()[-800:]}")
        _wait(pidfile.exists, 20, f"{name}'s pid file {pidfile}")
        _wait(lambda: pidfile.read_text().strip() != "", 5, f"{name}'s pid")
        self.pids[name] = int(pidfile.read_text().split()[0])

    def start(self) -> LocalSlurm:
        ensure_installed()
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._start_munge()
            self._write_config()
            self._daemon("slurmctld", [_which("slurmctld"), "-f", str(self.conf)], self.folder / "slurmctld.pid")
            _wait(lambda: self.run(["sinfo", "-h"]).returncode == 0, 30, "slurmctld to answer sinfo")
            self._daemon(
                "slurmd", [_which("slurmd"), "--conf-server", f"127.0.0.1:{self.ctld_port}"], self.folder / "slurmd.pid"
            )
            _wait(lambda: self.run(["sinfo", "-h", "-o", "%t"]).stdout.strip() == "idle", 60, "the node to become idle")
        except Exception:
            self.stop()
            raise
        return self

    # -- use and tear-down ----------------------------------------------------------------
    def run(self, cmd: list, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self.env)

    def completed_jobs(self) -> dict[int, str]:
        """JobId -> JobState of every finished job, from the jobcomp log."""
        jobs = {}
        if self.jobcomp.exists():
            for line in self.jobcomp.read_text().splitlines():
                fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                if "JobId" in fields:
                    jobs[int(fields["JobId"])] = fields.get("JobState", "")
        return jobs

    def stop(self) -> None:
        if "slurmctld" in self.pids:
            try:
                self.run(["scancel", "--user", "root"], timeout=15)
            except Exception:  # tear-down goes on whatever happens
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids.pop(name, None)
            if pid is None:
                continue
            for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                end = time.monotonic() + grace
                while _alive(pid) and time.monotonic() < end:
                    time.sleep(0.2)
                if not _alive(pid):
                    break
        if getattr(self, "_munge_dir", None) is not None:
            shutil.rmtree(self._munge_dir, ignore_errors=True)
            self._munge_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
