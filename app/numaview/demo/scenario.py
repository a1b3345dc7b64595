"""The simulated machine's shape and cast, which SimulatedSampler brings to life.

The machine is 2 sockets × 2 nodes × 2 L3 domains × 8 cores × SMT2 (128 CPUs,
64 GiB a node), numbered as Linux numbers Intel servers. The cast is the
processes it starts with, as plain mutable records (SimProcess, SimThread) that
the sampler moves and re-pins: the services of the scenario told in
simulated.py, postgres, a dozen small daemons and 16 kernel workers. Nothing
here draws random numbers, so the cast is the same for every seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from numaview.model.topology import Allowed, Cache, Core, Cpu, Gpu, Host, Node, Package, Topology

GIB = 1024**3
PACKAGES, NODES_PER_PACKAGE, L3_PER_NODE, CORES_PER_L3, SMT = 2, 2, 2, 8, 2
CORES = PACKAGES * NODES_PER_PACKAGE * L3_PER_NODE * CORES_PER_L3  # 64
NODE_MEM = 64 * GIB
GPU_BUSES = (0x17, 0x2A, 0x3D, 0x50, 0x98, 0xAB, 0xBE, 0xD1)  # PCI buses of the 8 GPUs
GPU_MEM = 80 * GIB


def simulated_topology() -> Topology:
    """CPU id = thread × 64 + core, as Linux numbers Intel servers: siblings 0 and 64."""
    cpus, cores = [], []
    for core in range(CORES):
        l3 = core // CORES_PER_L3
        node = l3 // L3_PER_NODE
        pkg = node // NODES_PER_PACKAGE
        sib = tuple(t * CORES + core for t in range(SMT))
        cores.append(Core(id=core, package=pkg, cpus=sib, core_id=core % (CORES // PACKAGES)))
        for cpu in sib:
            cpus.append(
                Cpu(
                    id=cpu,
                    online=True,
                    package=pkg,
                    die=0,
                    core=core,
                    core_id=core % (CORES // PACKAGES),
                    node=node,
                    l3=l3,
                    l2=core,
                    siblings=sib,
                )
            )
    cpus.sort(key=lambda c: c.id)
    n_nodes = PACKAGES * NODES_PER_PACKAGE

    def members(attr: str, value: int) -> tuple[int, ...]:
        return tuple(c.id for c in cpus if getattr(c, attr) == value)

    nodes = tuple(
        Node(
            id=n,
            cpus=members("node", n),
            mem_total_bytes=NODE_MEM,
            distances={
                m: 10 if m == n else (12 if m // 2 == n // 2 else 32) for m in range(n_nodes)
            },
        )
        for n in range(n_nodes)
    )
    l3_domains = tuple(
        Cache(
            id=i,
            level=3,
            cpus=members("l3", i),
            size_bytes=32 * 1024**2,
            nodes=(i // L3_PER_NODE,),
        )
        for i in range(CORES // CORES_PER_L3)
    )
    l2_domains = tuple(
        Cache(id=k.id, level=2, cpus=k.cpus, size_bytes=2 * 1024**2, nodes=(k.id // 16,))
        for k in cores
    )
    packages = tuple(
        Package(id=p, cpus=members("package", p), nodes=(2 * p, 2 * p + 1)) for p in range(PACKAGES)
    )
    all_cpus = tuple(c.id for c in cpus)
    # 8 GPUs, 4 a socket, 2 on each node, as an HGX board sits: GPU k on node k // 2.
    gpus = tuple(
        Gpu(
            index=k,
            pci=f"0000:{GPU_BUSES[k]:02x}:00.0",
            vendor="nvidia",
            pci_class=0x030200,
            device_id=0x2330,
            node=k // 2,
            local_cpus=members("node", k // 2),
            minor=k,
            name="NVIDIA H100 80GB HBM3",
        )
        for k in range(len(GPU_BUSES))
    )
    return Topology(
        cpus=tuple(cpus),
        nodes=nodes,
        packages=packages,
        cores=tuple(cores),
        l3=l3_domains,
        l2=l2_domains,
        allowed=Allowed(
            cpus=all_cpus,
            mems=tuple(range(n_nodes)),
            cgroup="/",
            cgroup_cpus=all_cpus,
            cgroup_mems=tuple(range(n_nodes)),
        ),
        host=Host(
            hostname="sim-2s-128", kernel="6.8.0-simulated", cpu_model="Simulated Xeon 2×32C"
        ),
        gpus=gpus,
    )


@dataclass
class SimThread:
    tid: int
    name: str
    load: float  # share of a CPU it wants at full load
    cpu: int
    ticks: float = 0.0


@dataclass
class SimProcess:
    pid: int
    name: str
    cmdline: str
    user: str
    affinity: tuple[int, ...]
    threads: list[SimThread]
    rss: int
    mem: dict[int, int]  # node -> bytes
    start_time: float
    wander: bool = False
    kernel: bool = False
    ppid: int = 1
    invol: float = 0.0
    mem_target: dict[int, int] | None = None  # memory moving to (after a re-pin)
    gpus: tuple[int, ...] = ()  # GPUs it drives
    gpu_mem: dict[int, int] = field(default_factory=dict)  # GPU memory it holds, per GPU


def node_cpus(topo: Topology, node: int) -> tuple[int, ...]:
    n = topo.node(node)
    return n.cpus if n is not None else ()


def scenario_processes(topo: Topology, all_cpus: tuple[int, ...]) -> dict[int, SimProcess]:
    """The cast at start-up, by pid: the scenario's services, daemons, kernel workers."""
    n1, n2_l3 = node_cpus(topo, 1), topo.l3[4].cpus
    procs: list[SimProcess] = []

    def proc(
        pid: int,
        name: str,
        cmd: str,
        user: str,
        aff: tuple[int, ...],
        nthreads: int,
        load: float,
        rss_gib: float,
        mem: dict[int, float],
        wander: bool = False,
        tnames: str = "worker",
        gpus: tuple[int, ...] = (),
    ) -> None:
        threads = []
        for i in range(nthreads):
            cpu = aff[i % len(aff)]  # one per hardware thread, first siblings first
            threads.append(SimThread(pid + i, name if i == 0 else f"{tnames}-{i}", load, cpu))
        rss = int(rss_gib * GIB)
        procs.append(
            SimProcess(
                pid,
                name,
                cmd,
                user,
                aff,
                threads,
                rss,
                {n: int(rss * share) for n, share in mem.items()},
                start_time=1000.0 + pid / 100,
                wander=wander,
                gpus=gpus,
                gpu_mem=dict.fromkeys(gpus, 62 * GIB),
            )
        )

    proc(
        4121,
        "llama-server",
        "llama-server -m llama-3-70b.Q4.gguf -t 16 --port 8080",
        "inference",
        n1,
        16,
        0.95,
        40,
        {0: 0.92, 1: 0.08},
    )
    proc(
        5200,
        "vllm-a",
        "python -m vllm.entrypoints.api_server --model mistral-7b --port 8001",
        "inference",
        n2_l3,
        16,
        0.85,
        14,
        {2: 1.0},
    )
    proc(
        5300,
        "vllm-b",
        "python -m vllm.entrypoints.api_server --model qwen-7b --port 8002",
        "inference",
        n2_l3,
        16,
        0.85,
        14,
        {2: 1.0},
    )
    # trtllm-serve drives GPU4 and GPU5 (node 2) from node 3: its threads and
    # memory sit one node away from its GPUs.
    proc(
        5600,
        "trtllm-serve",
        "trtllm-serve /models/llama-3.1-8b --tp_size 2 --port 8003",
        "inference",
        node_cpus(topo, 3),
        4,
        0.3,  # its threads mostly wait on the GPUs: node 3 stays near idle
        4,  # the model's weights live in GPU memory
        {3: 1.0},
        gpus=(4, 5),
    )
    proc(
        6100,
        "batch-etl",
        "python etl.py --shards 4",
        "etl",
        all_cpus,
        4,
        0.7,
        3,
        {0: 0.5, 2: 0.5},
        wander=True,
    )
    proc(
        6400,
        "postgres",
        "postgres: writer process",
        "postgres",
        all_cpus,
        6,
        0.25,
        8,
        {0: 1.0},
    )
    for i, name in enumerate(
        [
            "systemd",
            "sshd",
            "journald",
            "containerd",
            "node-exporter",
            "chronyd",
            "dbus-daemon",
            "cron",
            "rsyslogd",
            "bash",
            "tmux",
            "numaview",
        ]
    ):
        proc(
            100 + i * 7,
            name,
            f"/usr/sbin/{name}",
            "root",
            all_cpus,
            1 + i % 3,
            0.01,
            0.05 + i * 0.01,
            {i % 4: 1.0},
        )
    for i in range(16):
        kp = SimProcess(
            2 + i,
            f"kworker/{i}:1",
            "",
            "root",
            (i * 4,),
            [SimThread(2 + i, f"kworker/{i}:1", 0.002, i * 4)],
            0,
            {},
            start_time=1.0,
            kernel=True,
            ppid=2,
        )
        procs.append(kp)
    return {p.pid: p for p in procs}
