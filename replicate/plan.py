"""The repeats to run, as frozen specs: pure, no I/O."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from replicate.seeding import SOURCES, repeat_seeds
from replicate.splits import split_random_state

# How a repeat turns its seeds into bits (e.g. how data order derives from the order seed). Part of every
# identity: bump it when the same seeds would give other bits, so no stale record is ever reused.
# 3: the execution path left the identity (every path gives the same bits; tests/test_matrix.py).
TRAINING_SCHEME = 3


# Parts of a paper config that only read the records (what was reported, how to label it): they are scoring, not
# training, so they stay out of every identity and changing them re-scores finished repeats without retraining.
SCORING_KEYS = ("reported", "external", "headline", "notes", "citation")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def training_config(paper: Mapping) -> dict[str, Any]:
    """The paper config less its scoring parts (SCORING_KEYS and the protocol's notes): what changes the weights."""
    training = {key: value for key, value in paper.items() if key not in SCORING_KEYS}
    if isinstance(training.get("protocol"), Mapping):
        training["protocol"] = {key: value for key, value in training["protocol"].items() if key != "notes"}
    return training


def repeat_identity(paper: Mapping, master_seed: int, index: int, threads: int, determinism: str,
                    versions: Mapping[str, str], seeds: Mapping[str, int] | None = None) -> str:
    """SHA-256 of everything that affects a repeat's result; a changed config never matches a stale record. Claims,
    labels and notes (SCORING_KEYS) are not part of it, nor is the execution path or the executor (they only
    change how fast the same bits come)."""
    payload = {
        "scheme": TRAINING_SCHEME,
        "paper": training_config(paper),
        "master_seed": master_seed,
        "repeat": index,
        "seeds": dict(seeds or {}),
        "threads": threads,
        "determinism": determinism,
        "versions": dict(versions),
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def run_identity(paper: Mapping, master_seed: int, threads: int, determinism: str,
                 versions: Mapping[str, str], vary: tuple[str, ...] | None = None) -> str:
    """SHA-256 of what every repeat of a run shares (not `repeats`, so a run can be extended in place)."""
    return repeat_identity(paper, master_seed, -1, threads, determinism, versions,
                           {"vary": "paper" if vary is None else sorted(vary)})


@dataclass(frozen=True)
class RepeatSpec:
    """One repeat to run: its index, seeds per source of randomness, and the settings that fix its bits."""

    index: int
    master_seed: int
    seeds: Mapping[str, int]
    threads: int
    determinism: str
    identity: str
    seed_notes: Mapping[str, str] = field(default_factory=dict)
    # the user's `vary` lists split although the paper pins its split: the split seed is used instead
    unpin_split: bool = False
    # the path asked for (per_repeat: Keras `fit`; vectorized: replicas in lockstep in one graph, replicas.py;
    # auto: lockstep where the model allows); not part of the identity, and the record names the path taken
    execution: str = "auto"

    def settings(self) -> dict[str, Any]:
        return {"master_seed": self.master_seed, "threads": self.threads, "determinism": self.determinism,
                "unpin_split": self.unpin_split, "execution": self.execution}


def make_plan(paper: Mapping, repeats: int, master_seed: int, threads: int, determinism: str,
              versions: Mapping[str, str], vary: tuple[str, ...] | None = None,
              execution: str = "auto") -> list[RepeatSpec]:
    """Specs for repeats 0..repeats-1 of a resolved paper config (plain containers).

    vary=None: every source the paper's protocol has varies (a split the paper pins, e.g. random_state=7,
    stays pinned). An explicit `vary` freezes the sources it leaves out (repeat 0's seed in every repeat), and
    listing `split` unpins a pinned split.
    """
    pinned_split = split_random_state(paper["split"])
    unpin_split = vary is not None and "split" in vary and pinned_split is not None
    varying = SOURCES if vary is None else tuple(vary)
    frozen = repeat_seeds(master_seed, 0)
    specs = []
    for index in range(repeats):
        seeds = {source: (seed if source in varying else frozen[source])
                 for source, seed in repeat_seeds(master_seed, index).items()}
        notes = {source: "fixed: the same seed in every repeat (not in `vary`)" for source in SOURCES if source not in varying}
        if pinned_split is not None and not unpin_split and "split" in varying:
            notes["split"] = f"fixed by the paper's split (random_state={pinned_split}); the split seed is unused"
        if unpin_split:
            notes["split"] = f"varies: `vary` lists split, overriding the paper's random_state={pinned_split}"
        if not paper["protocol"].get("shuffle", True) and "order" in varying:
            notes["order"] = "fixed: shuffle=false, so data order is the same in every repeat; the order seed is unused"
        specs.append(
            RepeatSpec(
                index=index,
                master_seed=master_seed,
                seeds=seeds,
                threads=threads,
                determinism=determinism,
                identity=repeat_identity(paper, master_seed, index, threads, determinism, versions,
                                         {**seeds, "unpin_split": int(unpin_split)}),
                seed_notes=notes,
                unpin_split=unpin_split,
                execution=execution,
            )
        )
    return specs


def tasks(specs: list[RepeatSpec], replicas: int | None, workers: int) -> list[list[RepeatSpec]]:
    """The units of work an executor hands out: one repeat each, or for execution=vectorized groups of
    `replicas` repeats (null: the repeats spread evenly over the workers) trained together in one process (also
    for execution=auto, which trains a group in lockstep when its model allows).

    How repeats are grouped never changes their bits (each replica is its own model in the graph), so
    the grouping is a scheduling choice and not part of any identity.
    """
    if not specs or specs[0].execution == "per_repeat":
        return [[spec] for spec in specs]
    size = replicas or -(-len(specs) // max(1, workers))
    return [specs[start:start + size] for start in range(0, len(specs), size)]


def run_identities(run: Mapping[str, Any]) -> dict[int, str]:
    """Repeat index -> the identity its record must carry, from a run file's content alone (run.json: the
    settings the run was planned from, software versions included)."""
    vary = None if run.get("vary") is None else tuple(run["vary"])
    repeats = run["repeats_max"] if run["repeats"] == "auto" else run["repeats"]
    plan = make_plan(run["paper"], repeats, run["seed"], run["threads"], run["determinism"],
                     run.get("versions", {}), vary, run.get("execution", "auto"))
    return {spec.index: spec.identity for spec in plan}
