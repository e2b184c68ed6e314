"""What the figures were measured on: they mean nothing without the machine."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True, slots=True)
class Machine:
    cpu: str
    cores: int
    memory_gib: float
    kernel: str
    python: str
    sqlite: str
    versions: dict[str, str]
    wrk: str
    load: str

    def lines(self) -> list[str]:
        packages = ", ".join(f"{name} {version}" for name, version in self.versions.items())
        return [
            f"- CPU: {self.cpu}, {self.cores} cores available to this process",
            f"- Memory: {self.memory_gib:.1f} GiB",
            f"- Kernel: Linux {self.kernel}; Python {self.python}; SQLite {self.sqlite}",
            f"- Packages: {packages}",
            f"- Load generator: {self.wrk}",
        ]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return float("nan")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def wrk_version() -> str:
    path = shutil.which("wrk")
    if path is None:
        return "wrk not installed"
    result = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    first = (result.stdout or result.stderr).strip().splitlines()
    return first[0].split("Copyright")[0].strip() if first else "wrk"


def describe() -> Machine:
    import apsw

    return Machine(
        cpu=_cpu_model(),
        cores=len(os.sched_getaffinity(0)),
        memory_gib=_memory_gib(),
        kernel=platform.release(),
        python=platform.python_version(),
        sqlite=apsw.sqlite_lib_version(),
        versions={
            name: _version(name) for name in ("apsw", "starlette", "uvicorn", "orjson", "datasette")
        },
        wrk=wrk_version(),
        load=load_average(),
    )


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"
