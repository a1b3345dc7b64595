"""Parsers of /proc and node files, on literal text with known answers."""

from __future__ import annotations

from numaview.linux import procparse

STAT = """cpu  10 0 20 300 5 1 1 0 0 0
cpu0 4 0 10 150 2 1 0 0 0 0
cpu2 6 1 10 150 3 0 1 2 0 0
intr 123 0 0
ctxt 98765
btime 1764200000
processes 555
procs_running 3
procs_blocked 1
"""


def test_proc_stat_keys_cpus_by_label_not_position() -> None:
    st = procparse.parse_proc_stat(STAT)
    assert sorted(st.cpus) == [0, 2]  # cpu1 is offline: absent, not shifted
    assert st.cpus[2] == (6, 1, 10, 150, 3, 0, 1, 2)
    assert (st.ctxt, st.procs_running, st.procs_blocked, st.btime) == (98765, 3, 1, 1764200000)


def test_proc_stat_old_kernel_without_steal_and_junk_lines() -> None:
    st = procparse.parse_proc_stat("cpu0 1 2 3 4\ncpuX 1 2 3 4\ncpu1 a b c d\n")
    assert st.cpus == {0: (1, 2, 3, 4, 0, 0, 0, 0)}
    assert st.ctxt is None


def test_meminfo_node_and_system_forms() -> None:
    node = "Node 1 MemTotal:       1024 kB\nNode 1 MemFree:  512 kB\nNode 1 FilePages: 10 kB\n"
    assert procparse.parse_meminfo(node) == {
        "MemTotal": 1024 * 1024,
        "MemFree": 512 * 1024,
        "FilePages": 10 * 1024,
    }
    assert procparse.parse_meminfo("MemTotal: 2 kB\nHugePages_Total: 3\nbad line\n") == {
        "MemTotal": 2048,
        "HugePages_Total": 3,
    }


def test_counters_loadavg_uptime_psi() -> None:
    assert procparse.parse_counters("numa_hit 5\nnuma_miss 7\njunk\nx y z\n") == {
        "numa_hit": 5,
        "numa_miss": 7,
    }
    assert procparse.parse_loadavg("0.52 0.58 0.59 1/467 12345\n") == (0.52, 0.58, 0.59)
    assert procparse.parse_loadavg("") is None
    assert procparse.parse_uptime("350735.47 234388.90\n") == 350735.47
    psi = (
        "some avg10=1.25 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.50 avg60=0 avg300=0 total=1\n"
    )
    assert procparse.parse_psi(psi) == {"some": 1.25, "full": 0.5}


def test_pid_stat_with_spaces_and_parentheses_in_comm() -> None:
    fields = ["R", "1", "42", "42", "0", "-1", str(0x00200000), "0", "0", "0", "0"]
    fields += ["300", "100", "0", "0", "20", "0", "8", "0", "5000", "99999", "777"]
    fields += ["0"] * 14 + ["13", "0", "0"]
    st = procparse.parse_pid_stat("42 (my (odd) name) " + " ".join(fields))
    assert st is not None
    assert (st.pid, st.comm, st.state, st.ppid) == (42, "my (odd) name", "R", 1)
    assert (st.utime, st.stime, st.num_threads, st.starttime, st.rss_pages) == (
        300,
        100,
        8,
        5000,
        777,
    )
    assert st.processor == 13
    assert st.flags & procparse.PF_KTHREAD
    assert procparse.parse_pid_stat("42 (truncated") is None
    assert procparse.parse_pid_stat("42 (x) R 1 2") is None


def test_pid_status() -> None:
    text = (
        "Name:\tx\nUid:\t1000\t1000\t1000\t1000\nKthread:\t0\n"
        "Cpus_allowed:\tff\nCpus_allowed_list:\t0-3,8\nMems_allowed_list:\t0-1\n"
        "voluntary_ctxt_switches:\t150\nnonvoluntary_ctxt_switches:\t7\n"
    )
    s = procparse.parse_pid_status(text)
    assert s == procparse.PidStatus(1000, (0, 1, 2, 3, 8), (0, 1), 150, 7, False)
    assert procparse.parse_pid_status("Cpus_allowed_list:\tjunk\n").cpus_allowed is None


def test_numa_maps_sums_pages_per_node_with_page_sizes() -> None:
    text = (
        "00400000 default file=/usr/bin/x mapped=3 N0=3 kernelpagesize_kB=4\n"
        "7f0000000000 bind:1 anon=512 dirty=512 N1=512 kernelpagesize_kB=4\n"
        "7f4000000000 bind:1 huge anon=2 N1=2 kernelpagesize_kB=2048\n"
        "7fff00000000 default stack anon=2 dirty=2 N0=1 N1=1 kernelpagesize_kB=4\n"
        "7fff10000000 default\n"
    )
    by_node, policy = procparse.parse_numa_maps(text)
    assert by_node == {0: 4 * 4096, 1: 513 * 4096 + 2 * 2048 * 1024}
    assert policy == "bind:1"  # covers most resident bytes
    assert procparse.parse_numa_maps("") == ({}, None)


def test_status_cpu_lists_are_parsed_once_and_shared() -> None:
    text = "Name:\tx\nCpus_allowed_list:\t0-1023\nMems_allowed_list:\t0-15\n"
    a = procparse.parse_pid_status(text)
    b = procparse.parse_pid_status(text.replace("x", "y"))
    assert a.cpus_allowed == tuple(range(1024)) and a.cpus_allowed is b.cpus_allowed
    assert a.mems_allowed == tuple(range(16))


def test_task_status_gives_mask_and_both_switch_counts() -> None:
    text = (
        "Name:\tworker\nCpus_allowed_list:\t2-3\n"
        "voluntary_ctxt_switches:\t17\nnonvoluntary_ctxt_switches:\t4\n"
    )
    assert procparse.parse_task_status(text) == ((2, 3), 17, 4)
    assert procparse.parse_task_status("Name:\tx\nCpus_allowed_list:\tjunk\n") == (None, None, None)


def test_stat_key_is_pid_and_start_ticks_and_agrees_with_the_full_parse() -> None:
    fields = ["S", "1", "42", "42", "0", "-1", "0", "0", "0", "0", "0"]
    fields += ["3", "1", "0", "0", "20", "0", "1", "0", "123456", "99", "7"]
    line = "42 (a) b) (c) " + " ".join(fields + ["0"] * 17)
    assert procparse.stat_key(line) == (42, 123456)
    st = procparse.parse_pid_stat(line)
    assert st is not None and (st.pid, st.starttime) == (42, 123456)
    assert procparse.stat_key("42 (a) S 1 2 3") is None  # cut short
    assert procparse.stat_key("x (a) " + " ".join(fields)) is None
    assert procparse.stat_key("42 no parenthesis") is None


def test_status_uids_real_and_effective() -> None:
    text = "Name:\tsu\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t5\t5\t5\t5\n"
    assert procparse.parse_status_uids(text) == (1000, 0)
    assert procparse.parse_pid_status(text).uid == 1000  # the sampler's user column: real
    assert procparse.parse_status_uids("Name:\tx\nUid:\tjunk\n") is None
    assert procparse.parse_status_uids("Name:\tx\n") is None


def test_cmdline_joins_arguments() -> None:
    assert (
        procparse.parse_cmdline("/usr/bin/app\x00--serve\x00a b\x00") == "/usr/bin/app --serve a b"
    )
    assert procparse.parse_cmdline("") is None
