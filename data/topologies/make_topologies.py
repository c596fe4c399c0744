#!/usr/bin/env python3
"""Writes the hwloc v2 XML topologies in this folder.

They describe machines tandem's tests and `tandem info --topology` plan for
(not this build machine). Hand-made from a description of each machine, in
the format `lstopo --of xml` writes; check each with
`lstopo-no-graphics --input FILE.xml`. Regenerate with:

    python3 data/topologies/make_topologies.py
"""
import os
from xml.sax.saxutils import quoteattr

HERE = os.path.dirname(os.path.abspath(__file__))

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB


def bitmap(bits):
    """hwloc's bitmap string: 32-bit hex chunks, most significant first."""
    value = 0
    for b in bits:
        value |= 1 << b
    chunks = []
    while True:
        chunks.append(value & 0xFFFFFFFF)
        value >>= 32
        if value == 0:
            break
    return ",".join("0x%08x" % c if c else "0x0" for c in reversed(chunks))


class Obj:
    """One hwloc object: attributes, info pairs, and memory/normal/io children."""

    def __init__(self, type_, attrs=None, infos=None):
        self.type = type_
        self.attrs = dict(attrs or {})
        self.infos = list(infos or [])
        self.memory, self.children, self.io = [], [], []
        self.extra = []  # raw child elements (page_type)

    def add(self, child):
        self.children.append(child)
        return child

    def pus(self):
        if self.type == "PU":
            return {self.attrs["os_index"]}
        out = set()
        for c in self.children:
            out |= c.pus()
        return out

    def nodes(self):
        out = set()
        for m in self.memory:
            out.add(m.attrs["os_index"])
        for c in self.children:
            out |= c.nodes()
        return out


class Writer:
    def __init__(self):
        self.gp = 0
        self.lines = []

    def emit(self, obj, depth, all_nodes=None, nodes_by_pu=None):
        self.gp += 1
        a = {"type": obj.type}
        a.update({k: v for k, v in obj.attrs.items() if not k.startswith("_")})
        is_io = obj.type in ("Bridge", "PCIDev", "OSDev")
        if not is_io:
            cpus = obj.pus() if obj.type != "NUMANode" else obj.attrs["_cpus"]
            a["cpuset"] = a["complete_cpuset"] = bitmap(cpus)
            if obj.type == "Machine":
                a["allowed_cpuset"] = a["cpuset"]
            if obj.type == "NUMANode":
                ns = {obj.attrs["os_index"]}
            else:
                ns = obj.nodes() | {n for pu in cpus for n in nodes_by_pu.get(pu, ())}
            a["nodeset"] = a["complete_nodeset"] = bitmap(ns)
            if obj.type == "Machine":
                a["allowed_nodeset"] = a["nodeset"]
        a["gp_index"] = self.gp
        order = ["type", "os_index", "cpuset", "complete_cpuset", "allowed_cpuset", "nodeset",
                 "complete_nodeset", "allowed_nodeset", "name", "subtype", "gp_index"]
        keys = [k for k in order if k in a] + [k for k in a if k not in order]
        text = " ".join("%s=%s" % (k, quoteattr(str(a[k]))) for k in keys)
        pad = "  " * depth
        body = obj.infos or obj.memory or obj.children or obj.io or obj.extra
        if not body:
            self.lines.append("%s<object %s/>" % (pad, text))
            return
        self.lines.append("%s<object %s>" % (pad, text))
        for k, v in obj.infos:
            self.lines.append("%s  <info name=%s value=%s/>" % (pad, quoteattr(k), quoteattr(str(v))))
        for e in obj.extra:
            self.lines.append("%s  %s" % (pad, e))
        for c in obj.memory + obj.children + obj.io:
            self.emit(c, depth + 1, all_nodes, nodes_by_pu)
        self.lines.append("%s</object>" % pad)


