"""Recordings: frames and events in one SQLite file, written live and read back for replay."""
