"""`replicate paper=NAME [key=value ...]` (or `python -m replicate ...`): retrain a paper under controlled seeds and report."""
import hydra
from omegaconf import DictConfig

from replicate import cli, config, schema
from replicate.resolvers import CONF_DIR

schema.register()
config.register_resolvers()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def replicate_paper(cfg: DictConfig) -> None:
    with cli.user_errors():
        settings = config.settings_from_config(cfg)  # a bad key or value stops here, before the heavy imports below
        from replicate.runner import run
        from replicate.study import run_variance_study

        outcomes = run_variance_study(settings) if settings.study == "variance" else [run(settings)]
    cli.exit_after_runs(outcomes)


def main() -> None:
    """The `replicate` console command (and `python -m replicate`)."""
    cli.main(replicate_paper)


if __name__ == "__main__":
    main()
