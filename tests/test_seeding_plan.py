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


def test_a_pinned_split_stays_pinned_unless_vary_lists_split():
    paper = {**PAPER, "split": {"random_state": 7}}
    default = make_plan(paper, 2, 0, 1, "bitwise", VERSIONS)
    assert not default[0].unpin_split and default[0].seed_notes["split"].startswith("fixed by the paper's split")
    chosen = make_plan(paper, 2, 0, 1, "bitwise", VERSIONS, vary=("split", "init"))
    assert chosen[0].unpin_split and "overriding the paper's random_state=7" in chosen[0].seed_notes["split"]
    assert chosen[0].seeds["split"] != chosen[1].seeds["split"]
    assert chosen[0].identity != default[0].identity
    frozen = make_plan(paper, 2, 0, 1, "bitwise", VERSIONS, vary=("init",))
    assert not frozen[0].unpin_split and frozen[0].seeds["order"] == frozen[1].seeds["order"]


def test_unpinned_split_follows_the_split_seed():
    import numpy as np

    from replicate.dataset import Dataset
    from replicate.train import split_indices

    data = Dataset(x=np.zeros((50, 2)), y=np.arange(50) % 2)
    paper = {"split": {"_target_": "replicate.splits.holdout", "test_size": 0.2, "random_state": 7}, "protocol": {}}
    pinned = [split_indices(paper, data, {"split": s})["test"] for s in (1, 2)]
    assert (pinned[0] == pinned[1]).all()
    unpinned = [split_indices(paper, data, {"split": s}, unpin=True)["test"] for s in (1, 2)]
    assert not (unpinned[0] == unpinned[1]).all()


def test_data_order_depends_on_the_order_seed_alone():
    """The batches `fit` sees: epoch e in the order epoch_order(order seed, e), whatever the other seeds
    (before, TensorFlow's global seed, i.e. the init seed, moved the shuffle too)."""
    import numpy as np

    from replicate import seeding
    from replicate.train import batches, epoch_order

    x = np.arange(10, dtype="float32").reshape(-1, 1)
    y = np.arange(10, dtype="float32")

    def seen(order_seed: int, global_seed: int) -> list[list[float]]:
        seeding.reset_session(global_seed)  # what the init seed does just before
        dataset = batches(x, y, batch_size=4, shuffle_seed=order_seed, epochs=3)
        return [list(batch_y.numpy()) for _, batch_y in dataset]

    first = seen(11, global_seed=1)
    assert first == seen(11, global_seed=2)
    expected = [list(y[epoch_order(11, e, 10)][start:start + 4]) for e in range(3) for start in (0, 4, 8)]
    assert first == expected  # 3 batches per epoch (4, 4, 2), none spanning two epochs
    assert first[:3] != first[3:6]  # a fresh order each epoch
    assert first != seen(12, global_seed=1)
