"""User names for uids: NSS on the live machine, the tree's etc/passwd on a fake one."""

from __future__ import annotations

import pwd

from numaview.linux.fsroot import FsRoot


class UserNames:
    def __init__(self, fs: FsRoot, live: bool) -> None:
        self.fs = fs
        self.live = live
        self.names: dict[int, str] = {}

    def __call__(self, uid: int) -> str:
        name = self.names.get(uid)
        if name is None:
            name = self._all().get(uid, str(uid))
            self.names[uid] = name
        return name

    def _all(self) -> dict[int, str]:
        # The live machine asks NSS (LDAP users too); a fake or gathered tree has
        # its own etc/passwd, and local names would be wrong for it.
        if self.live:
            return {p.pw_uid: p.pw_name for p in pwd.getpwall()}
        out: dict[int, str] = {}
        for line in (self.fs.read("etc/passwd", limit=1 << 20) or "").splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2].isdigit():
                out.setdefault(int(parts[2]), parts[0])
        return out
