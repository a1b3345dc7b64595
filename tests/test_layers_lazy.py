"""The dashboard starts without what only some commands use (the issue: numaview's own RSS).

SQLite (recording, replay), prometheus_client and HTTP (a --metrics source),
py-spy's wrapper (the stacks view), the workload parsers, TOML (a config
file) and the comparison statistics are imported where they are first used.
A fresh interpreter imports what the dashboard imports and builds the live
Monitor, then lists what got loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

LATER = (
    "sqlite3",
    "prometheus_client",
    "http.client",
    "urllib.request",
    "tomllib",
    "numaview.record.reader",
    "numaview.record.writer",
    "numaview.record.replay",
    "numaview.workload.hub",
    "numaview.workload.expo",
    "numaview.workload.compare",
    "numaview.stacks.pyspy",
)

CODE = """
import json, sys
from numaview.cli import build_parser
from numaview.cli.dashboard import cmd_dashboard
from numaview.linux.sysfs import discover
from numaview.sampler.sampler import SamplerOptions
from numaview.stream import factories
from numaview.cli.workload_args import workload_hub
args = build_parser().parse_args([])
assert workload_hub(args, "/", 1.0) is None
monitor = factories.live("/", discover("/"), SamplerOptions(), 1.0)
import numaview.tui.app
print(json.dumps(sorted(m for m in LATER if m in sys.modules)))
"""


def test_the_live_dashboard_starts_without_the_optional_parts() -> None:
    code = f"LATER = {LATER!r}\n{CODE}"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


def test_what_is_lazy_still_loads_when_used() -> None:
    code = (
        "import sys\n"
        "from numaview.workload.expo import parse\n"
        "assert parse('x_total 1\\n')\n"
        "from numaview.record.format import Redactor\n"
        "assert Redactor(b's').user('root').startswith('user#')\n"
        "from numaview.stream.factories import pyspy_dump\n"
        "print('prometheus_client' in sys.modules, 'hashlib' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "True"]
