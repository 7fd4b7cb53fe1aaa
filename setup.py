"""Ships conf/ and papers/ (kept at the top of the repository, the layout users see) inside the wheel, as
replicate/conf and replicate/papers."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithConfigsAndPapers(build_py):
    """A wheel or `pip install .` gets the configs and the papers' code inside the package; an editable install reads
    the checkout's conf/ and papers/ (replicate/resolvers.py, replicate/papers/__init__.py)."""

    def run(self):
        if not getattr(self, "editable_mode", False):
            # setuptools reuses build/lib: a module removed or moved since the last build (the old top-level
            # papers/ package) would otherwise ride along into the new wheel.
            shutil.rmtree(self.build_lib, ignore_errors=True)
        super().run()
        if getattr(self, "editable_mode", False):
            return
        package = Path(self.build_lib) / "replicate"
        shutil.copytree(ROOT / "conf", package / "conf", dirs_exist_ok=True)
        # replicate/papers/__init__.py is already there and stays: the papers' folders go beside it.
        shutil.copytree(ROOT / "papers", package / "papers", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithConfigsAndPapers})
