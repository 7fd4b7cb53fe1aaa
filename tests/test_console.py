"""The console commands as a person types them: `replicate --help`, tab completion, the other commands, and the one
line a user gets when TensorFlow is missing (it comes from an extra)."""
import os
import subprocess
import sys
import sysconfig
from pathlib import Path


from conftest import ROOT, cli_env

SCRIPTS = Path(sysconfig.get_path("scripts"))


def command(name: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPTS / name), *args], cwd=cwd, env=cli_env(**env), capture_output=True, text=True,
                          timeout=300)


def test_help_says_what_replicate_does_and_its_main_options(tmp_path):
    shown = command("replicate", "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("replicate: retrain a paper's model under controlled seeds")
    assert "== Main options ==" in shown.stdout and "paper=NAME" in shown.stdout and "repeats=N" in shown.stdout
    assert "paper: mlp_sequence, mnist_dense, tmd_cnn" in shown.stdout  # the config groups, from conf/
    assert "__main__" not in shown.stdout and not list(tmp_path.iterdir())  # help writes nothing


def test_help_piped_into_a_reader_that_leaves_gives_no_traceback(tmp_path):
    """`replicate --help | head -1` as typed: the reader closes the pipe early; the command just stops (141, as
    shells report SIGPIPE), with nothing on stderr."""
    env = cli_env(PATH=f"{SCRIPTS}{os.pathsep}{os.environ['PATH']}")
    piped = subprocess.run(["bash", "-c", 'replicate --help | true; echo "status ${PIPESTATUS[0]}"'], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
    assert piped.stdout.strip() == "status 141" and piped.stderr == "", piped


def test_tab_completion_in_bash_completes_keys_and_choices(tmp_path):
    """The script `replicate -sc install=bash` prints, evaluated in a real bash, asked as bash asks on <TAB>."""
    script = 'eval "$(replicate -sc install=bash)"\n' + "".join(
        f'COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}; read -ra COMP_WORDS <<< "$COMP_LINE"; '
        f'COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); hydra_bash_completion; echo "{line} -> ${{COMPREPLY[*]}}"\n'
        for line in ("replicate paper=tm", "replicate paper.protocol.ep", "replicate exec"))
    env = cli_env(PATH=f"{SCRIPTS}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    completed = dict(line.split(" -> ") for line in done.stdout.splitlines())
    assert completed["replicate paper=tm"] == "paper=tmd_cnn"
    assert completed["replicate paper.protocol.ep"] == "paper.protocol.epochs="
    assert set(completed["replicate exec"].split()) == {"execution=", "executor=", "executor."}


def test_the_other_commands_answer_under_their_own_names(tmp_path):
    for name in ("replicate-report", "replicate-verify"):
        shown = command(name, "--help", cwd=tmp_path)
        assert shown.returncode == 0 and shown.stdout.startswith(f"usage: {name} "), shown.stdout
    missing = command("replicate-report", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("replicate-report: error: "), missing.stderr
    checked = command("replicate-check", "paper=mlp_sequence", cwd=tmp_path)
    assert checked.returncode == 0 and "replicate.check: mlp_sequence: ok" in checked.stdout, checked.stderr
    assert not list(tmp_path.iterdir())  # a check leaves nothing behind (its scratch folder is removed)


def test_without_tensorflow_every_command_names_the_extra_to_install(tmp_path):
    """A real interpreter that cannot import TensorFlow: site-packages seen through links that leave it out."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    site = tmp_path / "site"
    site.mkdir()
    for entry in purelib.iterdir():
        if not entry.name.lower().startswith("tensorflow") and entry.suffix != ".pth":
            (site / entry.name).symlink_to(entry)
    env = cli_env(PYTHONPATH=f"{ROOT}{os.pathsep}{site}")
    probe = subprocess.run([sys.executable, "-S", "-c", "import importlib.util as u; print(u.find_spec('tensorflow'))"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "None", probe  # the premise: TensorFlow really is absent here
    for module in ("replicate", "replicate.check"):
        result = subprocess.run([sys.executable, "-S", "-m", module, "repeats=1"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "TensorFlow is not installed" in lines[0], result.stderr
        assert "pip install 'replicate[cpu]'" in lines[0] and "'replicate[gpu]'" in lines[0]
