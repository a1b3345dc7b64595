"""Which process serves a TCP port: the listening socket's inode, then who holds it.

A workload source is a URL; to put the server's CPUs and nodes next to its
throughput numaview needs the server's pid. The kernel says which sockets
listen on a port (``/proc/net/tcp`` and ``tcp6``, state ``0A``) and which
process holds which socket (``/proc/PID/fd/N`` links to ``socket:[INODE]``);
nothing else needs to run (no ``ss``, no ``lsof``), and a fake tree works
because every read goes through ``FsRoot``.

Limits, by the kernel's design: ``/proc/net`` shows this process's network
namespace only (a server in another container is not found), and another
user's ``fd`` directory is unreadable without privilege (its processes are
skipped, so an unprivileged run finds its own user's servers only).

``local_host`` says whether a URL's host is this machine, so the pid is only
looked for when the port can be one of ours. It never asks a resolver: a
name that only DNS or /etc/hosts could place is taken as not local, since a
lookup can hang a dashboard tick for seconds.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable

from numaview.linux import procparse
from numaview.linux.fsroot import FsRoot

LISTEN = "0A"  # TCP_LISTEN in the kernel's st column
# /proc/net/tcp is a seq file: every read returns whole lines only, so the
# file is read to EOF (read_or_raise); 150 bytes a socket, 64 MiB ≈ 400k sockets.
NET_LIMIT = 64 << 20
_SOCKET_PREFIX = "socket:["


def parse_listening(text: str, port: int) -> set[int]:
    """Inodes of the LISTEN sockets on ``port`` in one /proc/net/tcp{,6} text.

    The columns are ``sl local_address rem_address st ... uid timeout inode``;
    local_address is ``HEXADDR:HEXPORT`` (32 hex digits for IPv6). Any bound
    address matches: a server on 10.0.0.5:8000 still serves port 8000 here.
    The header and malformed lines are skipped, not fatal.
    """
    found: set[int] = set()
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 10 or cols[3] != LISTEN:
            continue
        _, sep, hexport = cols[1].rpartition(":")
        if not sep:
            continue
        try:
            if int(hexport, 16) != port:
                continue
            inode = int(cols[9])
        except ValueError:
            continue
        if inode > 0:  # 0: a socket being torn down, held by no one
            found.add(inode)
    return found


def listening_inodes(root: FsRoot, port: int) -> set[int]:
    """Inodes of every socket listening on TCP ``port`` (IPv4 and IPv6)."""
    found: set[int] = set()
    for name in ("proc/net/tcp", "proc/net/tcp6"):
        try:
            text = root.read_or_raise(name, NET_LIMIT)
        except OSError:
            continue  # no IPv6 in this kernel, or /proc/net hidden
        found |= parse_listening(text, port)
    return found


def socket_inodes(root: FsRoot, pid: int) -> set[int]:
    """The socket inodes ``pid`` holds open; empty when it is gone or not ours to read.

    Vanishing (ENOENT, ESRCH) and refusal (EACCES, EPERM) are the normal
    case while walking every process, not an error: each is skipped.
    """
    base = f"proc/{pid}/fd"
    try:
        fds = root.listdir_or_raise(base)
    except OSError:
        return set()
    found: set[int] = set()
    for fd in fds:
        try:
            target = os.readlink(root.path(f"{base}/{fd}"))
        except OSError:
            continue  # closed since the listing, or the process went
        if target.startswith(_SOCKET_PREFIX) and target.endswith("]"):
            try:
                found.add(int(target[len(_SOCKET_PREFIX) : -1]))
            except ValueError:
                continue
    return found


def _pids(root: FsRoot) -> list[int]:
    return sorted(int(n) for n in root.listdir("proc") or () if n.isdigit())


def _ppid(root: FsRoot, pid: int) -> int | None:
    text = root.read(f"proc/{pid}/stat")
    st = None if text is None else procparse.parse_pid_stat(text)
    return None if st is None else st.ppid


def choose_holder(root: FsRoot, holders: set[int]) -> int:
    """The one pid to report when several hold the listening socket.

    A pre-fork server (gunicorn, uvicorn --workers, nginx) has its master and
    every worker hold the socket; the master is the server as the user knows
    it (its children are its workers). So: the holder whose parent is not a
    holder, when there is exactly one; otherwise (unrelated processes with
    SO_REUSEPORT sockets, a parent we cannot read) the lowest pid.
    """
    if len(holders) == 1:
        return next(iter(holders))
    tops = [p for p in holders if _ppid(root, p) not in holders]
    return tops[0] if len(tops) == 1 else min(holders)


def _climb(root: FsRoot, pid: int, inodes: set[int]) -> int:
    """From a hinted holder up its parents while they hold the socket too."""
    seen = {pid}
    while True:
        parent = _ppid(root, pid)
        if parent is None or parent <= 1 or parent in seen:
            return pid
        if not socket_inodes(root, parent) & inodes:
            return pid
        seen.add(parent)
        pid = parent


def listening_pid(root: FsRoot, port: int, hint: Iterable[int] = ()) -> int | None:
    """The pid of the process listening on TCP ``port``, or None if none is found.

    ``hint`` (e.g. the pid found last time) is checked first: a hinted pid
    that still holds a listening socket is the answer (or its parent, when
    that holds it too: a hint may be a worker), and the walk of every
    process's descriptors (tens of thousands of readlinks on a busy
    machine) is skipped.
    """
    inodes = listening_inodes(root, port)
    if not inodes:
        return None
    for pid in dict.fromkeys(hint):  # in the caller's order, once each
        if pid > 0 and socket_inodes(root, pid) & inodes:
            return _climb(root, pid, inodes)
    holders = {pid for pid in _pids(root) if socket_inodes(root, pid) & inodes}
    return choose_holder(root, holders) if holders else None


# -- is a host this machine? -------------------------------------------------


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an address when it is written as one (never resolved).

    AI_NUMERICHOST makes getaddrinfo parse only, with libc's rules, so the
    shorthands a URL may carry (``127.1``, ``fe80::1%eth0``) are understood.
    """
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            continue
    return None


def own_addresses() -> set[str]:
    """Every address bound to an interface here (psutil asks the kernel, not the network)."""
    try:
        import psutil  # type: ignore[import-untyped]  # no stubs in the dev tools

        table = psutil.net_if_addrs()
    except Exception:  # psutil missing or the kernel refused: only loopback then
        return set()
    out: set[str] = set()
    for addrs in table.values():
        for a in addrs:
            if a.family in (socket.AF_INET, socket.AF_INET6):
                try:
                    out.add(str(ipaddress.ip_address(str(a.address).split("%", 1)[0])))
                except ValueError:
                    continue
    return out


def _own_name(host: str) -> bool:
    me = socket.gethostname().lower().rstrip(".")
    if not me:
        return False
    short = me.split(".", 1)[0]
    return host in (me, short) or ("." not in me and host.split(".", 1)[0] == me)


def local_host(host: str) -> bool:
    """Whether ``host`` (a URL's host part) names this machine.

    True for localhost (and ``*.localhost``), loopback (127.0.0.0/8, ::1),
    the unspecified addresses (0.0.0.0, ::: a server bound there listens
    here), this machine's hostname (short or with its domain) and any
    address on one of its interfaces. Any other name is False: resolving
    it could wait on DNS.
    """
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    h = h.rstrip(".")
    if not h:
        return False
    if h == "localhost" or h.endswith(".localhost"):
        return True
    ip = _literal_ip(h)
    if ip is None:
        return _own_name(h)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:
        return True
    return str(ip) in own_addresses()
