"""A builder of fake sysfs/procfs trees, shared by the whole suite.

``build_machine(root, Shape(...))`` writes FSROOT/sys and FSROOT/proc for a
machine of the given shape (packages × nodes × L3 × cores × SMT) and quirks,
and returns a ``Machine`` that says what discovery should find, so tests
compare against the shape instead of hard-coding answers.

Numbering follows Linux on x86 servers by default: CPU id =
thread * total_cores + core index, so the SMT siblings of CPU 0 on a 64-core
machine are 0 and 64. ``sibling_layout="adjacent"`` numbers siblings 0,1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from numaview.model.cpuset import format_cpulist


def cpumask(cpus: set[int] | list[int] | tuple[int, ...], nbits: int) -> str:
    """The kernel's hex mask: 32-bit words, high first, comma separated."""
    value = 0
    for c in cpus:
        value |= 1 << c
    words = max(1, (nbits + 31) // 32)
    out = [f"{(value >> (32 * i)) & 0xFFFFFFFF:08x}" for i in reversed(range(words))]
    return ",".join(out)


@dataclass
class Shape:
    packages: int = 2
    nodes_per_package: int = 2
    l3_per_node: int = 1
    l3_per_package: bool = False  # Intel SNC: one L3 spans the package's nodes
    cores_per_l3: int = 4
    smt: int = 2
    sibling_layout: str = "stride"  # or "adjacent"
    node_ids: list[int] | None = None  # sparse ids, in order of the CPU-bearing nodes
    memory_only_nodes: dict[int, int] = field(default_factory=dict)  # id -> bytes
    mem_per_node: int = 16 * 1024**3
    offline: set[int] = field(default_factory=set)
    offline_keeps_topology: bool = False  # old kernels kept topology/ of offline CPUs
    masks_only: bool = False  # old kernels: cpumap / *_siblings / shared_cpu_map only
    no_cache: set[int] | None = None  # CPUs without cache/ (None: all have one)
    no_cache_at_all: bool = False
    core_id_repeats: bool = True  # core_id restarts at 0 in every package
    junk: bool = False  # trailing NULs and spaces in files
    kinds: dict[int, str] = field(default_factory=dict)  # cpu -> "core" | "atom"
    l3_size: int = 32 * 1024**2
    l2_size: int = 1024**2
    hostname: str = "fakehost"
    cpus_allowed: list[int] | None = None  # default: online CPUs
    cgroup: str = "/"
    cgroup_version: int = 2
    cgroup_cpus: list[int] | None = None


@dataclass
class Machine:
    """What discovery should report for a built tree."""

    root: Path
    shape: Shape
    cpus: list[int]
    online: list[int]
    package_of: dict[int, int]
    node_of: dict[int, int]
    l3_of: dict[int, int]  # cpu -> index of its L3 domain (ordered by first cpu)
    core_of: dict[int, int]  # cpu -> global core index
    siblings_of: dict[int, list[int]]
    node_ids: list[int]  # all nodes, CPU-bearing and memory-only, sorted

    @property
    def total_cores(self) -> int:
        return len(set(self.core_of.values()))


class FakeTree:
    """Writes files under a root; the primitive the builders and tests share."""

    def __init__(self, root: Path, junk: bool = False) -> None:
        self.root = root
        self.junk = junk
        self._dirs: set[str] = set()

    def write(self, rel: str, text: str) -> None:
        # Plain os calls: a 1024-CPU tree is ~40k files and pathlib dominates.
        path = os.path.join(self.root, rel)
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            os.makedirs(parent, exist_ok=True)
            self._dirs.add(parent)
        if self.junk:
            text = text + " \x00\x00"
        with open(path, "w") as f:
            f.write(text if text.endswith(("\n", "\x00")) else text + "\n")

    def remove(self, rel: str) -> None:
        path = self.root / rel
        self._dirs.clear()
        if path.is_dir():
            for child in sorted(path.rglob("*"), reverse=True):
                child.rmdir() if child.is_dir() and not child.is_symlink() else child.unlink()
            path.rmdir()
        else:
            path.unlink()

    def symlink(self, rel: str, target: str) -> None:
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)


