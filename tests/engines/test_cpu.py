"""Threads default to the free physical cores: SMT siblings grouped, other programs' load
subtracted, openpick's own processes not counted."""

from __future__ import annotations

import subprocess
import sys
import time

from openpick.engines import cpu


def test_physical_cores_group_smt_siblings(tmp_path):
    for n, core in enumerate([0, 0, 1, 1]):  # 4 logical CPUs, 2 cores with 2 threads each
        topo = tmp_path / f"cpu{n}" / "topology"
        topo.mkdir(parents=True)
        (topo / "physical_package_id").write_text("0\n")
        (topo / "core_id").write_text(f"{core}\n")
    assert cpu.physical_cores([0, 1, 2, 3], sys_cpu=tmp_path) == [[0, 1], [2, 3]]
    # no topology files: one core per CPU
    assert cpu.physical_cores([0, 1], sys_cpu=tmp_path / "none") == [[0], [1]]


def test_free_cores_subtract_other_programs_load():
    two = [[0], [1]]
    assert cpu.free_physical_cores(foreign=0.0, cores=two) == 2
    assert cpu.free_physical_cores(foreign=0.3, cores=two) == 2  # a light neighbour
    assert cpu.free_physical_cores(foreign=0.9, cores=two) == 1
    assert cpu.free_physical_cores(foreign=2.0, cores=two) == 1  # never below one
    smt = [[0, 1], [2, 3]]
    assert cpu.free_physical_cores(foreign=2.0, cores=smt) == 1  # two busy siblings = a core


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_own_work_is_not_counted_but_a_neighbour_is():
    import threading

    # Differences against a quiet reading, so whatever else the machine runs cancels out.
    quiet = cpu.foreign_busy_cpus(0.4)
    t = threading.Thread(target=_spin, args=(0.6,))  # openpick's own work
    t.start()
    own = cpu.foreign_busy_cpus(0.4)
    t.join()
    assert None not in (quiet, own) and own - quiet < 0.5, (quiet, own)
    spin = "import time\nend = time.monotonic() + 3\nwhile time.monotonic() < end: pass"
    p = subprocess.Popen([sys.executable, "-c", spin])  # a neighbour
    time.sleep(0.5)  # let it start spinning
    try:
        other = cpu.foreign_busy_cpus(0.5)
    finally:
        p.wait(10)
    assert other - quiet > 0.5, (quiet, other)
