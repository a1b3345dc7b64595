"""What a stack dump is, apart from how it is taken, so the UI can hold one without subprocess."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StackFrame:
    """One Python frame of a stack (not a sampler ``Frame``: that is the machine at one tick)."""

    name: str
    file: str
    line: int | None

    def label(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{self.name} ({where})"


@dataclass(frozen=True, slots=True)
class PyThread:
    """One Python thread as py-spy saw it; ``tid`` is the OS thread id, to join with /proc."""

    tid: int
    name: str | None
    active: bool
    owns_gil: bool
    frames: tuple[StackFrame, ...]  # innermost first


@dataclass(frozen=True, slots=True)
class StackDump:
    pid: int
    threads: tuple[PyThread, ...]
    elapsed_s: float  # how long the dump took: py-spy pauses the target meanwhile


class StacksError(Exception):
    """A dump that could not be taken; ``reason`` lets callers react without parsing text.

    Reasons: ``no-pyspy``, ``failed``, ``gone``, ``not-python``, ``permission``,
    ``timeout``, ``unavailable`` (a replay: its processes are not this machine's now).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
