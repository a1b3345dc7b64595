"""Hardware topology discovery from FSROOT/sys and FSROOT/proc.

Real sysfs is not the textbook, so every rule here is about trusting the right
file: a core is its set of SMT siblings (core_id repeats across dies and
packages), a cache domain is its shared_cpu_list, node distances are listed in
the order of online node ids (which may be sparse), CPU lists may exist only as
hex masks on old kernels, and any file may be missing or hold junk. Missing or
malformed data becomes None plus a warning; only a tree with no CPUs at all is
an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from numaview.model.cpuset import CpuList, parse_cpulist, parse_cpumask
from numaview.model.topology import (
    Allowed,
    Cache,
    Core,
    Cpu,
    Host,
    Node,
    Package,
    Topology,
)
from numaview.sampler.fsroot import FsRoot, Warnings

CPU_DIR = "sys/devices/system/cpu"
NODE_DIR = "sys/devices/system/node"
_CPU_RE = re.compile(r"cpu(\d+)")
_NODE_RE = re.compile(r"node(\d+)")
_SIZE_RE = re.compile(r"(\d+)\s*([KMG]?)", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


class TopologyError(Exception):
    """The tree holds no usable CPU information at all."""


def discover(root: str | os.PathLike[str] = "/") -> Topology:
    """Discover the topology of the machine whose / is ``root``."""
    return _Discovery(FsRoot(root)).run()


def read_list(fs: FsRoot, list_path: str, mask_path: str | None = None) -> CpuList | None:
    """Read a cpu/node list file, falling back to the hex-mask twin (old kernels).

    Returns None when neither exists; raises ValueError when the text is junk.
    """
    text = fs.read(list_path)
    if text is not None:
        return parse_cpulist(text)
    if mask_path is not None:
        text = fs.read(mask_path)
        if text is not None:
            return parse_cpumask(text)
    return None


def parse_int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip(" \t\r\n\x00")
    try:
        return int(text)
    except ValueError:
        return None


def parse_size(text: str | None) -> int | None:
    """``32768K`` -> bytes (sysfs cache sizes)."""
    if text is None:
        return None
    m = _SIZE_RE.fullmatch(text.strip(" \t\r\n\x00"))
    if not m:
        return None
    return int(m.group(1)) * _UNITS[m.group(2).upper()]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class _Discovery:
    def __init__(self, fs: FsRoot) -> None:
        self.fs = fs
        self.w = Warnings()

    # -- helpers ---------------------------------------------------------------

    def _list(self, what: str, list_path: str, mask_path: str | None = None) -> CpuList | None:
        try:
            return read_list(self.fs, list_path, mask_path)
        except ValueError as exc:
            self.w.add(f"{what}: malformed ({exc})")
            return None

    def _cpu_list(
        self, cpu: int, what: str, list_path: str, mask_path: str | None = None
    ) -> CpuList | None:
        try:
            return read_list(self.fs, list_path, mask_path)
        except ValueError:
            self.w.add_cpu(cpu, f"malformed {what}")
            return None

    def _cpu_int(self, cpu: int, rel: str, what: str, *, required: bool = True) -> int | None:
        text = self.fs.read(rel)
        if text is None:
            if required:
                self.w.add_cpu(cpu, f"no {what} file")
            return None
        value = parse_int(text)
        if value is None:
            self.w.add_cpu(cpu, f"malformed {what} ({text.strip()[:20]!r})")
        return value

    # -- steps -----------------------------------------------------------------

    def run(self) -> Topology:
        all_ids, online = self._cpus()
        topo = {c: self._cpu_topology(c) for c in online}
        cores, siblings = self._cores(online, topo)
        nodes, cpu_node = self._nodes(all_ids, online)
        l2, l3, cpu_l2, cpu_l3 = self._caches(online, cpu_node)
        kinds, capacities = self._kinds(online)

        core_of = {cpu: core.id for core in cores for cpu in core.cpus}
        cpus = tuple(
            Cpu(
                id=c,
                online=c in online,
                package=topo[c][0] if c in topo else None,
                die=topo[c][1] if c in topo else None,
                core=core_of.get(c),
                core_id=topo[c][2] if c in topo else None,
                node=cpu_node.get(c),
                l3=cpu_l3.get(c),
                l2=cpu_l2.get(c),
                siblings=siblings.get(c, ()),
                kind=kinds.get(c),
                capacity=capacities.get(c),
            )
            for c in all_ids
        )
        core_tuple = tuple(
            Core(
                id=k.id,
                package=k.package,
                cpus=k.cpus,
                core_id=k.core_id,
                kind=kinds.get(k.cpus[0]),
            )
            for k in cores
        )
        by_pkg: dict[int, list[int]] = {}
        for c in cpus:
            if c.online and c.package is not None:
                by_pkg.setdefault(c.package, []).append(c.id)
        packages = tuple(
            Package(
                id=p,
                cpus=tuple(ids),
                nodes=tuple(sorted({cpu_node[i] for i in ids if i in cpu_node})),
            )
            for p, ids in sorted(by_pkg.items())
        )
        return Topology(
            cpus=cpus,
            nodes=nodes,
            packages=packages,
            cores=core_tuple,
            l3=l3,
            l2=l2,
            allowed=self._allowed(),
            host=self._host(),
            warnings=self.w.lines(),
        )

    def _cpus(self) -> tuple[CpuList, frozenset[int]]:
        entries = self.fs.listdir(CPU_DIR)
        if entries is None:
            raise TopologyError(
                f"no CPU information: {self.fs.path(CPU_DIR)} is missing"
                " (is --root a copy of a machine's / with sys/ and proc/?)"
            )
        dirs = {int(m.group(1)) for e in entries if (m := _CPU_RE.fullmatch(e))}
        present = self._list("cpu/present", f"{CPU_DIR}/present") or ()
        all_ids = tuple(sorted(dirs | set(present)))
        if not all_ids:
            raise TopologyError(f"no CPUs found under {self.fs.path(CPU_DIR)}")
        online_list = self._list("cpu/online", f"{CPU_DIR}/online")
        if online_list is not None:
            online = frozenset(online_list) & set(all_ids)
        else:
            # Per-CPU files; x86 cpu0 often has none because it cannot go offline.
            flags = {c: parse_int(self.fs.read(f"{CPU_DIR}/cpu{c}/online")) for c in all_ids}
            if all(v is None for v in flags.values()):
                self.w.add("no cpu/online file: assuming every CPU is online")
            online = frozenset(c for c, v in flags.items() if v != 0)
        if not online:
            raise TopologyError(f"no online CPU under {self.fs.path(CPU_DIR)}")
        return all_ids, online

    def _cpu_topology(self, c: int) -> tuple[int | None, int | None, int | None, CpuList | None]:
        """(package, die, core_id, siblings) of one online CPU."""
        tp = f"{CPU_DIR}/cpu{c}/topology"
        package = self._cpu_int(c, f"{tp}/physical_package_id", "topology/physical_package_id")
        if package is not None and package < 0:
            package = None  # -1: the firmware did not say
        die = self._cpu_int(c, f"{tp}/die_id", "die_id", required=False)
        if die is not None and die < 0:
            die = None
        core_id = self._cpu_int(c, f"{tp}/core_id", "topology/core_id")
        sib = self._cpu_list(c, "core_cpus_list", f"{tp}/core_cpus_list")
        if sib is None:
            sib = self._cpu_list(
                c, "thread_siblings_list", f"{tp}/thread_siblings_list", f"{tp}/thread_siblings"
            )
        if sib is None:
            self.w.add_cpu(c, "no SMT sibling list (topology/thread_siblings*)")
        return package, die, core_id, sib

    def _cores(
        self,
        online: frozenset[int],
        topo: dict[int, tuple[int | None, int | None, int | None, CpuList | None]],
    ) -> tuple[list[Core], dict[int, CpuList]]:
        uf = _UnionFind()
        fallback: dict[tuple[int, int | None, int], int] = {}
        for c in sorted(online):
            uf.find(c)
            package, die, core_id, sib = topo[c]
            if sib is None:
                # No sibling list: fall back to (package, die, core_id), the old way.
                if package is not None and core_id is not None:
                    key = (package, die, core_id)
                    if key in fallback:
                        uf.union(c, fallback[key])
                    else:
                        fallback[key] = c
                continue
            for s in sib:
                if s not in online or s == c:
                    continue
                other = topo[s][3]
                if other is not None and c not in other:
                    self.w.add_cpus((c, s), "SMT sibling lists disagree; treated as one core")
                uf.union(c, s)
        groups: dict[int, list[int]] = {}
        for c in sorted(online):
            groups.setdefault(uf.find(c), []).append(c)
        cores: list[Core] = []
        siblings: dict[int, CpuList] = {}
        for i, members in enumerate(sorted(groups.values(), key=lambda g: g[0])):
            pkgs = {topo[m][0] for m in members}
            if len(pkgs) > 1:
                self.w.add_cpus(members, "SMT siblings report different packages")
            first = topo[members[0]]
            cores.append(Core(id=i, package=first[0], cpus=tuple(members), core_id=first[2]))
            for m in members:
                siblings[m] = tuple(members)
        return cores, siblings

    def _nodes(
        self, all_ids: CpuList, online: frozenset[int]
    ) -> tuple[tuple[Node, ...], dict[int, int]]:
        entries = self.fs.listdir(NODE_DIR)
        node_ids = sorted(int(m.group(1)) for e in (entries or ()) if (m := _NODE_RE.fullmatch(e)))
        if not node_ids:
            self.w.add(
                "no NUMA nodes in sysfs (kernel without NUMA?): treating the machine as one node"
            )
            return (
                Node(
                    id=0,
                    cpus=tuple(sorted(online)),
                    offline_cpus=tuple(c for c in all_ids if c not in online),
                    mem_total_bytes=self._meminfo_total("proc/meminfo", "MemTotal:"),
                    distances={0: 10},
                ),
            ), dict.fromkeys(all_ids, 0)
        cpu_node: dict[int, int] = {}
        listed: dict[int, CpuList] = {}
        for n in node_ids:
            base = f"{NODE_DIR}/node{n}"
            cpus = self._list(f"node{n}/cpulist", f"{base}/cpulist", f"{base}/cpumap")
            if cpus is None:
                self.w.add(f"node{n}: no cpulist or cpumap file; its CPUs are unknown")
                cpus = ()
            listed[n] = cpus
            for c in cpus:
                if c in cpu_node and cpu_node[c] != n:
                    self.w.add_cpu(c, f"listed under nodes {cpu_node[c]} and {n}")
                cpu_node.setdefault(c, n)
        # CPUs no node lists (offline ones, usually): the cpuN/nodeM link says.
        for c in all_ids:
            if c in cpu_node:
                continue
            for e in self.fs.listdir(f"{CPU_DIR}/cpu{c}") or ():
                if m := _NODE_RE.fullmatch(e):
                    cpu_node[c] = int(m.group(1))
                    break
            else:
                if c in online:
                    self.w.add_cpu(c, "in no NUMA node")
        distance_ids = self._list("node/online", f"{NODE_DIR}/online")
        if distance_ids is None or len(distance_ids) != len(node_ids):
            distance_ids = tuple(node_ids)
        nodes = []
        for n in node_ids:
            base = f"{NODE_DIR}/node{n}"
            nodes.append(
                Node(
                    id=n,
                    cpus=tuple(c for c in listed[n] if c in online and cpu_node.get(c) == n),
                    offline_cpus=tuple(
                        c for c in all_ids if c not in online and cpu_node.get(c) == n
                    ),
                    mem_total_bytes=self._meminfo_total(f"{base}/meminfo", "MemTotal:"),
                    distances=self._distances(n, base, distance_ids),
                )
            )
        return tuple(nodes), cpu_node

    def _meminfo_total(self, rel: str, key: str) -> int | None:
        text = self.fs.read(rel)
        if text is None:
            self.w.add(f"{rel}: missing; memory size unknown")
            return None
        for line in text.splitlines():
            # "Node 0 MemTotal:  3631324 kB" or "MemTotal:  3631324 kB"
            if key in line:
                parts = line.split(key, 1)[1].split()
                if parts and parts[0].isdigit():
                    unit = parts[1] if len(parts) > 1 else "kB"
                    return int(parts[0]) * (1024 if unit.lower() == "kb" else 1)
                break
        self.w.add(f"{rel}: no readable {key[:-1]} line; memory size unknown")
        return None

    def _distances(self, n: int, base: str, ids: CpuList) -> dict[int, int] | None:
        text = self.fs.read(f"{base}/distance")
        if text is None:
            self.w.add(f"node{n}/distance: missing")
            return None
        values = [parse_int(v) for v in text.strip(" \t\r\n\x00").split()]
        if any(v is None for v in values) or len(values) != len(ids):
            self.w.add(
                f"node{n}/distance: {len(values)} values for {len(ids)} nodes or junk; ignored"
            )
            return None
        return {i: v for i, v in zip(ids, values, strict=True) if v is not None}

    def _caches(
        self, online: frozenset[int], cpu_node: dict[int, int]
    ) -> tuple[tuple[Cache, ...], tuple[Cache, ...], dict[int, int], dict[int, int]]:
        """L2 and L3 domains, read once per domain rather than once per CPU."""
        found: dict[int, dict[int, tuple[frozenset[int], int | None]]] = {2: {}, 3: {}}
        no_cache: list[int] = []
        # indexK of each level as first seen; checked by one read of its level file
        # per CPU instead of scanning every index (the cache layout rarely varies).
        layout: dict[int, str] = {}
        for c in sorted(online):
            if c in found[2] and c in found[3]:
                continue
            base = f"{CPU_DIR}/cpu{c}/cache"
            wanted = [lvl for lvl in (2, 3) if c not in found[lvl]]
            indexes: dict[int, str] = {}
            for lvl in wanted:
                name = layout.get(lvl)
                if name is not None and parse_int(self.fs.read(f"{base}/{name}/level")) == lvl:
                    indexes[lvl] = name
            if len(indexes) < len(wanted):
                entries = self.fs.listdir(base)
                if entries is None:
                    no_cache.append(c)
                    continue
                indexes = self._scan_cache_indexes(base, entries, wanted)
                for lvl, name in indexes.items():
                    layout.setdefault(lvl, name)
            for level, name in indexes.items():
                idx = f"{base}/{name}"
                shared = self._cpu_list(
                    c,
                    f"cache/{name}/shared_cpu_list",
                    f"{idx}/shared_cpu_list",
                    f"{idx}/shared_cpu_map",
                )
                if shared is None:
                    continue  # another CPU of the domain may name this one
                members = (frozenset(shared) & online) | {c}
                size = parse_size(self.fs.read(f"{idx}/size"))
                for m in members:
                    prev = found[level].get(m)
                    if prev is not None and prev[0] != members:
                        self.w.add_cpu(m, f"L{level} shared_cpu_list disagrees between CPUs")
                        continue
                    found[level][m] = (members, size)
        if no_cache:
            if len(no_cache) == len(online):
                self.w.add("no cache information in sysfs (cpu*/cache missing): L2/L3 unknown")
            else:
                self.w.add_cpus(no_cache, "no cache directory; L2/L3 unknown")
        domains: list[tuple[Cache, ...]] = []
        maps: list[dict[int, int]] = []
        for level in (2, 3):
            uniq: dict[frozenset[int], int | None] = {}
            for members, size in found[level].values():
                uniq.setdefault(members, size)
            ordered = sorted(uniq.items(), key=lambda kv: min(kv[0]))
            caches = tuple(
                Cache(
                    id=i,
                    level=level,
                    cpus=tuple(sorted(members)),
                    size_bytes=size,
                    nodes=tuple(sorted({cpu_node[m] for m in members if m in cpu_node})),
                )
                for i, (members, size) in enumerate(ordered)
            )
            index = {cache.cpus: cache.id for cache in caches}
            maps.append(
                {cpu: index[tuple(sorted(members))] for cpu, (members, _) in found[level].items()}
            )
            domains.append(caches)
        return domains[0], domains[1], maps[0], maps[1]

    def _scan_cache_indexes(
        self, base: str, entries: list[str], wanted: list[int]
    ) -> dict[int, str]:
        """Which indexK directory holds each wanted level's unified cache."""
        out: dict[int, str] = {}
        for e in sorted(entries):
            if not e.startswith("index"):
                continue
            level = parse_int(self.fs.read(f"{base}/{e}/level"))
            if level not in wanted or level in out:
                continue
            ctype = (self.fs.read(f"{base}/{e}/type") or "Unified").strip(" \n\x00")
            if ctype in ("Unified", "Data"):
                out[level] = e
        return out

    def _kinds(self, online: frozenset[int]) -> tuple[dict[int, str], dict[int, int]]:
        """CPU kind on hybrid parts: Intel's cpu_core/cpu_atom PMUs, arm64's cpu_capacity."""
        kinds: dict[int, str] = {}
        for pmu, kind in (("cpu_core", "performance"), ("cpu_atom", "efficiency")):
            cpus = self._list(f"{pmu}/cpus", f"sys/devices/{pmu}/cpus")
            for c in cpus or ():
                kinds[c] = kind
        capacities: dict[int, int] = {}
        first = min(online)
        if self.fs.read(f"{CPU_DIR}/cpu{first}/cpu_capacity") is not None:
            read: Callable[[int], int | None] = lambda c: parse_int(  # noqa: E731
                self.fs.read(f"{CPU_DIR}/cpu{c}/cpu_capacity")
            )
            for c in sorted(online):
                cap = read(c)
                if cap is not None:
                    capacities[c] = cap
            if not kinds and len(set(capacities.values())) > 1:
                top = max(capacities.values())
                kinds = {
                    c: "performance" if v == top else "efficiency" for c, v in capacities.items()
                }
        return kinds, capacities

    def _allowed(self) -> Allowed:
        status = self.fs.read("proc/self/status")
        cpus = mems = None
        if status is None:
            self.w.add("proc/self/status: missing; allowed CPUs and memory nodes unknown")
        else:
            for line in status.splitlines():
                key, _, value = line.partition(":")
                try:
                    if key == "Cpus_allowed_list":
                        cpus = parse_cpulist(value)
                    elif key == "Mems_allowed_list":
                        mems = parse_cpulist(value)
                except ValueError:
                    self.w.add(f"proc/self/status: malformed {key}")
        cgroup, cg_cpus, cg_mems = self._cpuset()
        return Allowed(
            cpus=cpus, mems=mems, cgroup=cgroup, cgroup_cpus=cg_cpus, cgroup_mems=cg_mems
        )

    def _cpuset(self) -> tuple[str | None, CpuList | None, CpuList | None]:
        """This process's cgroup and the effective cpuset of it (v1 or v2)."""
        text = self.fs.read("proc/self/cgroup")
        mountinfo = self.fs.read("proc/self/mountinfo")
        if text is None or mountinfo is None:
            return None, None, None
        v1_path = v2_path = None
        for line in text.splitlines():
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            if parts[0] == "0" and parts[1] == "":
                v2_path = parts[2]
            elif "cpuset" in parts[1].split(","):
                v1_path = parts[2]
        for fields in (line.split() for line in mountinfo.splitlines()):
            if "-" not in fields:
                continue
            sep = fields.index("-")
            if len(fields) < sep + 3 or sep < 5:
                continue
            fstype, options = fields[sep + 1], fields[sep + 3] if len(fields) > sep + 3 else ""
            mount_root, mount_point = fields[3], fields[4]
            if fstype == "cgroup" and v1_path is not None and "cpuset" in options.split(","):
                names = (
                    "cpuset.effective_cpus",
                    "cpuset.effective_mems",
                    "cpuset.cpus",
                    "cpuset.mems",
                )
                path = v1_path
            elif fstype == "cgroup2" and v1_path is None and v2_path is not None:
                names = ("cpuset.cpus.effective", "cpuset.mems.effective", "", "")
                path = v2_path
            else:
                continue
            rel = path
            if mount_root != "/" and (rel == mount_root or rel.startswith(mount_root + "/")):
                rel = rel[len(mount_root) :]
            found = self._walk_cpuset(mount_point, rel, names)
            if found is not None:
                return path, found[0], found[1]
            self.w.add(f"cgroup {path}: no cpuset files found under {mount_point}")
            return path, None, None
        return v1_path or v2_path, None, None

    def _walk_cpuset(
        self, mount_point: str, rel: str, names: tuple[str, str, str, str]
    ) -> tuple[CpuList | None, CpuList | None] | None:
        # The effective set is inherited: walk up until a level has the files.
        parts = [p for p in rel.split("/") if p]
        while True:
            d = "/".join([mount_point.strip("/"), *parts])
            cpus = self._list("cgroup cpuset", f"{d}/{names[0]}", None)
            if cpus is None and names[2]:
                cpus = self._list("cgroup cpuset", f"{d}/{names[2]}", None)
            if cpus is not None:
                mems = self._list("cgroup cpuset", f"{d}/{names[1]}", None)
                if mems is None and names[3]:
                    mems = self._list("cgroup cpuset", f"{d}/{names[3]}", None)
                return cpus, mems
            if not parts:
                return None
            parts.pop()

    def _host(self) -> Host:
        def line(rel: str) -> str | None:
            text = self.fs.read(rel)
            return None if text is None else (text.strip(" \t\r\n\x00") or None)

        model = None
        # Only the head: /proc/cpuinfo on 1024 CPUs is megabytes, generated on read.
        cpuinfo = self.fs.read("proc/cpuinfo", limit=16384)
        for row in (cpuinfo or "").splitlines():
            key, _, value = row.partition(":")
            if key.strip() in ("model name", "Model", "cpu model"):
                model = value.strip() or None
                break
        return Host(
            hostname=line("proc/sys/kernel/hostname"),
            kernel=line("proc/sys/kernel/osrelease"),
            cpu_model=model,
        )
