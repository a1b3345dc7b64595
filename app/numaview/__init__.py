"""numaview: a live terminal view of how a machine's cores, NUMA nodes and processes are used."""

__version__ = "0.1.0"
