"""`python -m replicate.check paper=NAME [overrides]`: validate a paper without training; one line per problem."""
from __future__ import annotations

import sys
import tempfile
from typing import Any

import hydra
from omegaconf import DictConfig

from replicate import cli, config, schema

schema.register()
config.register_resolvers()


def check_paper(paper: dict[str, Any]) -> list[str]:
    """Problems that only instantiating shows: data loads, model builds, output width matches the classes."""
    from replicate.errors import ReplicateError
    from replicate.executors.common import load_data
    from replicate.train import build_model, split_indices

    problems: list[str] = []
    try:
        data = load_data(paper)
    except ReplicateError as error:
        return [str(error)]
    except Exception as error:  # a loader bug is still reported as one line
        return [f"paper.data: {paper['data'].get('_target_')} failed: {type(error).__name__}: {error}; fix: run it by hand to see the traceback"]
    if paper["task"] == "classification" and data.class_names is None:
        problems.append("paper.data: a classification loader must set Dataset.class_names; fix: return class_names=[...] from the loader")
    try:
        model = build_model(paper, data)
        output = model(data.x[:2].astype("float32"))
    except Exception as error:
        return problems + [f"paper.model: {paper['model'].get('_target_')} failed on inputs of shape {data.x.shape[1:]}: {type(error).__name__}: {error}; fix: the builder takes input_shape and num_outputs"]
    if paper["task"] == "classification" and data.class_names is not None and output.shape[-1] != len(data.class_names):
        problems.append(f"paper.model: outputs {output.shape[-1]} values per example but the data has {len(data.class_names)} classes; fix: build the last layer with num_outputs units")
    try:
        splits = split_indices(paper, data, {"split": 0})
    except ReplicateError as error:
        return problems + [str(error)]
    for name in ("train", "test"):
        if len(splits.get(name, [])) == 0:
            problems.append(f"paper.split: the '{name}' split is empty; fix: check test_size or the loader's folds")
    return problems


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def check(cfg: DictConfig) -> None:
    with cli.user_errors():
        settings = config.settings_from_config(cfg)  # the schema, ranges and every claim's metric and split
        problems = check_paper(settings.paper)
    name = settings.paper["name"]
    if problems:
        for problem in problems:
            print(f"replicate.check: {name}: {problem}", file=sys.stderr)
        sys.exit(2)
    print(f"replicate.check: {name}: ok (config, claims, data, model and split all check out)")


if __name__ == "__main__":
    # A check writes nothing: Hydra's run directory goes to a temporary folder.
    sys.argv += [f"hydra.run.dir={tempfile.mkdtemp(prefix='replicate-check-')}", "hydra.output_subdir=null"]
    cli.main(check)
