"""L2 and L3 cache domains of the online CPUs, from cpuN/cache/indexK.

A cache domain is the set of CPUs its ``shared_cpu_list`` names, not an id
sysfs hands out, so domains are gathered by member set. Each domain is read
once rather than once per CPU, and the indexK directory of each level is
remembered from the first CPU, so a 1024-CPU machine is not scanned index by
index: the cache layout rarely varies between CPUs.
"""

from __future__ import annotations

from numaview.linux.sysfsreader import CPU_DIR, SysfsReader, parse_int, parse_size
from numaview.model.topology import Cache


class CacheSteps(SysfsReader):
    """The cache step of topology discovery (``sysfs._Discovery`` mixes it in)."""

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
