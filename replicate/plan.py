"""The repeats to run, as frozen specs: pure, no I/O."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from replicate.seeding import SOURCES, repeat_seeds
from replicate.splits import split_random_state


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def repeat_identity(paper: Mapping, master_seed: int, index: int, threads: int, determinism: str,
                    versions: Mapping[str, str], seeds: Mapping[str, int] | None = None) -> str:
    """SHA-256 of everything that affects a repeat's result; a changed config never matches a stale record."""
    payload = {
        "paper": paper,
        "master_seed": master_seed,
        "repeat": index,
        "seeds": dict(seeds or {}),
        "threads": threads,
        "determinism": determinism,
        "versions": dict(versions),
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def run_identity(paper: Mapping, master_seed: int, threads: int, determinism: str,
                 versions: Mapping[str, str], vary: tuple[str, ...] = SOURCES) -> str:
    """SHA-256 of what every repeat of a run shares (not `repeats`, so a run can be extended in place)."""
    return repeat_identity(paper, master_seed, -1, threads, determinism, versions, {"vary": sorted(vary)})


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

    def settings(self) -> dict[str, Any]:
        return {"master_seed": self.master_seed, "threads": self.threads, "determinism": self.determinism}


def make_plan(paper: Mapping, repeats: int, master_seed: int, threads: int, determinism: str,
              versions: Mapping[str, str], vary: tuple[str, ...] = SOURCES) -> list[RepeatSpec]:
    """Specs for repeats 0..repeats-1 of a resolved paper config (plain containers).

    A source not in `vary` keeps repeat 0's seed in every repeat, so its contribution is frozen.
    """
    pinned_split = split_random_state(paper["split"])
    frozen = repeat_seeds(master_seed, 0)
    specs = []
    for index in range(repeats):
        seeds = {source: (seed if source in vary else frozen[source]) for source, seed in repeat_seeds(master_seed, index).items()}
        notes = {source: "fixed: the same seed in every repeat (not in `vary`)" for source in SOURCES if source not in vary}
        if pinned_split is not None:
            notes["split"] = f"fixed by the paper's split (random_state={pinned_split}); the split seed is unused"
        if not paper["protocol"].get("shuffle", True):
            notes["order"] = "shuffle=false: data order is fixed; the order seed is unused"
        specs.append(
            RepeatSpec(
                index=index,
                master_seed=master_seed,
                seeds=seeds,
                threads=threads,
                determinism=determinism,
                identity=repeat_identity(paper, master_seed, index, threads, determinism, versions, seeds),
                seed_notes=notes,
            )
        )
    return specs