def numa(os_index, memory, cpus):
    n = Obj("NUMANode", {"os_index": os_index, "_cpus": set(cpus)})
    n.attrs["local_memory"] = memory
    n.extra = ['<page_type size="4096" count="%d"/>' % (memory // 4096),
               '<page_type size="2097152" count="0"/>',
               '<page_type size="1073741824" count="0"/>']
    return n


def cache(kind, os_index, size, depth, line=64, ways=8):
    type_, ctype = {"L3": ("L3Cache", 0), "L2": ("L2Cache", 0), "L1d": ("L1Cache", 1), "L1i": ("L1iCache", 2)}[kind]
    return Obj(type_, {"os_index": os_index, "cache_size": size, "depth": depth, "cache_linesize": line,
                       "cache_associativity": ways, "cache_type": ctype})


def core_chain(core_os, core_global, pus, l2, l1d, l1i):
    """L2 > L1d > L1i > Core > PUs for one core."""
    c2 = cache("L2", core_global, l2, 2, ways=16)
    c1 = c2.add(cache("L1d", core_global, l1d, 1, ways=12))
    ci = c1.add(cache("L1i", core_global, l1i, 1))
    core = ci.add(Obj("Core", {"os_index": core_os}))
    for pu in pus:
        core.add(Obj("PU", {"os_index": pu}))
    return c2


def host_bridge(lo, hi, domain=0):
    return Obj("Bridge", {"bridge_type": "0-1", "depth": 0, "bridge_pci": "%04x:[%02x-%02x]" % (domain, lo, hi)})


def pci_bridge(busid, lo, hi, depth, ids="[8086:352a] [0000:0000] 04"):
    return Obj("Bridge", {"bridge_type": "1-1", "depth": depth, "bridge_pci": "0000:[%02x-%02x]" % (lo, hi),
                          "pci_busid": busid, "pci_type": "0604 " + ids, "pci_link_speed": "31.507692"})


def pci(busid, pci_class, ids, speed="31.507692"):
    return Obj("PCIDev", {"pci_busid": busid, "pci_type": "%04x %s" % (pci_class, ids), "pci_link_speed": speed})


def cuda_osdev(ordinal, model, mem_kib, sms, l2_kib, cores_per_mp=128, smem_kib=48):
    return Obj("OSDev", {"name": "cuda%d" % ordinal, "subtype": "CUDA", "osdev_type": 5},
               [("Backend", "CUDA"), ("GPUVendor", "NVIDIA Corporation"), ("GPUModel", model),
                ("CUDAGlobalMemorySize", mem_kib), ("CUDAL2CacheSize", l2_kib), ("CUDAMultiProcessors", sms),
                ("CUDACoresPerMP", cores_per_mp), ("CUDASharedMemorySizePerMP", smem_kib)])


def gpu_behind_switch(root_bus, gpu_bus, ordinal, ids, model, mem_kib, sms, l2_kib):
    """Root port > PCIe switch (upstream, downstream) > GPU with its CUDA OS device."""
    root = pci_bridge("0000:%02x:01.0" % root_bus, root_bus + 1, gpu_bus, 1)
    up = pci_bridge("0000:%02x:00.0" % (root_bus + 1), root_bus + 2, gpu_bus, 2, "[1000:c030] [1000:a064] b0")
    down = pci_bridge("0000:%02x:00.0" % (root_bus + 2), gpu_bus, gpu_bus, 3, "[1000:c030] [1000:a064] b0")
    dev = pci("0000:%02x:00.0" % gpu_bus, 0x0302, ids)
    dev.io.append(cuda_osdev(ordinal, model, mem_kib, sms, l2_kib))
    down.io.append(dev)
    up.io.append(down)
    root.io.append(up)
    return root


def machine(host, os_release="6.8.0-45-generic"):
    return Obj("Machine", {"os_index": 0},
               [("Backend", "Linux"), ("OSName", "Linux"), ("OSRelease", os_release),
                ("OSVersion", "#45-Ubuntu SMP PREEMPT_DYNAMIC"), ("HostName", host),
                ("Architecture", "x86_64"), ("hwlocVersion", "2.9.0")])


def write(name, root):
    nodes_by_pu = {}

    def collect(o):
        for m in o.memory:
            for pu in m.attrs["_cpus"]:
                nodes_by_pu.setdefault(pu, set()).add(m.attrs["os_index"])
        for c in o.children:
            collect(c)

    collect(root)
    w = Writer()
    w.lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE topology SYSTEM "hwloc2.dtd">',
               '<topology version="2.0">']
    w.emit(root, 1, None, nodes_by_pu)
    w.lines.append("</topology>")
    with open(os.path.join(HERE, name), "w") as f:
        f.write("\n".join(w.lines) + "\n")