def build_machine(root: Path, shape: Shape | None = None) -> Machine:
    s = shape or Shape()
    t = FakeTree(root, junk=s.junk)
    n_nodes = s.packages * s.nodes_per_package
    total_cores = n_nodes * s.l3_per_node * s.cores_per_l3
    ncpu = total_cores * s.smt
    node_ids_cpu = s.node_ids or list(range(n_nodes))
    assert len(node_ids_cpu) == n_nodes

    package_of: dict[int, int] = {}
    node_of: dict[int, int] = {}
    l3_of: dict[int, int] = {}
    core_of: dict[int, int] = {}
    core_id_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for core in range(total_cores):
        l3 = core // s.cores_per_l3
        node_idx = l3 // s.l3_per_node
        pkg = node_idx // s.nodes_per_package
        cores_per_pkg = total_cores // s.packages
        for thread in range(s.smt):
            cpu = (
                thread * total_cores + core
                if s.sibling_layout == "stride"
                else core * s.smt + thread
            )
            package_of[cpu] = pkg
            node_of[cpu] = node_ids_cpu[node_idx]
            l3_of[cpu] = pkg if s.l3_per_package else l3
            core_of[cpu] = core
            core_id_of[cpu] = core % cores_per_pkg if s.core_id_repeats else core
            members.setdefault(core, []).append(cpu)
    cpus = sorted(package_of)
    online = [c for c in cpus if c not in s.offline]
    online_set = set(online)
    siblings_of = {c: sorted(members[core_of[c]]) for c in cpus}

    cpu_dir = "sys/devices/system/cpu"
    t.write(f"{cpu_dir}/present", format_cpulist(cpus))
    t.write(f"{cpu_dir}/possible", format_cpulist(cpus))
    t.write(f"{cpu_dir}/online", format_cpulist(online))
    t.write(f"{cpu_dir}/offline", format_cpulist(sorted(s.offline)))
    t.write(f"{cpu_dir}/kernel_max", str(max(ncpu, 8192) - 1))

    def write_set(rel_list: str, rel_mask: str, ids: list[int]) -> None:
        if s.masks_only:
            t.write(rel_mask, cpumask(ids, ncpu))
        else:
            t.write(rel_list, format_cpulist(ids))
            t.write(rel_mask, cpumask(ids, ncpu))

    for c in cpus:
        base = f"{cpu_dir}/cpu{c}"
        if c != 0:
            t.write(f"{base}/online", "0" if c in s.offline else "1")
        t.symlink(f"{base}/node{node_of[c]}", f"../../node/node{node_of[c]}")
        if c in s.offline and not s.offline_keeps_topology:
            continue
        tp = f"{base}/topology"
        t.write(f"{tp}/physical_package_id", str(package_of[c]))
        t.write(f"{tp}/die_id", "0")
        t.write(f"{tp}/core_id", str(core_id_of[c]))
        sib = [x for x in siblings_of[c] if x in online_set]
        if s.masks_only:
            t.write(f"{tp}/thread_siblings", cpumask(sib, ncpu))
            t.write(
                f"{tp}/core_siblings",
                cpumask([x for x in online if package_of[x] == package_of[c]], ncpu),
            )
        else:
            write_set(f"{tp}/thread_siblings_list", f"{tp}/thread_siblings", sib)
            write_set(f"{tp}/core_cpus_list", f"{tp}/core_cpus", sib)
            pkg_cpus = [x for x in online if package_of[x] == package_of[c]]
            write_set(f"{tp}/package_cpus_list", f"{tp}/package_cpus", pkg_cpus)
        if s.no_cache_at_all or (s.no_cache is not None and c in s.no_cache):
            continue
        cache = f"{base}/cache"
        l3_cpus = [x for x in online if l3_of[x] == l3_of[c]]
        entries = [
            (0, 1, "Data", 48 * 1024, sib),
            (1, 1, "Instruction", 32 * 1024, sib),
            (2, 2, "Unified", s.l2_size, sib),
            (3, 3, "Unified", s.l3_size, l3_cpus),
        ]
        for idx, level, ctype, size, shared in entries:
            d = f"{cache}/index{idx}"
            t.write(f"{d}/level", str(level))
            t.write(f"{d}/type", ctype)
            t.write(f"{d}/size", f"{size // 1024}K")
            t.write(f"{d}/id", str(l3_of[c] if level == 3 else core_id_of[c]))
            write_set(f"{d}/shared_cpu_list", f"{d}/shared_cpu_map", shared)

    assert set(s.kinds.values()) <= {"core", "atom"}
    for pmu in ("core", "atom"):
        ids = [c for c, k in s.kinds.items() if k == pmu]
        if ids:
            t.write(f"sys/devices/cpu_{pmu}/cpus", format_cpulist(ids))

    # NUMA nodes: the CPU-bearing ones, then memory-only ones.
    all_nodes = sorted(set(node_ids_cpu) | set(s.memory_only_nodes))
    node_dir = "sys/devices/system/node"
    t.write(f"{node_dir}/online", format_cpulist(all_nodes))
    t.write(f"{node_dir}/possible", format_cpulist(all_nodes))
    t.write(f"{node_dir}/has_cpu", format_cpulist(sorted({node_of[c] for c in online})))
    for n in all_nodes:
        base = f"{node_dir}/node{n}"
        ncpus = [c for c in online if node_of[c] == n]
        write_set(f"{base}/cpulist", f"{base}/cpumap", ncpus)
        mem = s.memory_only_nodes.get(n, s.mem_per_node)
        free = mem // 2
        t.write(
            f"{base}/meminfo",
            f"Node {n} MemTotal:       {mem // 1024:>8} kB\n"
            f"Node {n} MemFree:        {free // 1024:>8} kB\n"
            f"Node {n} MemUsed:        {(mem - free) // 1024:>8} kB\n",
        )
        dist = []
        for m in all_nodes:
            if m == n:
                dist.append(10)
            elif m in s.memory_only_nodes or n in s.memory_only_nodes:
                dist.append(40)
            else:
                same_pkg = (
                    node_ids_cpu.index(m) // s.nodes_per_package
                    == node_ids_cpu.index(n) // s.nodes_per_package
                )
                dist.append(12 if same_pkg else 32)
        t.write(f"{base}/distance", " ".join(map(str, dist)))

    # /proc and the users the tree's processes belong to
    t.write("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
    t.write("proc/sys/kernel/hostname", s.hostname)
    t.write("proc/sys/kernel/osrelease", "6.1.0-fake")
    t.write(
        "proc/cpuinfo",
        "".join(
            f"processor\t: {c}\nvendor_id\t: FakeVendor\nmodel name\t: Fake CPU 9000\n\n"
            for c in online[:4]
        ),
    )
    total_mem = s.mem_per_node * n_nodes + sum(s.memory_only_nodes.values())
    t.write("proc/meminfo", f"MemTotal:       {total_mem // 1024} kB\nMemFree:  1024 kB\n")
    allowed = s.cpus_allowed if s.cpus_allowed is not None else online
    t.write(
        "proc/self/status",
        "Name:\tnumaview\n"
        f"Cpus_allowed:\t{cpumask(allowed, ncpu)}\n"
        f"Cpus_allowed_list:\t{format_cpulist(allowed)}\n"
        f"Mems_allowed_list:\t{format_cpulist(all_nodes)}\n",
    )
    cg_cpus = s.cgroup_cpus if s.cgroup_cpus is not None else online
    if s.cgroup_version == 2:
        t.write("proc/self/cgroup", f"0::{s.cgroup}\n")
        t.write(
            "proc/self/mountinfo",
            "25 1 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
        )
        d = "sys/fs/cgroup" + ("" if s.cgroup == "/" else s.cgroup)
        t.write(f"{d}/cpuset.cpus.effective", format_cpulist(cg_cpus))
        t.write(f"{d}/cpuset.mems.effective", format_cpulist(all_nodes))
    else:
        t.write("proc/self/cgroup", f"4:memory:/\n3:cpuset:{s.cgroup}\n0::/\n")
        t.write(
            "proc/self/mountinfo",
            "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
            "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n",
        )
        d = "sys/fs/cgroup/cpuset" + ("" if s.cgroup == "/" else s.cgroup)
        t.write(f"{d}/cpuset.effective_cpus", format_cpulist(cg_cpus))
        t.write(f"{d}/cpuset.effective_mems", format_cpulist(all_nodes))

    return Machine(
        root=root,
        shape=s,
        cpus=cpus,
        online=online,
        package_of=package_of,
        node_of=node_of,
        l3_of=l3_of,
        core_of=core_of,
        siblings_of=siblings_of,
        node_ids=all_nodes,
    )


# -- scripted /proc for the sampler ---------------------------------------------

STAT_ORDER = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass
class FakeThread:
    tid: int
    name: str = "worker"
    cpu: int = 0  # the CPU it last ran on
    ticks: int = 0  # utime + stime, in clock ticks
    state: str = "S"
    affinity: list[int] | None = None  # None: the process's
    voluntary: int = 0  # its own context switches (the main thread's are the process's)
    involuntary: int = 0


@dataclass
class FakeProcess:
    pid: int
    name: str = "proc"
    cmdline: list[str] = field(default_factory=lambda: ["proc"])
    ppid: int = 1
    uid: int = 0
    state: str = "S"
    starttime: int = 1000  # clock ticks after boot
    rss_pages: int = 256
    affinity: list[int] = field(default_factory=lambda: [0])
    mems_allowed: list[int] = field(default_factory=lambda: [0])
    voluntary: int = 0  # the main thread's, as /proc/PID/status says
    involuntary: int = 0
    threads: list[FakeThread] = field(default_factory=list)
    numa_pages: dict[int, int] | None = None  # node -> resident 4 KiB pages
    numa_policy: str = "default"
    kernel: bool = False

    @property
    def ticks(self) -> int:
        return sum(t.ticks for t in self.threads)


def _stat_line(
    pid: int,
    name: str,
    state: str,
    ppid: int,
    flags: int,
    ticks: int,
    nthreads: int,
    starttime: int,
    rss: int,
    cpu: int,
) -> str:
    utime, stime = ticks - ticks // 4, ticks // 4
    fields = (
        [
            state,
            ppid,
            pid,
            pid,
            0,
            -1,
            flags,
            0,
            0,
            0,
            0,
            utime,
            stime,
            0,
            0,
            20,
            0,
            nthreads,
            0,
            starttime,
            1 << 24,
            rss,
        ]
        + [0] * 14
        + [cpu, 0, 0, 0, 0, 0]
    )
    return f"{pid} ({name}) " + " ".join(map(str, fields)) + "\n"


class FakeProc:
    """Writes the /proc and node files the sampler reads, tick by tick.

    Tests set counters, call ``write()``, sample, advance, write, sample, and
    compare against the numbers they chose.
    """

    def __init__(self, root: Path, cpus: list[int], nodes: list[int]) -> None:
        self.t = FakeTree(root)
        self.cpus = {c: dict.fromkeys(STAT_ORDER, 0) for c in cpus}
        self.offline: set[int] = set()
        self.ctxt = 0
        self.procs_running = 1
        self.procs_blocked = 0
        self.load = (0.5, 0.4, 0.3)
        self.uptime = 100.0
        self.vmstat = {"numa_hint_faults": 0, "numa_hint_faults_local": 0, "numa_pages_migrated": 0}
        self.psi: dict[str, tuple[float, float | None]] | None = {
            "cpu": (1.5, None),
            "memory": (0.5, 0.25),
        }
        self.node_mem = {
            n: {
                "MemTotal": 16 << 20,
                "MemFree": 8 << 20,
                "FilePages": 1 << 20,
                "AnonPages": 2 << 20,
            }
            for n in nodes
        }  # kB
        self.numastat = {
            n: dict.fromkeys(
                (
                    "numa_hit",
                    "numa_miss",
                    "numa_foreign",
                    "interleave_hit",
                    "local_node",
                    "other_node",
                ),
                0,
            )
            for n in nodes
        }
        self.processes: dict[int, FakeProcess] = {}
        self._written_pids: set[int] = set()
        # /proc/PID/schedstat: "on"; "zero" prints "0 0 0" (a kernel without
        # sched_info); "off" leaves the file out (a kernel without schedstat).
        self.schedstat = "on"
        self.forks = 0  # /proc/stat "processes": grows with every add(), as the kernel's does

    def add(self, p: FakeProcess) -> FakeProcess:
        if not p.threads:
            p.threads = [FakeThread(tid=p.pid, name=p.name, cpu=p.affinity[0])]
        self.forks += len(p.threads)
        self.processes[p.pid] = p
        return p

    def remove(self, pid: int) -> None:
        del self.processes[pid]

    def write(self) -> None:
        t = self.t
        lines = []
        total = dict.fromkeys(STAT_ORDER, 0)
        for v in self.cpus.values():
            for k in STAT_ORDER:
                total[k] += v[k]
        lines.append("cpu  " + " ".join(str(total[k]) for k in STAT_ORDER) + " 0 0")
        for c, v in sorted(self.cpus.items()):
            if c not in self.offline:
                lines.append(f"cpu{c} " + " ".join(str(v[k]) for k in STAT_ORDER) + " 0 0")
        lines += [
            f"ctxt {self.ctxt}",
            "btime 1764200000",
            f"processes {self.forks}",
            f"procs_running {self.procs_running}",
            f"procs_blocked {self.procs_blocked}",
        ]
        t.write("proc/stat", "\n".join(lines))
        t.write(
            "proc/loadavg", f"{self.load[0]:.2f} {self.load[1]:.2f} {self.load[2]:.2f} 1/100 999"
        )
        t.write("proc/uptime", f"{self.uptime:.2f} 0.00")
        t.write(
            "proc/vmstat",
            "nr_free_pages 1\n" + "".join(f"{k} {v}\n" for k, v in self.vmstat.items()),
        )
        for kind in ("cpu", "memory"):
            rel = f"proc/pressure/{kind}"
            if self.psi is None or kind not in self.psi:
                if (t.root / rel).exists():
                    t.remove(rel)
                continue
            some, full = self.psi[kind]
            text = f"some avg10={some:.2f} avg60=0.00 avg300=0.00 total=1\n"
            if full is not None:
                text += f"full avg10={full:.2f} avg60=0.00 avg300=0.00 total=1\n"
            t.write(rel, text)
        for n, mem in self.node_mem.items():
            base = f"sys/devices/system/node/node{n}"
            t.write(
                f"{base}/meminfo", "".join(f"Node {n} {k}: {v:>10} kB\n" for k, v in mem.items())
            )
            t.write(f"{base}/numastat", "".join(f"{k} {v}\n" for k, v in self.numastat[n].items()))
        for pid in self._written_pids - set(self.processes):
            t.remove(f"proc/{pid}")
        for p in self.processes.values():
            self._write_process(p)
        self._written_pids = set(self.processes)

    def _write_process(self, p: FakeProcess) -> None:
        t = self.t
        base = f"proc/{p.pid}"
        flags = 0x00200000 if p.kernel else 0
        main = p.threads[0]
        t.write(
            f"{base}/stat",
            _stat_line(
                p.pid,
                p.name,
                p.state,
                p.ppid,
                flags,
                p.ticks,
                len(p.threads),
                p.starttime,
                p.rss_pages,
                main.cpu,
            ),
        )
        if self.schedstat != "off":
            # The main thread's own run time (ns), wait time and number of runs;
            # every process ran at least once (to exec), so never "0 0 0".
            ns = main.ticks * 10_000_000 + 500_000
            runs = 1 + main.ticks + p.voluntary + p.involuntary
            t.write(
                f"{base}/schedstat",
                "0 0 0\n" if self.schedstat == "zero" else f"{ns} 0 {runs}\n",
            )
        elif (t.root / base / "schedstat").exists():
            t.remove(f"{base}/schedstat")
        t.write(f"{base}/cmdline", "" if p.kernel else "\x00".join(p.cmdline) + "\x00")
        t.write(
            f"{base}/status",
            self._status(
                p.name,
                p.uid,
                p.affinity,
                p.mems_allowed,
                p.voluntary,
                p.involuntary,
                len(p.threads),
                p.kernel,
            ),
        )
        if p.numa_pages is not None:
            lines = [
                f"00400000 {p.numa_policy} file=/usr/bin/{p.name} mapped=10 N0=10 kernelpagesize_kB=4"
            ]
            lines.append(
                f"7f0000000000 {p.numa_policy} anon={sum(p.numa_pages.values())} dirty=1 "
                + " ".join(f"N{n}={pages}" for n, pages in sorted(p.numa_pages.items()))
                + " kernelpagesize_kB=4"
            )
            lines.append("7fff00000000 default stack anon=2 dirty=2 N0=2 kernelpagesize_kB=4")
            t.write(f"{base}/numa_maps", "\n".join(lines))
        task = self.t.root / base / "task"
        if task.exists():
            for d in task.iterdir():
                if int(d.name) not in {th.tid for th in p.threads}:
                    t.remove(f"{base}/task/{d.name}")
        for th in p.threads:
            tb = f"{base}/task/{th.tid}"
            t.write(
                f"{tb}/stat",
                _stat_line(
                    th.tid,
                    th.name,
                    th.state,
                    p.ppid,
                    flags,
                    th.ticks,
                    len(p.threads),
                    p.starttime,
                    p.rss_pages,
                    th.cpu,
                ),
            )
            t.write(
                f"{tb}/status",
                self._status(
                    th.name,
                    p.uid,
                    th.affinity or p.affinity,
                    p.mems_allowed,
                    p.voluntary if th is main else th.voluntary,
                    p.involuntary if th is main else th.involuntary,
                    len(p.threads),
                    p.kernel,
                ),
            )

    @staticmethod
    def _status(
        name: str,
        uid: int,
        affinity: list[int],
        mems: list[int],
        vol: int,
        invol: int,
        nthreads: int,
        kernel: bool,
    ) -> str:
        return (
            f"Name:\t{name}\nState:\tS (sleeping)\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
            f"Threads:\t{nthreads}\nKthread:\t{1 if kernel else 0}\n"
            f"Cpus_allowed_list:\t{format_cpulist(affinity)}\n"
            f"Mems_allowed_list:\t{format_cpulist(mems)}\n"
            f"voluntary_ctxt_switches:\t{vol}\nnonvoluntary_ctxt_switches:\t{invol}\n"
        )


class FakeClock:
    """A monotonic clock the test advances by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeGpu:
    """A PCI function under sys/bus/pci/devices, and the NVIDIA driver's /proc files for it."""

    pci: str
    vendor: int = 0x10DE
    pci_class: int = 0x030200
    device: int = 0x2330
    numa_node: str = "0"  # text: "-1", or junk
    local_cpulist: str | None = None  # None: the node's CPUs (every CPU for "-1")
    drm_card: str | None = None
    nvidia_minor: int | None = None
    numa_status_node: int | None = None  # the NVIDIA driver's numa_status "Node:"


def add_pci_devices(root: Path, m: Machine, devices: list[FakeGpu]) -> None:
    """Write the devices (GPUs or not) into a tree built by build_machine."""
    t = FakeTree(root)
    for d in devices:
        base = f"sys/bus/pci/devices/{d.pci}"
        t.write(f"{base}/class", f"0x{d.pci_class:06x}")
        t.write(f"{base}/vendor", f"0x{d.vendor:04x}")
        t.write(f"{base}/device", f"0x{d.device:04x}")
        t.write(f"{base}/numa_node", d.numa_node)
        local = d.local_cpulist
        if local is None:
            node = int(d.numa_node) if d.numa_node.lstrip("-").isdigit() else -1
            cpus = m.cpus if node < 0 else [c for c in m.cpus if m.node_of.get(c) == node]
            local = format_cpulist(tuple(sorted(cpus)))
        t.write(f"{base}/local_cpulist", local)
        if d.drm_card is not None:
            t.write(f"{base}/drm/{d.drm_card}/dev", "226:1")
        proc = f"proc/driver/nvidia/gpus/{d.pci}"
        if d.nvidia_minor is not None:
            t.write(
                f"{proc}/information",
                f"Model: \t\t NVIDIA H100\nIRQ:   \t\t 120\nDevice Minor: \t {d.nvidia_minor}\n",
            )
        if d.numa_status_node is not None:
            t.write(f"{proc}/numa_status", f"Node: {d.numa_status_node}\nStatus: online\n")
