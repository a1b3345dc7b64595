"""The load test's sources on the command line and in the config file.

``--metrics URL`` (repeatable), ``--k6 FILE``, ``--locust PREFIX``, and for an
endpoint numaview does not know, ``--throughput COUNTER`` and ``--latency
HISTOGRAM``. The same in ``$XDG_CONFIG_HOME/numaview/config.toml`` (or
``--config FILE``)::

    metrics = ["http://127.0.0.1:8000/metrics"]      # shorthand

    [[workload]]
    metrics = "http://127.0.0.1:9000/metrics"
    throughput = "app_requests_total"
    latency = "app_request_seconds"
    latency_unit = "s"                                 # s, ms or us
    timeout = 2.0

    [[workload]]
    k6 = "/tmp/k6.json"

Both add up: the config file's sources, then the command line's.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from numaview.cli.common import CliError, UsageError, seconds

if TYPE_CHECKING:
    from numaview.stream.measure import Windows
    from numaview.workload.hub import SourceSpec, WorkloadHub

LATENCY_UNITS = ("s", "ms", "us")


def add_workload_args(p: argparse.ArgumentParser, windows: bool = True) -> None:
    g = p.add_argument_group("load test (throughput and latency beside the cores)")
    g.add_argument(
        "--metrics",
        metavar="URL",
        action="append",
        default=[],
        help="a Prometheus endpoint (vLLM, SGLang, TGI, llama.cpp, Triton, or one named"
        " with --throughput/--latency); repeatable",
    )
    g.add_argument("--k6", metavar="FILE", action="append", default=[], help="k6 --out json=FILE")
    g.add_argument(
        "--locust", metavar="PREFIX", action="append", default=[], help="locust --csv PREFIX"
    )
    g.add_argument("--throughput", metavar="COUNTER", help="an unknown endpoint's request counter")
    g.add_argument("--latency", metavar="HISTOGRAM", help="an unknown endpoint's latency metric")
    g.add_argument(
        "--latency-unit", choices=LATENCY_UNITS, default="s", help="--latency's unit (s)"
    )
    g.add_argument(
        "--metrics-timeout", metavar="S", default="2", help="each read's time limit (2 s)"
    )
    g.add_argument("--config", metavar="FILE", help="config file (default: ~/.config/numaview)")
    if windows:
        g.add_argument(
            "--compare-window",
            metavar="S",
            default="30",
            help="seconds measured before and after a pin (30)",
        )
        g.add_argument(
            "--settle", metavar="S", default="5", help="seconds after a pin not measured (5)"
        )


def _config_path(args: argparse.Namespace) -> str | None:
    if getattr(args, "config", None):
        return str(args.config)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.join(base, "numaview", "config.toml")
    return path if os.path.isfile(path) else None


def _load_config(path: str) -> dict[str, Any]:
    import tomllib  # only when there is a config file

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise CliError(f"--config {path}: no such file") from None
    except PermissionError:
        raise CliError(f"{path}: permission denied") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: not valid TOML ({exc})") from None


def _spec(entry: dict[str, Any], where: str, timeout_s: float) -> SourceSpec:
    from numaview.workload.hub import SourceSpec
    from numaview.workload.profiles import CustomMetrics

    kinds = [k for k in ("metrics", "k6", "locust") if k in entry]
    if len(kinds) != 1 or not isinstance(entry[kinds[0]], str):
        raise CliError(f"{where}: each [[workload]] names one of metrics, k6 or locust")
    unit = entry.get("latency_unit", "s")
    if unit not in LATENCY_UNITS:
        raise CliError(f"{where}: latency_unit must be one of {', '.join(LATENCY_UNITS)}")
    custom = None
    if entry.get("throughput") or entry.get("latency"):
        custom = CustomMetrics(
            throughput=entry.get("throughput"), latency=entry.get("latency"), latency_unit=unit
        )
    timeout = entry.get("timeout", timeout_s)
    if not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise CliError(f"{where}: timeout must be a number of seconds from 0 to 60")
    return SourceSpec(kinds[0], entry[kinds[0]], custom, float(timeout))


def workload_specs(args: argparse.Namespace) -> list[SourceSpec]:
    """Every source the config file and the command line name, checked (one-line errors)."""
    timeout = seconds("--metrics-timeout", args.metrics_timeout, 0.0, 60.0, lo_open=True)
    path = _config_path(args)
    named = (args.metrics, args.k6, args.locust, args.throughput, args.latency)
    if path is None and not any(named):
        return []  # no source: the workload package (HTTP, parsers) is never loaded
    from numaview.workload.hub import SourceSpec, check_spec
    from numaview.workload.profiles import CustomMetrics

    specs: list[SourceSpec] = []
    if path is not None:
        conf = _load_config(path)
        short = conf.get("metrics", [])
        if isinstance(short, str):
            short = [short]
        if not isinstance(short, list):
            raise CliError(f"{path}: metrics must be a list of URLs")
        specs += [_spec({"metrics": u}, path, timeout) for u in short]
        entries = conf.get("workload", [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise CliError(f"{path}: [[workload]] entries expected")
        specs += [_spec(e, path, timeout) for e in entries]
    custom = None
    if args.throughput or args.latency:
        custom = CustomMetrics(
            throughput=args.throughput, latency=args.latency, latency_unit=args.latency_unit
        )
    specs += [SourceSpec("metrics", u, custom, timeout) for u in args.metrics]
    specs += [SourceSpec("k6", f, None, timeout) for f in args.k6]
    specs += [SourceSpec("locust", f, None, timeout) for f in args.locust]
    for s in specs:
        why = check_spec(s)
        if why is not None:
            raise UsageError(why)
    if (args.throughput or args.latency) and not args.metrics:
        raise UsageError("--throughput and --latency name metrics of a --metrics URL")
    return specs


def workload_hub(args: argparse.Namespace, root: str, interval_s: float) -> WorkloadHub | None:
    """The hub of every named source (not started), or None when there is none."""
    specs = workload_specs(args)
    if not specs:
        return None
    from numaview.linux.fsroot import FsRoot
    from numaview.workload.hub import WorkloadHub

    return WorkloadHub(specs, FsRoot(root), interval_s)


def windows_arg(args: argparse.Namespace) -> Windows:
    from numaview.stream.measure import Windows

    w = seconds("--compare-window", args.compare_window, 1.0, 3600.0)
    settle = seconds("--settle", args.settle, 0.0, 600.0)
    return Windows(before_s=w, settle_s=settle, after_s=w)
