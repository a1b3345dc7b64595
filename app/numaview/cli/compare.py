"""``numaview compare RECORDING [--event N] [--json]``: the load test before and after each pin.

The comparison is made again from the recorded frames' workload samples,
with the windows given here (so a recording made with other windows can be
looked at differently); it is the same computation as the dashboard's
before/after panel and the ``compare`` events in the recording.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from numaview.cli.common import EXIT_OK, CliError, seconds

COMPARE_EPILOG = """\
Pins are numbered 1, 2, ... in the order they were made (`numaview compare FILE`
lists them). A change is "beyond noise" when Welch's t of the per-second
samples before against after is at least 3 (see README: before/after).

exit status: 0 done; 1 the recording cannot be read or has no such pin;
2 bad arguments.
"""


def _pin_text(data: dict[str, Any]) -> str:
    name, pid = data.get("name"), data.get("pid")
    if data.get("undo"):
        return f"restored pid {pid} ({name}) to its previous CPUs"
    return f"moved pid {pid} ({name}) to {data.get('target')}"


def cmd_compare(args: argparse.Namespace) -> int:
    from numaview.record.format import RecordingError
    from numaview.record.reader import Reader
    from numaview.render.workload import comparison_text
    from numaview.stream.measure import Windows, compare_frames

    window = seconds("--window", args.window, 1.0, 3600.0)
    settle = seconds("--settle", args.settle, 0.0, 600.0)
    windows = Windows(window, settle, window)
    out: list[dict[str, Any]] = []
    lines: list[str] = []
    try:
        with Reader(args.file) as reader:
            pins = [e for e in reader.events("pin") if not e.data.get("dry_run")]
            if args.event is not None and not 1 <= args.event <= len(pins):
                raise CliError(
                    f"{args.file}: no pin {args.event} (it has {len(pins)} pin"
                    f"{'' if len(pins) == 1 else 's'})"
                )
            for n, ev in enumerate(pins, 1):
                if args.event is not None and n != args.event:
                    continue
                text = _pin_text(ev.data)
                frames = list(
                    reader.frames_between(ev.time - window - 2, ev.time + settle + window + 2)
                )
                comps = compare_frames(frames, ev.mono, text, windows, n)
                out.append(
                    {
                        "pin": n,
                        "time": ev.time,
                        "text": text,
                        "comparisons": [c.to_dict() for c in comps],
                    }
                )
                lines.append(f"pin {n}: {text}")
                if not comps:
                    lines.append("  no workload samples on both sides of this pin")
                for c in comps:
                    lines += ["", comparison_text(c)]
                lines.append("")
    except RecordingError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(out, indent=1))
    elif not out:
        print(f"{args.file}: no pins recorded")
    else:
        sys.stdout.write("\n".join(lines))
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "compare",
        help="a recording's load-test figures before against after each pin",
        description="For each pin in a recording (or only pin N), compare the workload"
        " figures of a window before it with a window after it.",
        epilog=COMPARE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="RECORDING", help="a recording made by numaview")
    p.add_argument("--event", metavar="N", type=int, help="only the N-th pin (1 = first)")
    p.add_argument("--window", metavar="S", default="30", help="seconds before and after (30)")
    p.add_argument("--settle", metavar="S", default="5", help="seconds after a pin skipped (5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_compare)
