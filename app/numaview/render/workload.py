"""A load test's figures as text: the dashboard's load strip and the before/after table.

Pure functions of ``model.workload`` data (no I/O, no textual). Every number
goes through ``render.units`` by its figure's unit, so the strip, the compare
panel, ``numaview compare`` and ``pin --measure`` write it the same way.

A strip piece carries a trend tag the UI colours by: ``up-good``, ``up-bad``,
``down-good``, ``down-bad`` (against the window before, by the figure's
direction), ``same`` (a change under :data:`SAME_FRACTION`), ``plain`` (no
window before to compare with; the name and pid), ``stale`` (the numbers are
old: the source stopped answering) and ``error`` (why).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from urllib.parse import urlsplit

from numaview.model.topology import Topology
from numaview.model.workload import FIGURE_BY_NAME, Comparison, FigureChange, WorkloadSample
from numaview.render.columns import Column, Labels, cell_len, text_table
from numaview.render.units import MISSING, count, duration, throughput

SAME_FRACTION = 0.05  # a change under 5 % is "same"
TAGS = ("up-good", "up-bad", "down-good", "down-bad", "same", "stale", "error", "plain")
Part = tuple[str, str]  # (text, tag)
Row = tuple[str, str, str, str, str]  # figure, before, after, change, verdict

# What the strip shows, in order: rates as "1,234 tok/s", the rest as "TTFT p99 480 ms".
# each slot shows its first figure the source has: a latency's p99, else its mean
STRIP_SLOTS: tuple[tuple[str, ...], ...] = (
    ("out_tok_s",),
    ("req_s",),
    ("ttft_p99_s", "ttft_mean_s"),
    ("itl_p99_s", "itl_mean_s"),
    ("e2e_p99_s", "e2e_mean_s"),
    ("waiting",),
)
STRIP_FIGURES = tuple(name for slot in STRIP_SLOTS for name in slot)


def figure_value(name: str, value: float | None) -> str:
    """A figure's value by its unit: ``1,234 tok/s``, ``8.2 req/s``, ``480 ms``, ``3``."""
    spec = FIGURE_BY_NAME.get(name)
    unit = "" if spec is None else spec.unit
    if value is None:
        return MISSING
    if unit == "s":
        return duration(value)
    if unit:
        return throughput(value, unit)
    return count(value)


def figure_label(name: str) -> str:
    spec = FIGURE_BY_NAME.get(name)
    return name if spec is None else spec.label


def trend(name: str, now: float | None, before: float | None) -> str:
    """The tag of a figure that went from ``before`` to ``now``."""
    if now is None or before is None:
        return "plain"
    if before == 0:
        if now == 0:
            return "same"
        up = now > 0
    else:
        if abs(now - before) < SAME_FRACTION * abs(before):
            return "same"
        up = now > before
    spec = FIGURE_BY_NAME.get(name)
    higher_better = True if spec is None else spec.higher_is_better
    return ("up-" if up else "down-") + ("good" if up == higher_better else "bad")


def _present(figures: Mapping[str, float | None], name: str) -> float | None:
    return figures.get(name)


def where(source: str) -> str:
    """A short name for a source's place: ``:8001`` for a URL with a port, else the
    host, else the file's name."""
    try:
        url = urlsplit(source)
        port = url.port
    except ValueError:
        return source
    if url.scheme and url.netloc:
        return f":{port}" if port is not None else url.hostname or url.netloc
    return source.rstrip("/").rsplit("/", 1)[-1] or source


def distinct_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """source -> label, with the place added where two sources share a label
    (two vLLM servers: ``vllm :8001``, ``vllm :8002``)."""
    seen = Counter(labels.values())
    return {s: f"{lb} {where(s)}" if seen[lb] > 1 and lb != s else lb for s, lb in labels.items()}


