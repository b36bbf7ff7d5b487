"""What the CPU offers a native engine: the physical cores this process may use, and which
of them are free right now.

llama.cpp's own default is one thread per physical core; more threads than free cores is
far worse than fewer (its threads spin at barriers, so a busy core stalls every step). So
the default is the physical cores in this process's affinity mask that were mostly idle
over a short sample, and at least one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

SYS_CPU = Path("/sys/devices/system/cpu")


def allowed_cpus() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def physical_cores(cpus: list[int] | None = None, sys_cpu: Path = SYS_CPU) -> list[list[int]]:
    """Logical CPUs grouped by physical core (SMT siblings together)."""
    cpus = allowed_cpus() if cpus is None else cpus
    groups: dict[tuple[str, str], list[int]] = {}
    for cpu in cpus:
        topo = sys_cpu / f"cpu{cpu}" / "topology"
        try:
            key = ((topo / "physical_package_id").read_text().strip(),
                   (topo / "core_id").read_text().strip())
        except OSError:
            key = ("?", str(cpu))  # no topology (containers, other OSes): one core per CPU
        groups.setdefault(key, []).append(cpu)
    return list(groups.values())


def _cpu_times(stat: str) -> dict[int, tuple[int, int]]:
    """cpu id → (busy, total) jiffies from /proc/stat text."""
    out = {}
    for line in stat.splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        vals = [int(v) for v in fields[:8]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
        out[int(name[3:])] = (sum(vals) - idle, sum(vals))
    return out


def busy_fractions(sample_s: float = 0.1) -> dict[int, float]:
    """Each CPU's busy share over `sample_s` (empty where /proc/stat is unreadable)."""
    try:
        a = _cpu_times(Path("/proc/stat").read_text())
        time.sleep(sample_s)
        b = _cpu_times(Path("/proc/stat").read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for cpu, (busy1, total1) in b.items():
        busy0, total0 = a.get(cpu, (busy1, total1))
        dt = total1 - total0
        out[cpu] = (busy1 - busy0) / dt if dt > 0 else 0.0
    return out


def free_physical_cores(sample_s: float = 0.1, busy: dict[int, float] | None = None,
                        cores: list[list[int]] | None = None) -> int:
    """Physical cores whose logical CPUs were all under half busy; at least 1."""
    cores = physical_cores() if cores is None else cores
    busy = busy_fractions(sample_s) if busy is None else busy
    if not busy:
        return max(1, len(cores))
    free = sum(1 for core in cores if all(busy.get(c, 0.0) < 0.5 for c in core))
    return max(1, free)
