"""Copy the /sys and /proc files numaview reads into a tarball (a test fixture).

    python3 tools/gather_tree.py OUT.tar.gz [--load N] [--interval S]

Like hwloc-gather-topology: the result, unpacked, is an FSROOT that
``numaview topology --root DIR`` reads as if it were that machine. Files are
copied by content (sysfs reports every file as 4096 bytes, so tar alone
cannot). With ``--load N`` it starts N busy processes pinned to CPUs 0..N-1 and
copies /proc twice, ``--interval`` apart (``proc/`` and ``t1/proc/``), so the
sampler's rate code has real before/after counters, and the load's
/proc/PID trees are included. Standard library only: it runs on machines
where numaview is not installed.
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import sys
import tarfile
import time

SYS_GLOBS = [
    "/sys/devices/system/cpu/*",
    "/sys/devices/system/cpu/smt/*",
    "/sys/devices/system/cpu/cpu[0-9]*/online",
    "/sys/devices/system/cpu/cpu[0-9]*/cpu_capacity",
    "/sys/devices/system/cpu/cpu[0-9]*/topology/*",
    "/sys/devices/system/cpu/cpu[0-9]*/cache/index*/*",
    "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/*_freq",
    "/sys/devices/system/node/*",
    "/sys/devices/system/node/node*/cpulist",
    "/sys/devices/system/node/node*/cpumap",
    "/sys/devices/system/node/node*/distance",
    "/sys/devices/system/node/node*/meminfo",
    "/sys/devices/system/node/node*/numastat",
    "/sys/devices/system/node/node*/vmstat",
    "/sys/devices/cpu_core/cpus",
    "/sys/devices/cpu_atom/cpus",
]
PROC_FILES = [
    "stat",
    "meminfo",
    "vmstat",
    "loadavg",
    "uptime",
    "cpuinfo",
    "pressure/cpu",
    "pressure/memory",
    "pressure/io",
    "sys/kernel/hostname",
    "sys/kernel/osrelease",
    "sys/kernel/numa_balancing",
    "self/status",
    "self/cgroup",
    "self/mountinfo",
]
PID_FILES = ["stat", "schedstat", "status", "cmdline", "comm", "cgroup", "numa_maps", "io", "sched"]


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o444
    tar.addfile(info, io.BytesIO(data))


def add_file(tar: tarfile.TarFile, path: str, name: str) -> None:
    if os.path.islink(path):
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(path)
        tar.addfile(info)
        return
    if not os.path.isfile(path):
        return
    try:
        with open(path, "rb") as f:
            data = f.read()  # no huge size: /proc/sys refuses reads over KMALLOC_MAX_SIZE
    except OSError:
        return  # write-only or refusing files (e.g. some cpufreq attributes)
    add_bytes(tar, name, data)


def add_proc(tar: tarfile.TarFile, prefix: str, pids: list[int]) -> None:
    for rel in PROC_FILES:
        add_file(tar, f"/proc/{rel}", f"{prefix}proc/{rel}")
    for pid in pids:
        for rel in PID_FILES:
            add_file(tar, f"/proc/{pid}/{rel}", f"{prefix}proc/{pid}/{rel}")
        for task in sorted(os.listdir(f"/proc/{pid}/task")):
            for rel in ("stat", "status"):
                add_file(
                    tar, f"/proc/{pid}/task/{task}/{rel}", f"{prefix}proc/{pid}/task/{task}/{rel}"
                )


def cgroup_files(tar: tarfile.TarFile) -> None:
    with open("/proc/self/mountinfo") as f:
        mountinfo = f.read()
    for line in mountinfo.splitlines():
        fields = line.split()
        if "cgroup" in line and len(fields) > 4:
            mnt = fields[4]
            for name in (
                "cpuset.cpus.effective",
                "cpuset.mems.effective",
                "cpuset.effective_cpus",
                "cpuset.effective_mems",
            ):
                for path in glob.glob(f"{mnt}/{name}") + glob.glob(f"{mnt}/*/{name}"):
                    add_file(tar, path, path.lstrip("/"))


def burn(cpu: int) -> None:
    os.sched_setaffinity(0, {cpu})
    x = 0
    while True:
        x += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--load", type=int, default=0)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()
    kids: list[int] = []
    online = sorted(os.sched_getaffinity(0))
    for i in range(min(args.load, len(online))):
        pid = os.fork()
        if pid == 0:
            burn(online[i])
        kids.append(pid)
    time.sleep(0.5 if kids else 0)
    try:
        with tarfile.open(args.out, "w:gz") as tar:
            for pattern in SYS_GLOBS:
                for path in sorted(glob.glob(pattern)):
                    add_file(tar, path, path.lstrip("/"))
            for link in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/node*"):
                add_file(tar, link, link.lstrip("/"))
            cgroup_files(tar)
            add_proc(tar, "", kids)
            if kids:
                time.sleep(args.interval)
                add_proc(tar, "t1/", kids)
            add_bytes(
                tar, "GATHERED", f"{time.time():.3f} {os.uname().nodename} load={kids}\n".encode()
            )
    finally:
        for pid in kids:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    print(
        f"gathered {args.out} ({os.path.getsize(args.out)} bytes), load pids {kids}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