def strip_parts(
    sample: WorkloadSample, now: float | None = None, label: str | None = None
) -> list[Part]:
    """The load strip of one source: name, pid, the figures it has, then why it is stale.

    ``now`` (the shown frame's ``mono``) gives a stale sample its age: "stale 12s";
    ``label`` replaces the sample's own (see :func:`distinct_labels`).
    """
    parts: list[Part] = [(label or sample.label, "plain")]
    if sample.pid is not None:
        parts.append((f"pid {sample.pid}", "plain"))
    figures, previous = sample.figures, sample.previous
    has_ttft = any(_present(figures, n) is not None for n in STRIP_SLOTS[2])
    for slot in STRIP_SLOTS:
        name = next((n for n in slot if _present(figures, n) is not None), None)
        if name is None:
            continue
        value = _present(figures, name)
        assert value is not None
        if slot is STRIP_SLOTS[4] and has_ttft:
            continue  # E2E only stands in for a missing TTFT
        spec = FIGURE_BY_NAME[name]
        text = figure_value(name, value)
        if spec.unit not in ("tok/s", "req/s"):
            text = f"{spec.label} {text}"
        tag = "stale" if sample.stale else trend(name, value, previous.get(name))
        parts.append((text, tag))
    if sample.stale:
        age = ""
        if now is not None and sample.mono is not None:
            age = f" {max(now - sample.mono, 0.0):.0f}s"
        parts.append((f"stale{age}", "stale"))
    if sample.error:
        parts.append((sample.error.splitlines()[0] if sample.error.strip() else "error", "error"))
    elif sample.mono is None and not sample.stale:
        parts.append(("waiting for the first read", "plain"))
    return parts


def strip_text(sample: WorkloadSample, now: float | None = None) -> str:
    return " · ".join(text for text, _ in strip_parts(sample, now))


# -- before / after a pin -------------------------------------------------------------


def change_text(pct: float | None) -> str:
    return MISSING if pct is None else f"{pct:+.1f} %"


def verdict(c: FigureChange) -> str:
    """``better`` / ``worse`` beyond the noise, ``noise`` within it, ``–`` unknown."""
    if c.beyond_noise is None:
        return MISSING
    if not c.beyond_noise:
        return "noise"
    if c.better is None:
        return MISSING
    return "better" if c.better else "worse"


def comparison_rows(c: Comparison) -> list[Row]:
    """One row per figure: label, before, after, change ("+12.3 %"), verdict."""
    return [
        (
            figure_label(ch.figure),
            figure_value(ch.figure, ch.before),
            figure_value(ch.figure, ch.after),
            change_text(ch.change_pct),
            verdict(ch),
        )
        for ch in c.changes
    ]


def window_text(c: Comparison) -> str:
    """The two windows: "before 60 s (60 samples) · after 60 s (58 samples), 10 s after the pin"."""
    b = c.before[1] - c.before[0]
    a = c.after[1] - c.after[0]
    settle = c.after[0] - c.pin_mono
    text = (
        f"before {b:.0f} s ({c.samples_before} samples)"
        f" · after {a:.0f} s ({c.samples_after} samples)"
    )
    return text + (f", from {settle:.0f} s after the pin" if settle > 0.5 else "")


def _col(title: str, i: int, width: int, right: bool) -> Column[Row]:
    return Column(title, width, lambda r, _, w: r[i], right)


COMPARE_COLUMNS: tuple[Column[Row], ...] = (
    _col("FIGURE", 0, 10, False),
    _col("BEFORE", 1, 12, True),
    _col("AFTER", 2, 12, True),
    _col("CHANGE", 3, 9, True),
    _col("VERDICT", 4, 0, False),
)
_NO_TOPOLOGY = Labels(Topology((), (), (), (), ()))  # the cells need no names of CPUs


def comparison_text(c: Comparison, width: int = 100) -> str:
    """The comparison as plain text (``numaview compare``, ``pin --measure``)."""
    head = [f"{c.server or c.source}: {c.pin_text}", window_text(c)]
    if not c.changes:
        return "\n".join([*head, "no figures to compare"])
    rows = comparison_rows(c)
    lines, _ = text_table(COMPARE_COLUMNS, rows, _NO_TOPOLOGY, width, room=7)
    last = COMPARE_COLUMNS[-1]
    body = [lines[0] + last.title] + [ln + r[4] for ln, r in zip(lines[1:], rows, strict=True)]
    return "\n".join([*head, *(ln.rstrip() for ln in body)])


def _why_stale(text: str, tag: str) -> bool:
    """The pieces strip_parts appends to say why the numbers are old (never dropped)."""
    return tag == "error" or (tag == "stale" and text.startswith("stale"))


def fit_parts(parts: list[Part], width: int, sep: int = 3) -> list[Part]:
    """The pieces that fit ``width`` cells joined by ``sep``-cell separators: the pid
    goes first, then figures from the last; the name and why it is stale stay (the
    caller cuts what still does not fit)."""
    kept = list(parts)

    def total() -> int:
        return sum(cell_len(t) for t, _ in kept) + sep * max(len(kept) - 1, 0)

    while total() > width:
        droppable = [i for i, (t, tag) in enumerate(kept) if i and not _why_stale(t, tag)]
        if not droppable:
            break
        pid = [i for i in droppable if kept[i][0].startswith("pid ")]
        kept.pop(pid[0] if pid else droppable[-1])
    return kept
