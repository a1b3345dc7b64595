"""The dashboard's key names and help lines (the help screen and the command palette)."""

from __future__ import annotations

KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "greater_than_sign": ">",
    "plus": "+",
    "minus": "-",
    "escape": "esc",
    "ctrl+c": "ctrl+c",
    "space": "space",
}
HELP_TEXT = {
    "quit": "quit (the terminal is restored)",
    "show_help": "this help",
    "filter_processes": "filter processes by name, command, user or pid (esc clears)",
    "cycle_sort": "sort by the next column: CPU, memory, threads, involuntary switches, pid",
    "toggle_pause": "pause the view (sampling goes on; htop's Z); again to resume",
    "sample_faster": "sample more often (down to every 0.1 s)",
    "sample_slower": "sample less often (up to every 60 s)",
    "toggle_threads": "one row per thread instead of per process",
    "toggle_charts": "show or hide the charts (history of nodes and the selection)",
    "toggle_compare": "show or hide the load test before / after the last pin (esc hides it)",
    "clear_selection": "close the filter box; leave the findings",
    "focus_findings": "browse the findings (↑↓), their CPUs/processes highlighted; f again: back",
    "move(-1)": "previous finding",
    "move(1)": "next finding",
    "cursor_up": "previous process",
    "cursor_down": "next process",
    "cursor_page(-1)": "page up",
    "cursor_page(1)": "page down",
    "cursor_to(0)": "first process",
    "cursor_to(-1)": "last process",
    "open": "details of the selected process: its threads, CPUs, nodes, memory",
    "pin_process": "pin the selected process (htop's a): node, L3, package, CPU list, undo",
    "apply_fix": "apply the selected finding's fix (the pin or plan dialog asks first)",
    "toggle_tag": "tag / untag the selected process (htop's space; the cursor moves down)",
    "untag_all": "untag every process",
    "plan_processes": "plan: divide the machine between the tagged processes (or the finding's)",
    "toggle_recording": "record to a file (asks its name); again to stop (`numaview replay FILE`)",
    "add_mark": "while recording: mark this moment with a note",
}