def xeon_2s_8gpu():
    """2 x 16-core Xeon (SMT2), one NUMA node each, 8 H100 SXM GPUs: 4 per socket,
    each behind its own PCIe switch; an InfiniBand HCA per socket, NVMe on socket 1."""
    ncores, per = 32, 16
    root = machine("hgx-h100")
    bus = {0: [0x18, 0x2A, 0x3A, 0x5D], 1: [0x9A, 0xAB, 0xBA, 0xDB]}
    for p in range(2):
        pkg = root.add(Obj("Package", {"os_index": p},
                           [("CPUVendor", "GenuineIntel"), ("CPUFamilyNumber", 6), ("CPUModelNumber", 143),
                            ("CPUModel", "Intel(R) Xeon(R) Gold 6444Y"), ("CPUStepping", 8)]))
        cores = range(p * per, (p + 1) * per)
        pkg.memory.append(numa(p, 256 * GiB, [c for c in cores] + [c + ncores for c in cores]))
        l3 = pkg.add(cache("L3", p, 45 * MiB, 3, ways=15))
        for i, g in enumerate(cores):
            l3.add(core_chain(i, g, [g, g + ncores], 2 * MiB, 48 * KiB, 32 * KiB))
        for k, b in enumerate(bus[p]):
            hb = host_bridge(b - 3, b)
            hb.io.append(gpu_behind_switch(b - 3, b, p * 4 + k, "[10de:2330] [10de:16c1] a1",
                                           "NVIDIA H100 80GB HBM3", 83516416, 132, 51200))
            pkg.io.append(hb)
        hb = host_bridge(0x40 + 0x80 * p, 0x42 + 0x80 * p)
        hca = pci("0000:%02x:00.0" % (0x41 + 0x80 * p), 0x0207, "[15b3:1021] [15b3:0041] 00")
        hca.io.append(Obj("OSDev", {"name": "mlx5_%d" % p, "osdev_type": 3}, [("NodeGUID", "a088:c203:00%02x:0001" % p)]))
        hb.io.append(hca)
        if p == 1:
            nvme = pci("0000:c2:00.0", 0x0108, "[144d:a80a] [144d:a812] 00")
            nvme.io.append(Obj("OSDev", {"name": "nvme0n1", "subtype": "Disk", "osdev_type": 0}, [("Size", 3750748848)]))
            hb.io.append(nvme)
        pkg.io.append(hb)
    write("2s-xeon-8gpu.xml", root)


