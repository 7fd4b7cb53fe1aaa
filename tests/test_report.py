"""Report files: rebuilt from records alone with the same numbers; the HTML renders in a real browser; sweeps."""
import json
import math
import shutil
import subprocess

import pytest

from conftest import run_cli

SMALL = ["paper.protocol.epochs=5", "executor=serial", "selfcheck.enabled=false"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "run"
    result = run_cli([*SMALL, "repeats=4", f"hydra.run.dir={path}"])
    assert result.returncode == 0, result.stderr[-3000:]
    return path


def test_report_files_are_written(run_dir):
    for name in ("report.md", "report.html", "summary.json", "results.csv", "distribution.png", "learning_curves.png"):
        assert (run_dir / name).stat().st_size > 0, name


def test_report_rebuilt_from_records_alone_is_identical(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir / "records", copy / "records")
    shutil.copy(run_dir / "run.json", copy / "run.json")
    result = run_cli([str(copy)], module="replicate.report")
    assert result.returncode == 0, result.stderr
    for name in ("summary.json", "results.csv", "report.md"):
        assert (copy / name).read_text() == (run_dir / name).read_text(), name


def test_report_cli_names_a_corrupt_record_sets_it_aside_and_lists_it(run_dir, tmp_path):
    copy = tmp_path / "corrupt"
    shutil.copytree(run_dir, copy)
    (copy / "records" / "repeat-00002.json").write_text('{"repeat": 2, "trunc')
    result = run_cli([str(copy)], module="replicate.report")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "repeat-00002.json is corrupt" in result.stderr and "left out" in result.stderr
    kept = [p for p in (copy / "records").iterdir() if p.name.startswith("repeat-00002.json.corrupt-")]
    assert len(kept) == 1 and kept[0].read_text() == '{"repeat": 2, "trunc'  # kept as it was, never deleted
    summary = json.loads((copy / "summary.json").read_text())
    assert summary["repeats"]["completed"] == 3 and summary["set_aside"][0]["reason"] == "corrupt"
    assert "unreadable or tampered with" in (copy / "report.md").read_text()


def test_html_is_self_contained(run_dir):
    html = (run_dir / "report.html").read_text()
    assert "data:image/png;base64," in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html.split("<body>")[0]
    assert "<table>" in html


@pytest.mark.slow
def test_html_renders_tables_and_images_in_headless_chromium(run_dir, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed here (.ci/run installs it)")
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=3000",
         "--run-all-compositor-stages-before-draw",
         # the page's own script-free DOM after layout, with each image's decoded width
         "--dump-dom", f"file://{run_dir / 'report.html'}"],
        capture_output=True, text=True, timeout=120,
    ).stdout
    assert dom.count("<table>") >= 3
    assert "Replication report" in dom
    screenshot = tmp_path / "page.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile2'}",
         f"--screenshot={screenshot}", "--window-size=1200,3000", f"file://{run_dir / 'report.html'}"],
        capture_output=True, timeout=120,
    )
    from PIL import Image

    image = Image.open(screenshot).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 500  # plots rendered: far more colours than text on white


def test_sweep_pairwise_survives_a_zero_spread_configuration():
    from replicate.report.sweep import pairwise

    runs = [{"name": "a", "values": [0.9, 0.9, 0.9]}, {"name": "b", "values": [0.9, 0.9, 0.9]},
            {"name": "c", "values": [0.80, 0.85, 0.88, 0.90]}]
    rows = pairwise(runs)
    assert len(rows) == 3
    flat = next(r for r in rows if (r["a"], r["b"]) == ("a", "b"))
    assert math.isnan(flat["welch_p"]) and math.isnan(flat["welch_p_holm"])  # undefined, not a crash
    defined = [r["welch_p_holm"] for r in rows if not math.isnan(r["welch_p"])]
    assert len(defined) == 2 and all(0 <= p <= 1 for p in defined)


def test_a_run_that_blew_up_still_gets_a_report(tmp_path):
    run_dir = tmp_path / "lr1000"
    args = ["repeats=3", "executor=serial", "selfcheck.enabled=false", "paper.protocol.epochs=5",
            "paper.protocol.optimizer.learning_rate=1000.0", f"hydra.run.dir={run_dir}"]
    result = run_cli(args)
    assert result.returncode == 4, result.stderr[-3000:]  # no run learned: no verdict (tests/test_did_not_learn.py)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {claim["verdict"] for claim in summary["claims"]} == {"none"}
    if summary["metrics"]["test_mse"] is not None:  # huge but finite MSEs (here ~4e13): no overflow on the way
        assert "no practical number of repeats" in (run_dir / "report.md").read_text()
    else:  # every repeat diverged: said so
        assert all("diverged" in claim["why"] for claim in summary["claims"])
    assert run_cli([str(run_dir)], module="replicate.report").returncode == 0


def test_report_and_verify_set_aside_a_misplaced_or_foreign_record(run_dir, tmp_path):
    """Copying repeat-00002.json over repeat-00003.json once made the report count repeat 2 twice and verify print
    "repeat 2: match" for slot 3. Now each is set aside (kept, renamed), left out, and listed in the report."""
    copy = tmp_path / "copy"
    shutil.copytree(run_dir / "records", copy / "records")
    shutil.copy(run_dir / "run.json", copy / "run.json")
    records = copy / "records"
    shutil.copy(records / "repeat-00002.json", records / "repeat-00003.json")
    foreign = json.loads((records / "repeat-00001.json").read_text())
    from replicate.store import RecordStore

    foreign["identity"] = "0" * 64  # a record of another configuration, well-formed and checksummed
    (records / "repeat-00001.json").unlink()
    RecordStore(copy).write(foreign)

    result = run_cli([str(copy)], module="replicate.report")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "holds repeat 2's record, not repeat 3's" in result.stderr
    assert "another configuration" in result.stderr
    summary = json.loads((copy / "summary.json").read_text())
    assert summary["repeats"]["completed"] == 2  # repeats 0 and 2 only: neither copy nor foreign record counted
    reasons = sorted(item["reason"] for item in summary["set_aside"])
    assert reasons == ["foreign", "misplaced"]
    report = (copy / "report.md").read_text()
    assert "## Records set aside" in report and "another repeat's record in this slot" in report
    kept = sorted(p.name for p in records.iterdir())
    assert any(name.startswith("repeat-00003.json.misplaced-") for name in kept)  # kept, never deleted
    assert any(name.startswith("repeat-00001.json.foreign-") for name in kept)

    shutil.copy(records / "repeat-00002.json", records / "repeat-00003.json")  # the same fault, for verify
    verified = run_cli([str(copy), "--repeat", "3"], module="replicate.verify")
    assert verified.returncode == 1 and "repeat 2: match" not in verified.stdout
    assert "holds repeat 2's record, not repeat 3's" in verified.stderr and "nothing to verify" in verified.stderr
