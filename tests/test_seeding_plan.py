"""Seeds per repeat and source, and repeat identities."""
import pytest

from replicate.plan import make_plan, repeat_identity
from replicate.seeding import SOURCES, repeat_seeds

PAPER = {"name": "p", "split": {"_target_": "replicate.splits.holdout", "random_state": None}, "protocol": {"shuffle": True}}
VERSIONS = {"tensorflow": "2.21.0"}


def test_seeds_are_a_pure_function_of_master_seed_and_repeat():
    assert repeat_seeds(0, 3) == repeat_seeds(0, 3)
    assert set(repeat_seeds(0, 3)) == set(SOURCES)


def test_every_repeat_and_source_gets_its_own_seed():
    seeds = [repeat_seeds(0, k) for k in range(30)]
    flat = [s[source] for s in seeds for source in SOURCES]
    assert len(set(flat)) == len(flat)
    assert all(0 <= value < 2**31 for value in flat)
    assert repeat_seeds(1, 0) != repeat_seeds(0, 0)


def test_adding_repeats_does_not_change_existing_ones():
    short = make_plan(PAPER, 3, 0, 1, "bitwise", VERSIONS)
    long = make_plan(PAPER, 30, 0, 1, "bitwise", VERSIONS)
    assert [s.seeds for s in short] == [s.seeds for s in long[:3]]
    assert [s.identity for s in short] == [s.identity for s in long[:3]]


@pytest.mark.parametrize("change", [
    {"threads": 2}, {"determinism": "off"}, {"master_seed": 1}, {"index": 1},
    {"versions": {"tensorflow": "2.20.0"}}, {"paper": {**PAPER, "name": "q"}},
])
def test_identity_changes_with_everything_that_affects_the_result(change):
    base = dict(paper=PAPER, master_seed=0, index=0, threads=1, determinism="bitwise", versions=VERSIONS)
    assert repeat_identity(**base) != repeat_identity(**{**base, **change})


def test_pinned_split_and_fixed_order_are_noted():
    paper = {**PAPER, "split": {"random_state": 7}, "protocol": {"shuffle": False}}
    spec = make_plan(paper, 1, 0, 1, "bitwise", VERSIONS)[0]
    assert "random_state=7" in spec.seed_notes["split"]
    assert "shuffle=false" in spec.seed_notes["order"]
