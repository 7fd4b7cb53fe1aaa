"""replicate: retrain a paper's model under controlled seeds and test its reported numbers.

The Python API for notebooks (docs/python-api.md): ``replicate.run_paper`` runs the main command and returns its
run's files, ``replicate.load_runs`` reads one run's or a whole sweep's repeats into a pandas DataFrame.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_runs", "run_paper", "RunResult"]

# Loaded on first use (PEP 562), so `import replicate` stays cheap: pandas is imported only by what needs it, and
# TensorFlow never is (run_paper trains in a subprocess).
_LAZY = {"load_runs": "replicate.runs", "run_paper": "replicate.api", "RunResult": "replicate.api"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'replicate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
