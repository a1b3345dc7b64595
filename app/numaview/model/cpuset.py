"""The one parser and formatter of CPU (and node) lists in numaview.

The kernel writes sets of CPUs two ways: lists (``0-3,8,10-11``, the ``*_list``
and ``cpulist`` files) and hex masks (``cpumap``, ``shared_cpu_map``,
``Cpus_allowed``) written as comma-separated 32-bit words, most significant
first. Old kernels have only the masks. Users type lists, sometimes with the
stride form the kernel also accepts (``0-31:2/4``: in each group of 4, take 2).
Everything in numaview that reads or prints such a set goes through here.
"""

from __future__ import annotations

from collections.abc import Iterable

CpuList = tuple[int, ...]

_JUNK = " \t\r\n\x00"


def _clean(text: str) -> str:
    # sysfs files end in a newline; some drivers and tarballs add NULs.
    return text.strip(_JUNK)


def parse_cpulist(text: str) -> CpuList:
    """Parse ``0-3,8,10-11`` (and ``0-31:2/4`` strides) into a sorted tuple.

    An empty string is the empty set (a node without CPUs). Raises ValueError
    with the offending part for anything else that is not a list.
    """
    text = _clean(text)
    if not text:
        return ()
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip(_JUNK)
        if not part:
            raise ValueError(f"empty item in cpu list {text!r}")
        stride_used = used_per_group = 0
        if ":" in part:
            part, _, stride = part.partition(":")
            used_s, _, group_s = stride.partition("/")
            if not used_s.isdigit() or not group_s.isdigit() or int(group_s) == 0:
                raise ValueError(f"bad stride {stride!r} in cpu list {text!r}")
            used_per_group, stride_used = int(used_s), int(group_s)
        lo_s, dash, hi_s = part.partition("-")
        if not lo_s.isdigit() or (dash and not hi_s.isdigit()):
            raise ValueError(f"bad item {part!r} in cpu list {text!r}")
        lo = int(lo_s)
        hi = int(hi_s) if dash else lo
        if hi < lo:
            raise ValueError(f"descending range {part!r} in cpu list {text!r}")
        if stride_used:
            out.update(c for c in range(lo, hi + 1) if (c - lo) % stride_used < used_per_group)
        else:
            out.update(range(lo, hi + 1))
    return tuple(sorted(out))


def parse_cpumask(text: str) -> CpuList:
    """Parse a kernel hex mask (``ff,00000001``: 32-bit words, high word first)."""
    text = _clean(text)
    if not text:
        return ()
    words = text.split(",")
    value = 0
    for word in words:
        word = word.strip(_JUNK)
        if word.startswith(("0x", "0X")):
            word = word[2:]
        if not word or len(word) > 8:
            raise ValueError(f"bad word {word!r} in cpu mask {text!r}")
        try:
            value = (value << 32) | int(word, 16)
        except ValueError:
            raise ValueError(f"bad word {word!r} in cpu mask {text!r}") from None
    return mask_to_cpus(value)


def mask_to_cpus(value: int) -> CpuList:
    out: list[int] = []
    bit = 0
    while value:
        if value & 1:
            out.append(bit)
        value >>= 1
        bit += 1
    return tuple(out)


def format_cpulist(cpus: Iterable[int]) -> str:
    """Format CPU ids as the kernel does: ``0-3,8,10-11``; empty set is ``""``."""
    ids = sorted(set(cpus))
    if not ids:
        return ""
    parts: list[str] = []
    start = prev = ids[0]
    for c in ids[1:]:
        if c == prev + 1:
            prev = c
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = c
    parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(parts)
