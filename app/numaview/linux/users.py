"""User names for uids: NSS on the live machine, the tree's etc/passwd on a fake one."""

from __future__ import annotations

import pwd

from numaview.linux.fsroot import FsRoot


class UserNames:
    """uid -> name, each uid looked up once (the sampler asks once per new process)."""

    def __init__(self, fs: FsRoot, live: bool) -> None:
        self.fs = fs
        self.live = live
        self.names: dict[int, str] = {}
        self._passwd: dict[int, str] | None = None

    def __call__(self, uid: int) -> str:
        name = self.names.get(uid)
        if name is None:
            name = self.names[uid] = self._lookup(uid)
        return name

    def _lookup(self, uid: int) -> str:
        if self.live:
            # One uid asked of NSS, as psutil's username() does: LDAP/SSSD users
            # resolve even where listing them all (getpwall) is switched off.
            try:
                return pwd.getpwuid(uid).pw_name
            except KeyError:
                return str(uid)
        # A fake or gathered tree has its own etc/passwd; local names would be wrong.
        if self._passwd is None:
            self._passwd = {}
            for line in (self.fs.read("etc/passwd", limit=1 << 20) or "").splitlines():
                parts = line.split(":")
                if len(parts) > 2 and parts[2].isdigit():
                    self._passwd.setdefault(int(parts[2]), parts[0])
        return self._passwd.get(uid, str(uid))