def epyc_2s_nps2_4gpu():
    """2 x 16-core EPYC (SMT2) in NPS2 mode: 4 NUMA nodes, 2 CCX (L3) of 4 cores each
    per node; a CPU-less 128 GiB CXL memory node; 4 A100 PCIe GPUs on NUMA nodes
    0, 1, 3 and 3 (none on node 2)."""
    ncores = 32
    root = machine("epyc-4gpu")
    gpus_on_node = {0: [0x01], 1: [0x41], 2: [], 3: [0xC1, 0xE1]}
    ordinal = 0
    g = 0
    for p in range(2):
        pkg = root.add(Obj("Package", {"os_index": p},
                           [("CPUVendor", "AuthenticAMD"), ("CPUFamilyNumber", 25), ("CPUModelNumber", 17),
                            ("CPUModel", "AMD EPYC 9124 16-Core Processor"), ("CPUStepping", 1)]))
        for d in range(2):
            node = p * 2 + d
            die = pkg.add(Obj("Die", {"os_index": node}))
            first = g
            for x in range(2):
                l3 = die.add(cache("L3", node * 2 + x, 16 * MiB, 3, ways=16))
                for i in range(4):
                    l3.add(core_chain(g - p * 16, g, [g, g + ncores], 1 * MiB, 32 * KiB, 32 * KiB))
                    g += 1
            cores = range(first, g)
            die.memory.append(numa(node, 96 * GiB, list(cores) + [c + ncores for c in cores]))
            for b in gpus_on_node[node]:
                hb = host_bridge(b - 1, b)
                rp = pci_bridge("0000:%02x:01.1" % (b - 1), b, b, 1, "[1022:14ab] [0000:0000] 00")
                dev = pci("0000:%02x:00.0" % b, 0x0302, "[10de:20f1] [10de:145f] a1")
                dev.io.append(cuda_osdev(ordinal, "NVIDIA A100-PCIE-40GB", 41508864, 108, 40960, 64, 48))
                ordinal += 1
                rp.io.append(dev)
                hb.io.append(rp)
                die.io.append(hb)
        if p == 1:
            # CXL expander: memory, no CPUs; hwloc gives it the cpuset of the package it hangs off.
            pkg.memory.append(numa(4, 128 * GiB, list(range(16, 32)) + list(range(48, 64))))
    write("2s-epyc-nps2-4gpu.xml", root)


def workstation_1gpu():
    """1 x 8-core Ryzen (SMT2), one NUMA node, one GeForce (VGA class 0x0300)
    plus the CPU's own AMD graphics, which tandem must not count."""
    root = machine("workstation")
    pkg = root.add(Obj("Package", {"os_index": 0},
                       [("CPUVendor", "AuthenticAMD"), ("CPUFamilyNumber", 25), ("CPUModelNumber", 97),
                        ("CPUModel", "AMD Ryzen 7 7700X 8-Core Processor"), ("CPUStepping", 2)]))
    pkg.memory.append(numa(0, 64 * GiB, list(range(16))))
    l3 = pkg.add(cache("L3", 0, 32 * MiB, 3, ways=16))
    for c in range(8):
        l3.add(core_chain(c, c, [c, c + 8], 1 * MiB, 32 * KiB, 32 * KiB))
    hb = host_bridge(0x00, 0x0F)
    rp = pci_bridge("0000:00:01.1", 0x01, 0x01, 1, "[1022:14db] [0000:0000] 00")
    gpu = pci("0000:01:00.0", 0x0300, "[10de:2684] [1043:889d] a1")
    gpu.io.append(cuda_osdev(0, "NVIDIA GeForce RTX 4090", 25153536, 128, 73728, 128, 48))
    rp.io.append(gpu)
    hb.io.append(rp)
    nvme = pci("0000:02:00.0", 0x0108, "[144d:a80c] [144d:a801] 00")
    nvme.io.append(Obj("OSDev", {"name": "nvme0n1", "subtype": "Disk", "osdev_type": 0}, [("Size", 1953514584)]))
    hb.io.append(nvme)
    igpu = pci("0000:0e:00.0", 0x0300, "[1002:164e] [1043:8877] c1")
    hb.io.append(igpu)
    eth = pci("0000:0c:00.0", 0x0200, "[8086:125c] [1043:87d2] 04")
    eth.io.append(Obj("OSDev", {"name": "enp12s0", "osdev_type": 2}, [("Address", "9c:6b:00:00:00:01")]))
    hb.io.append(eth)
    root.io.append(hb)
    write("workstation-1gpu.xml", root)


if __name__ == "__main__":
    xeon_2s_8gpu()
    epyc_2s_nps2_4gpu()
    workstation_1gpu()
