"""`replicate-check paper=NAME [overrides]` (or `python -m replicate.check ...`): validate a paper without training; one line per problem."""
from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from typing import Any

import hydra
from omegaconf import DictConfig

from replicate import cli, config, schema
from replicate.resolvers import CONF_DIR

schema.register()
config.register_resolvers()


def check_paper(paper: dict[str, Any]) -> list[str]:
    """Problems that only instantiating shows (replicate.dryrun): targets import, data loads with the right label
    encoding, the model builds, compiles with the protocol's optimizer and loss, and takes one training step."""
    from replicate.dryrun import dry_run
    from replicate.errors import ReplicateError

    try:
        return dry_run(paper)
    except ReplicateError as error:
        return [str(error)]
    except Exception as error:  # a loader bug is still reported as one line
        return [f"paper.data: {paper['data'].get('_target_')} failed: {type(error).__name__}: {error}; fix: run it by hand to see the traceback"]


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def check(cfg: DictConfig) -> None:
    with cli.user_errors():
        settings = config.settings_from_config(cfg)  # the schema, ranges and every claim's metric and split
        problems = check_paper(settings.paper)
    name = settings.paper["name"]
    if problems:
        for problem in problems:
            print(f"replicate.check: {name}: {problem}", file=sys.stderr)
        sys.exit(2)
    print(f"replicate.check: {name}: ok (config, claims, data and labels, split, model, optimizer, loss and one "
          "training step all check out)")


def main() -> None:
    """The `replicate-check` console command (and `python -m replicate.check`)."""
    # A check writes nothing: Hydra's run directory (its log file) goes to a temporary folder, removed on exit.
    scratch = tempfile.mkdtemp(prefix="replicate-check-")
    atexit.register(shutil.rmtree, scratch, True)
    sys.argv += [f"hydra.run.dir={scratch}", "hydra.output_subdir=null"]
    cli.main(check)


if __name__ == "__main__":
    main()
