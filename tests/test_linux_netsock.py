"""linux/netsock.py: the listening socket's inode, who holds it, and whether a host is here.

The fake-tree half writes /proc/net/tcp{,6} in the kernel's own layout
(``get_tcp4_sock`` / ``get_tcp6_sock``: addresses as 32-bit words in host
order, ports in hex) and /proc/PID/fd links; the real half listens on a
socket in this process and expects to be found.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from numaview.linux import netsock
from numaview.linux.fsroot import FsRoot
from numaview.linux.netsock import listening_inodes, listening_pid, local_host, parse_listening
from tests.fakefs import FakeTree

TCP_HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
    "   uid  timeout inode"
)
TCP6_HEADER = (
    "  sl  local_address                         remote_address"
    "                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
)


def _words(packed: bytes) -> str:
    """The kernel prints each 32-bit word of the address as the CPU holds it (%08X)."""
    return "".join(f"{w:08X}" for w in struct.unpack(f"={len(packed) // 4}I", packed))


def tcp_line(sl: int, local: str, port: int, state: str, inode: int, remote: str = "") -> str:
    """One /proc/net/tcp or tcp6 row (which one follows from the address family)."""
    ip = ipaddress.ip_address(local)
    rip = ipaddress.ip_address(remote or ("::" if ip.version == 6 else "0.0.0.0"))
    rport = 0 if not remote else 51234
    line = (
        f"{sl:4d}: {_words(ip.packed)}:{port:04X} {_words(rip.packed)}:{rport:04X} {state} "
        f"00000000:00000000 00:00000000 00000000  1000        0 {inode} 1 "
        "0000000000000000 100 0 0 10 0"
    )
    return line.ljust(149) if ip.version == 4 else line


def stat_line(pid: int, ppid: int, name: str = "srv") -> str:
    rest = ["S", str(ppid)] + ["0"] * 48
    return f"{pid} ({name}) " + " ".join(rest)


class Tree:
    """A fake / with /proc/net/tcp{,6} and processes holding descriptors."""

    def __init__(self, root: Path) -> None:
        self.t = FakeTree(root)
        self.fs = FsRoot(root)
        self.t.write("proc/net/tcp", TCP_HEADER)
        self.t.write("proc/net/tcp6", TCP6_HEADER)

    def net(self, v4: list[str], v6: list[str] | None = None) -> None:
        self.t.write("proc/net/tcp", "\n".join([TCP_HEADER, *v4]))
        if v6 is not None:
            self.t.write("proc/net/tcp6", "\n".join([TCP6_HEADER, *v6]))

    def process(self, pid: int, ppid: int, links: list[str]) -> None:
        self.t.write(f"proc/{pid}/stat", stat_line(pid, ppid))
        os.makedirs(self.t.root / f"proc/{pid}/fd", exist_ok=True)
        for fd, target in enumerate(links):
            self.t.symlink(f"proc/{pid}/fd/{fd}", target)


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path)


# -- /proc/net/tcp parsing -----------------------------------------------------


def test_listen_rows_on_the_port_give_their_inodes() -> None:
    text = "\n".join(
        [
            TCP_HEADER,
            tcp_line(0, "0.0.0.0", 8000, "0A", 1111),
            tcp_line(1, "10.0.0.5", 8000, "0A", 2222),  # bound to one address: still ours
            tcp_line(2, "127.0.0.1", 8001, "0A", 3333),  # another port
            tcp_line(3, "127.0.0.1", 8000, "01", 4444, remote="127.0.0.1"),  # a connection
            tcp_line(4, "127.0.0.1", 8000, "0A", 0),  # no inode: held by no one
        ]
    )
    assert parse_listening(text, 8000) == {1111, 2222}
    assert parse_listening(text, 8001) == {3333}
    assert parse_listening(text, 9) == set()


def test_the_kernels_byte_order_is_what_the_fake_writes() -> None:
    # On little-endian x86 the kernel shows 127.0.0.1 as 0100007F.
    line = tcp_line(0, "127.0.0.1", 0x1F90, "0A", 5)
    if sys.byteorder == "little":
        assert " 0100007F:1F90 00000000:0000 0A " in line
    assert parse_listening(line, 8080) == {5}


def test_malformed_rows_are_skipped_not_fatal() -> None:
    text = "\n".join(
        [
            TCP_HEADER,
            "garbage",
            "   1: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 7 1",
            "   2: 0100007F1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 8 1",
            "   3: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 x 1",
            "   4: 0100007F:1F90 00000000:0000 0A",  # cut short
            "",
            tcp_line(5, "127.0.0.1", 8080, "0A", 99),
        ]
    )
    assert parse_listening(text, 8080) == {99}


def test_ipv6_rows_and_a_kernel_without_tcp6(tree: Tree) -> None:
    tree.net(
        [tcp_line(0, "127.0.0.1", 8000, "0A", 10)],
        [tcp_line(0, "::", 8000, "0A", 20), tcp_line(1, "::1", 8001, "0A", 30)],
    )
    assert listening_inodes(tree.fs, 8000) == {10, 20}
    assert listening_inodes(tree.fs, 8001) == {30}
    os.unlink(tree.t.root / "proc/net/tcp6")
    assert listening_inodes(tree.fs, 8000) == {10}


def test_a_long_table_is_read_to_the_end(tree: Tree) -> None:
    # /proc/net/tcp is a seq file: reads return whole rows, so a short first
    # read does not mean the end. The listener sits far past the first page.
    rows = [tcp_line(i, "10.1.0.1", 20000 + i, "0A", 1000 + i) for i in range(500)]
    tree.net([*rows, tcp_line(500, "0.0.0.0", 8000, "0A", 77)])
    assert listening_inodes(tree.fs, 8000) == {77}


# -- who holds the socket ----------------------------------------------------


def test_the_single_holder_is_found(tree: Tree) -> None:
    tree.net([tcp_line(0, "0.0.0.0", 8000, "0A", 500)])
    tree.process(10, 1, ["/dev/null", "socket:[499]", "pipe:[500]"])
    tree.process(20, 1, ["/dev/null", "anon_inode:[eventfd]", "socket:[500]"])
    assert listening_pid(tree.fs, 8000) == 20
    assert listening_pid(tree.fs, 8001) is None  # nobody listens there


def test_a_listener_no_visible_process_holds_gives_none(tree: Tree) -> None:
    tree.net([tcp_line(0, "0.0.0.0", 8000, "0A", 500)])
    tree.process(10, 1, ["socket:[1]"])
    assert listening_pid(tree.fs, 8000) is None


def test_a_prefork_server_is_its_master(tree: Tree) -> None:
    tree.net([tcp_line(0, "0.0.0.0", 8000, "0A", 500)])
    tree.process(300, 1, ["socket:[500]"])  # the master, started after pid wrap-around
    for worker in (120, 121, 400):
        tree.process(worker, 300, ["socket:[500]", f"socket:[{worker}]"])
    assert listening_pid(tree.fs, 8000) == 300


def test_unrelated_holders_give_the_lowest_pid(tree: Tree) -> None:
    # SO_REUSEPORT: two independent servers, each with its own socket.
    tree.net([tcp_line(0, "0.0.0.0", 8000, "0A", 500), tcp_line(1, "0.0.0.0", 8000, "0A", 501)])
    tree.process(70, 1, ["socket:[501]"])
    tree.process(40, 1, ["socket:[500]"])
    tree.process(41, 40, ["socket:[500]"])
    assert listening_pid(tree.fs, 8000) == 40
    assert netsock.choose_holder(tree.fs, {70, 41}) == 41  # neither is the other's parent


def test_a_hint_that_holds_the_socket_skips_the_walk(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree.net([tcp_line(0, "0.0.0.0", 8000, "0A", 500)])
    tree.process(10, 1, ["socket:[500]"])
    tree.process(11, 10, ["socket:[500]"])
    tree.process(12, 1, ["socket:[9]"])

    def no_walk(root: FsRoot) -> list[int]:
        raise AssertionError("walked /proc despite a good hint")

    monkeypatch.setattr(netsock, "_pids", no_walk)
    assert listening_pid(tree.fs, 8000, hint=[10]) == 10
    assert listening_pid(tree.fs, 8000, hint=[999, 11]) == 10  # a worker climbs to its master
    with pytest.raises(AssertionError, match="walked"):
        listening_pid(tree.fs, 8000, hint=[12])  # a stale hint: the full walk runs


def test_a_stale_hint_still_finds_the_new_server(tree: Tree) -> None:
    tree.net([tcp_line(0, "0.0.0.0", 8000, "0A", 600)])
    tree.process(10, 1, ["socket:[500]"])  # the old server's pid, now something else
    tree.process(25, 1, ["socket:[600]"])
    assert listening_pid(tree.fs, 8000, hint=[10, -1, 0]) == 25


def test_vanished_and_refused_processes_are_skipped(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree.net([tcp_line(0, "0.0.0.0", 8000, "0A", 500)])
    tree.process(5, 1, ["socket:[500]"])  # denied below: its holding is invisible
    tree.t.write("proc/6/stat", stat_line(6, 1))  # exited: no fd directory left
    tree.t.write("proc/7/fd", "not a directory")
    tree.process(8, 1, [])
    tree.t.write("proc/8/fd/3", "a plain file: readlink fails with EINVAL")
    tree.process(9, 1, ["socket:[notanumber]", "socket:[500]"])
    real = tree.fs.listdir_or_raise

    def listdir(rel: str) -> list[str]:
        if rel == "proc/5/fd":
            raise PermissionError(13, "Permission denied")
        if rel == "proc/8/fd":
            return [*real(rel), "4"]  # closed between the listing and the readlink
        return real(rel)

    monkeypatch.setattr(tree.fs, "listdir_or_raise", listdir)
    assert netsock.socket_inodes(tree.fs, 5) == set()
    assert netsock.socket_inodes(tree.fs, 6) == set()
    assert listening_pid(tree.fs, 8000) == 9


# -- is the host this machine? -----------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["localhost", "LOCALHOST", "api.localhost", "127.0.0.1", "127.8.9.10", "127.1", "::1",
     "[::1]", "0.0.0.0", "::", "[::ffff:127.0.0.1]", "localhost."],
)  # fmt: skip
def test_loopback_and_unspecified_are_local(host: str) -> None:
    assert local_host(host) is True


@pytest.mark.parametrize("host", ["", "192.0.2.1", "2001:db8::1", "[2001:db8::7]", "8.8.8.8"])
def test_foreign_addresses_are_not_local(host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netsock, "own_addresses", lambda: {"10.0.0.5", "fe80::1"})
    assert local_host(host) is False


def test_interface_addresses_are_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netsock, "own_addresses", lambda: {"10.0.0.5", "fe80::1"})
    assert local_host("10.0.0.5")
    assert local_host("fe80::1%eth0")
    assert not local_host("10.0.0.6")


def test_names_are_compared_never_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "gpu07")
    real = socket.getaddrinfo

    def numeric_only(host: Any, *args: Any, **kw: Any) -> Any:
        assert kw.get("flags", 0) & socket.AI_NUMERICHOST, "a name was sent to the resolver"
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)
    assert local_host("gpu07")
    assert local_host("GPU07.cluster.example")  # this machine with its domain
    assert not local_host("gpu08")
    assert not local_host("example.com")
    monkeypatch.setattr(socket, "gethostname", lambda: "gpu07.cluster.example")
    assert local_host("gpu07")
    assert local_host("gpu07.cluster.example")
    assert not local_host("gpu07.other.example")


# -- this machine --------------------------------------------------------------

LIVE = FsRoot("/")


@pytest.fixture
def v4_listener() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s
    s.close()


@pytest.mark.real
def test_this_process_is_found_listening_on_ipv4(v4_listener: socket.socket) -> None:
    port = v4_listener.getsockname()[1]
    assert os.fstat(v4_listener.fileno()).st_ino in listening_inodes(LIVE, port)
    assert listening_pid(LIVE, port) == os.getpid()
    assert listening_pid(LIVE, port, hint=[os.getpid()]) == os.getpid()


@pytest.mark.real
def test_a_child_sharing_the_socket_leaves_the_parent_reported(
    v4_listener: socket.socket,
) -> None:
    port = v4_listener.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; print(flush=True); time.sleep(60)"],
        pass_fds=[v4_listener.fileno()],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # started, holding the inherited socket
        held = netsock.socket_inodes(LIVE, child.pid)
        assert os.fstat(v4_listener.fileno()).st_ino in held
        assert listening_pid(LIVE, port) == os.getpid()
        assert listening_pid(LIVE, port, hint=[child.pid]) == os.getpid()
    finally:
        child.kill()
        child.wait()


@pytest.mark.real
def test_a_closed_listener_is_not_found() -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    s.close()
    deadline = time.monotonic() + 2
    while listening_inodes(LIVE, port) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert listening_pid(LIVE, port) is None


def _ipv6_loopback() -> socket.socket | None:
    if not socket.has_ipv6:
        return None
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        s.bind(("::1", 0))
        s.listen()
    except OSError:
        s.close()
        return None
    return s


@pytest.mark.real
def test_this_process_is_found_listening_on_ipv6() -> None:
    s = _ipv6_loopback()
    if s is None:
        pytest.skip("no IPv6 loopback here")
    with s:
        port = s.getsockname()[1]
        assert os.fstat(s.fileno()).st_ino in listening_inodes(LIVE, port)
        assert listening_pid(LIVE, port) == os.getpid()


@pytest.mark.real
def test_this_machines_own_names_and_addresses_are_local() -> None:
    assert local_host(socket.gethostname())
    addrs = netsock.own_addresses()
    assert "127.0.0.1" in addrs  # lo is always there
    for a in addrs:
        assert local_host(a), a
    assert not local_host("192.0.2.1")  # TEST-NET-1: on no machine
    t0 = time.monotonic()
    assert not local_host("surely-not-this-host.invalid")
    assert time.monotonic() - t0 < 1.0  # no resolver was asked
