"""Which CPUs and memory nodes this process may use: its affinity and its cgroup's cpuset.

proc/self/status gives the process's own allowed lists; the cgroup's cpuset is
found separately (proc/self/cgroup names the cgroup, proc/self/mountinfo where
its hierarchy is mounted, v1 or v2) because a container's limit can be
narrower than the machine and the UI should say so. The effective set is
inherited, so a cgroup without cpuset files is read from its nearest ancestor
that has them.
"""

from __future__ import annotations

from numaview.linux.fsroot import FsRoot
from numaview.linux.sysfsreader import SysfsReader
from numaview.model.cpuset import CpuList, parse_cpulist
from numaview.model.topology import Allowed


class AllowedSteps(SysfsReader):
    """The allowed-CPUs step of topology discovery (``sysfs._Discovery`` mixes it in)."""

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

    def _cpuset(self, pid: int | str = "self") -> tuple[str | None, CpuList | None, CpuList | None]:
        """A process's cgroup and the effective cpuset of it (v1 or v2); this one by default."""
        text = self.fs.read(f"proc/{pid}/cgroup")
        mountinfo = self.fs.read(f"proc/{pid}/mountinfo")
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


def cgroup_cpuset(fs: FsRoot, pid: int) -> tuple[CpuList | None, CpuList | None]:
    """The CPUs and memory nodes process ``pid``'s cgroup allows (None: unknown or no limit).

    A plan checks a share against this before anything moves: the kernel would
    refuse it (EINVAL) or narrow it silently.
    """
    _, cpus, mems = AllowedSteps(fs)._cpuset(pid)
    return cpus, mems
