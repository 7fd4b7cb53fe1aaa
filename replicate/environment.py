"""The software and hardware a repeat ran on: part of its identity and of every record."""
from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import sys

# Instruction-set flags that change which kernels oneDNN/Eigen pick, hence the bits of the result.
_ISA_PREFIXES = ("sse", "ssse", "avx", "fma", "f16c", "amx", "vnni")


def _version(*distributions: str) -> str:
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


@functools.lru_cache(maxsize=1)
def software_versions() -> dict[str, str]:
    """Versions that affect a repeat's bits (read from package metadata; TensorFlow is not imported)."""
    return {
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow", "tensorflow-cpu", "tensorflow-intel"),
        "keras": _version("keras"),
        "numpy": _version("numpy"),
        "scikit-learn": _version("scikit-learn"),
    }


@functools.lru_cache(maxsize=1)
def cpu() -> dict[str, object]:
    model, flags = platform.processor() or "unknown", []
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name") and model in ("unknown", "", platform.processor()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = sorted(f for f in line.split(":", 1)[1].split() if f.startswith(_ISA_PREFIXES))
                    break
    except OSError:
        pass
    return {"model": model, "isa_flags": flags, "machine": platform.machine(), "logical_cores": os.cpu_count()}


def fingerprint(threads: int, determinism: str) -> dict[str, object]:
    """Everything about the environment a record carries, so a mismatch on re-run can be explained."""
    return {
        **software_versions(),
        "platform": platform.platform(),
        "cpu": cpu(),
        "intra_op_threads": threads,
        "inter_op_threads": threads,
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 CPUs)"),
        "determinism": determinism,
        "executable": sys.executable,
    }
