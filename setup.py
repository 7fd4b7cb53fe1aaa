"""Ships conf/ (kept at the top of the repository, the layout users see) inside the wheel as replicate/conf."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithConfigs(build_py):
    """A wheel or `pip install .` gets the configs next to the code; an editable install reads the checkout's conf/."""

    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            shutil.copytree(Path(__file__).resolve().parent / "conf", Path(self.build_lib) / "replicate" / "conf",
                            dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithConfigs})
