"""What the CPU offers a native engine: the physical cores this process may use, and which
of them are free right now.

llama.cpp's own default is one thread per physical core; more threads than free cores is
far worse than fewer (its threads spin at barriers, so a busy core stalls every step). So
the default is the physical cores in this process's affinity mask less those that other
programs kept busy over a short sample (openpick's own processes do not count: the parent
that is waiting for this model to load is not a neighbour), and at least one.
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


def _own_ticks(pids: list[int]) -> int:
    """CPU time (jiffies) these processes have used: openpick's own work is not 'busy'."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, ValueError, IndexError):
            pass
    return total


def foreign_busy_cpus(sample_s: float = 0.2, cpus: list[int] | None = None) -> float | None:
    """How many of `cpus` other programs kept busy over `sample_s` (in CPUs), leaving out
    this process and its parent (the openpick that started this worker), or None where
    /proc is unreadable."""
    cpus = allowed_cpus() if cpus is None else cpus
    mine = [os.getpid(), os.getppid()]
    try:
        a, own_a = _cpu_times(Path("/proc/stat").read_text()), _own_ticks(mine)
        time.sleep(sample_s)
        b, own_b = _cpu_times(Path("/proc/stat").read_text()), _own_ticks(mine)
    except (OSError, ValueError):
        return None
    busy = sum(b[c][0] - a[c][0] for c in cpus if c in a and c in b)
    total = sum(b[c][1] - a[c][1] for c in cpus if c in a and c in b)
    if total <= 0:
        return None
    per_cpu = total / max(1, len([c for c in cpus if c in a and c in b]))
    return max(0.0, busy - (own_b - own_a)) / per_cpu


def free_physical_cores(sample_s: float = 0.2, foreign: float | None = None,
                        cores: list[list[int]] | None = None) -> int:
    """Physical cores minus those other programs keep more than half busy; at least 1."""
    cores = physical_cores() if cores is None else cores
    if foreign is None:
        foreign = foreign_busy_cpus(sample_s, [c for core in cores for c in core])
    if foreign is None:
        return max(1, len(cores))
    per_core = max(1, sum(len(c) for c in cores)) / max(1, len(cores))  # SMT siblings
    busy_cores = int(foreign / per_core + 0.5)
    return max(1, len(cores) - busy_cores)
