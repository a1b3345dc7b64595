from __future__ import annotations

import pytest

from numaview.model.cpuset import format_cpulist, parse_cpulist, parse_cpumask
from tests.fakefs import cpumask


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ()),
        ("\n", ()),
        ("0", (0,)),
        ("0-3", (0, 1, 2, 3)),
        ("0-1,8,10-11\n", (0, 1, 8, 10, 11)),
        ("5,1,3", (1, 3, 5)),
        ("0-3\x00\x00", (0, 1, 2, 3)),
        (" 2-3 \n", (2, 3)),
        ("0-7:2/4", (0, 1, 4, 5)),
        ("0-1023", tuple(range(1024))),
    ],
)
def test_parse_cpulist(text: str, expected: tuple[int, ...]) -> None:
    assert parse_cpulist(text) == expected


@pytest.mark.parametrize("bad", ["a", "1-", "-1", "3-1", "1,,2", "0-3:2", "0-3:x/4", "0-3:1/0"])
def test_parse_cpulist_rejects_junk(bad: str) -> None:
    with pytest.raises(ValueError, match="cpu list"):
        parse_cpulist(bad)


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        ("00000003", (0, 1)),
        ("3\n", (0, 1)),
        ("00000001,00000000", (32,)),
        ("ff,00000000,00000001\x00", (0, *range(64, 72))),
        ("00000000", ()),
    ],
)
def test_parse_cpumask(mask: str, expected: tuple[int, ...]) -> None:
    assert parse_cpumask(mask) == expected


@pytest.mark.parametrize("bad", ["xyz", "1,,2", "123456789"])
def test_parse_cpumask_rejects_junk(bad: str) -> None:
    with pytest.raises(ValueError, match="cpu mask"):
        parse_cpumask(bad)


def test_mask_and_list_agree_on_1024_cpus() -> None:
    ids = [c for c in range(1024) if c % 3 == 0 or 500 <= c < 600]
    assert parse_cpumask(cpumask(ids, 1024)) == tuple(ids)
    assert parse_cpulist(format_cpulist(ids)) == tuple(ids)


@pytest.mark.parametrize(
    ("ids", "text"),
    [
        ([], ""),
        ([3], "3"),
        ([0, 1, 2, 3], "0-3"),
        ([0, 1, 3, 5, 6, 7], "0-1,3,5-7"),
        ([2, 0, 1], "0-2"),
    ],
)
def test_format_cpulist(ids: list[int], text: str) -> None:
    assert format_cpulist(ids) == text
