"""A metrics endpoint's body, parsed, and looked up by sample name.

Two parsers from prometheus_client read the body: the OpenMetrics one when the
text ends with a ``# EOF`` line (that line is what says "OpenMetrics"), else
the Prometheus text-format one. They name things differently, so nothing here
trusts a family's name or type; everything is looked up by *sample* name:

- the text parser renames the samples of a family declared ``counter`` to
  ``<name>_total`` (so Triton's ``nv_inference_request_success`` comes back as
  ``nv_inference_request_success_total``), and turns ``_created`` samples, and
  the samples of an undeclared metric, into families of their own;
- the OpenMetrics parser keeps ``_created`` inside the family and refuses a
  histogram without its ``+Inf`` bucket, where the text parser takes it. When
  the OpenMetrics parser refuses a body the text parser is tried too, so a
  server that appends ``# EOF`` to plain text still works.

``Exposition`` is that index: counters (``x`` or ``x_total``), ``_created``
timestamps, histograms from ``_bucket``/``_sum``/``_count``, summary quantiles.
Every label set of a metric is summed (a server has one series per model,
engine or version). Non-finite values (a summary's NaN quantile with no
observations) are left out: nothing downstream may hold NaN or inf.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from numaview.model.workload import Histogram

if TYPE_CHECKING:  # prometheus_client is imported by the first parse: ~3 MB a dashboard
    from prometheus_client.metrics_core import Metric  # without --metrics never loads

Labels = Mapping[str, str]
Keep = Callable[[Labels], bool]
_REASON_MAX = 80


class ExpositionError(Exception):
    """Why a body cannot be used as metrics, in one line the user can act on."""


def _reason(exc: BaseException) -> str:
    """The parser's complaint cut to one printable line (a binary body makes odd ones)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"


def _is_openmetrics(text: str) -> bool:
    lines = text.rstrip().rsplit("\n", 1)
    return lines[-1].strip() == "# EOF"


def parse(text: str) -> list[Metric]:
    """The body's metric families, or ExpositionError when it is not an exposition.

    An HTML error page, a binary or garbage body, and an empty one are all errors
    (a server that answers must say at least one metric).
    """
    if not text.strip():
        raise ExpositionError("not a Prometheus exposition: empty body")
    from prometheus_client.openmetrics.parser import (
        text_string_to_metric_families as _parse_openmetrics,
    )
    from prometheus_client.parser import text_string_to_metric_families as _parse_text

    try:
        if _is_openmetrics(text):
            try:
                # prometheus_client leaves this parser's signature unannotated
                families = list(_parse_openmetrics(text))  # type: ignore[no-untyped-call]
            except Exception:
                families = list(_parse_text(text))
        else:
            families = list(_parse_text(text))
    except Exception as exc:
        raise ExpositionError(f"not a Prometheus exposition: {_reason(exc)}") from None
    if not families:
        raise ExpositionError("not a Prometheus exposition: no metrics in it")
    return families


def keep_lines(text: str, prefixes: tuple[str, ...]) -> str:
    """Only the lines of metrics named with one of ``prefixes`` (and ``# EOF``).

    prometheus_client's text parser costs ~25 µs a sample line, and a server's
    page is mostly process, GC and HTTP metrics numaview does not read: parsing
    only what a profile can use keeps a 1 Hz scrape cheap. Empty when nothing
    matches (the caller then parses everything, to say what is wrong with it).
    """
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            parts = line.split(None, 3)
            if line.strip() == "# EOF" or (len(parts) > 2 and parts[2].startswith(prefixes)):
                out.append(line)
        elif line.startswith(prefixes):
            out.append(line)
    if not any(not x.startswith("#") for x in out):
        return ""
    return "\n".join(out) + "\n"


def _finite(v: float) -> bool:
    return math.isfinite(v)


