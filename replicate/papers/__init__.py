"""The papers replicate ships, importable as `replicate.papers.<name>` (a name no user module clashes with).

Each folder holds a model builder, a data loader and a README of sources. In a checkout (or an editable install) the
code stays in the repository's top-level papers/ folder, the layout users see; a wheel carries it here (setup.py)."""
from pathlib import Path

_CHECKOUT_PAPERS = Path(__file__).resolve().parents[2] / "papers"
if not (Path(__file__).parent / "tmd_cnn").is_dir() and (_CHECKOUT_PAPERS / "tmd_cnn").is_dir():
    __path__.append(str(_CHECKOUT_PAPERS))  # noqa: F821 (a package's own __path__)
