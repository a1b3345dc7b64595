"""Reading sysfs files that may be missing or hold junk, shared by the discovery steps.

Every step of topology discovery reads the same kinds of files the same way:
a CPU list that old kernels give only as a hex mask, a number with a trailing
newline or NUL, a cache size like ``32768K``. A missing file is None; junk is
None plus a warning in the step's ``Warnings``, so one bad file never stops
discovery. ``SysfsReader`` holds the tree and the warnings the steps share.
"""

from __future__ import annotations

import re

from numaview.linux.fsroot import FsRoot, Warnings
from numaview.model.cpuset import CpuList, parse_cpulist, parse_cpumask

CPU_DIR = "sys/devices/system/cpu"
_SIZE_RE = re.compile(r"(\d+)\s*([KMG]?)", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


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


class SysfsReader:
    """The tree and the warnings one discovery run shares between its steps."""

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
