from __future__ import annotations

import os
import tempfile

import pytest

from tests.fakefs import Machine, Shape, build_machine


def pytest_configure(config: pytest.Config) -> None:
    # Fake trees are tens of thousands of tiny files; on this disk each create costs
    # ~0.6 ms, on tmpfs ~0.03 ms. Real sysfs lives in RAM too.
    if os.access("/dev/shm", os.W_OK) and not os.environ.get("NUMAVIEW_TEST_TMP_ON_DISK"):
        tempfile.tempdir = "/dev/shm"


BIG_SHAPE = Shape(packages=8, nodes_per_package=2, l3_per_node=4, cores_per_l3=8, smt=2)


@pytest.fixture(scope="session")
def big_machine(tmp_path_factory: pytest.TempPathFactory) -> Machine:
    """One fake 1024-CPU, 16-node, 64-L3 machine for the whole session (read-only)."""
    return build_machine(tmp_path_factory.mktemp("big"), BIG_SHAPE)