class Exposition:
    """The samples of a parse, by sample name (see the module docstring for why)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._series: dict[str, list[tuple[Labels, float]]] = {}
        self._names: set[str] = set()
        for fam in families:
            self._names.add(fam.name)
            for s in fam.samples:
                self._names.add(s.name)
                self._series.setdefault(s.name, []).append((dict(s.labels), float(s.value)))

    @classmethod
    def _of(cls, series: dict[str, list[tuple[Labels, float]]], names: set[str]) -> Exposition:
        ex = cls(())
        ex._series, ex._names = series, names
        return ex

    def without_subsets(self, label: str) -> Exposition:
        """Drop the series with a non-empty ``label`` where an aggregate series exists.

        SGLang may report a metric once for all (``priority=""``) and again per
        priority; summing both would count every request twice.
        """
        out: dict[str, list[tuple[Labels, float]]] = {}
        for name, series in self._series.items():
            whole = [(lb, v) for lb, v in series if not lb.get(label)]
            out[name] = whole if whole else series
        return Exposition._of(out, self._names)

    # -- lookups ---------------------------------------------------------------------

    def names(self) -> set[str]:
        """Every family and sample name (for recognising a server by prefix)."""
        return self._names

    def has(self, name: str) -> bool:
        """Whether the body mentions the metric at all (its family may have no samples yet)."""
        base = name.removesuffix("_total")
        forms = (name, base, base + "_total", name + "_bucket", name + "_sum", name + "_count")
        return any(f in self._names for f in forms)

    def series(self, name: str, keep: Keep | None = None) -> list[tuple[Labels, float]]:
        """The finite samples named exactly ``name`` (those ``keep`` accepts)."""
        return [
            (lb, v)
            for lb, v in self._series.get(name, ())
            if _finite(v) and (keep is None or keep(lb))
        ]

    def total(self, name: str, keep: Keep | None = None) -> float | None:
        """The sum over label sets of the samples named ``name``; None when there are none."""
        found = self.series(name, keep)
        return sum(v for _, v in found) if found else None

    def counter(self, name: str, keep: Keep | None = None) -> float | None:
        """A counter summed over label sets, as ``name`` or ``name_total`` (see module doc)."""
        forms = [name] if name.endswith("_total") else [name, name + "_total"]
        for form in forms:
            v = self.total(form, keep)
            if v is not None:
                return v
        return None

    def created(self, name: str, keep: Keep | None = None) -> float | None:
        """The oldest ``_created`` of a counter's or histogram's label sets.

        The oldest, not a sum: a label set that appears later (a new finish
        reason) has a newer timestamp but is no restart; a restart renews them all.
        """
        found = self.series(name.removesuffix("_total") + "_created", keep)
        return min(v for _, v in found) if found else None

    def quantiles(
        self, name: str, scale: float = 1.0, keep: Keep | None = None
    ) -> dict[str, float]:
        """A summary's quantiles by their label (``"0.5"``), the highest over label sets.

        Quantiles of different series cannot be combined; the worst one is shown.
        """
        out: dict[str, float] = {}
        for lb, v in self.series(name, keep):
            q = lb.get("quantile")
            if q is None:
                continue
            key = _quantile_key(q)
            out[key] = max(out.get(key, -math.inf), v * scale)
        return out

    def histogram(
        self, name: str, scale: float = 1.0, keep: Keep | None = None
    ) -> Histogram | None:
        """The histogram summed over label sets, bounds and sum scaled to seconds.

        Label sets with different bucket bounds are summed over the bounds they
        all have (summing over the union would count an observation in some
        series and not others at the same bound). A histogram without a
        ``+Inf`` bucket keeps its finite buckets; its ``total`` is the
        ``_count`` when there is one.
        """
        groups: dict[frozenset[tuple[str, str]], dict[float, float]] = {}
        for lb, v in self.series(name + "_bucket", keep):
            try:
                bound = float(lb.get("le", ""))
            except ValueError:
                continue
            if math.isnan(bound):
                continue
            key = frozenset((k, x) for k, x in lb.items() if k != "le")
            groups.setdefault(key, {})[bound] = v
        if not groups:
            return None
        common = set.intersection(*(set(g) for g in groups.values()))
        if not common:
            return None
        bounds = sorted(common)
        counts = tuple(sum(g[b] for g in groups.values()) for b in bounds)
        hsum = self.total(name + "_sum", keep)
        return Histogram(
            tuple(b * scale if math.isfinite(b) else b for b in bounds),
            counts,
            self.total(name + "_count", keep),
            None if hsum is None else hsum * scale,
        )


def _quantile_key(q: str) -> str:
    """``"0.50"`` and ``"0.5"`` are the same quantile: key them by the float's repr."""
    try:
        return repr(float(q))
    except ValueError:
        return q
