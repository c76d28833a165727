"""Open-set matching on synthetic descriptors: a member only when close and clearly closest."""

from __future__ import annotations

import math

import numpy as np
import pytest

from replens.device_agent.identity.gallery import Gallery, Match, MatchSettings, check_embedding


def unit(seed: int) -> np.ndarray:
    vector = np.random.default_rng(seed).normal(size=128)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def near(base: np.ndarray, distance: float, seed: int = 99) -> np.ndarray:
    """A vector exactly ``distance`` from ``base``."""
    step = np.random.default_rng(seed).normal(size=128)
    return (base + distance * step / np.linalg.norm(step)).astype(np.float32)


def test_empty_gallery_knows_nobody() -> None:
    assert Gallery().match(unit(1)) == Match(None, math.inf, math.inf, None)


@pytest.mark.parametrize(("distance", "expected"), [(0.3, "a"), (0.59, "a"), (0.61, None), (1.2, None)])
def test_threshold(distance: float, expected: str | None) -> None:
    gallery = Gallery()
    gallery.add("a", unit(1))
    match = gallery.match(near(unit(1), distance))
    assert match.member_id == expected
    assert match.nearest_id == "a"
    assert match.distance == pytest.approx(distance, abs=1e-5)
    assert match.runner_up_distance == math.inf


def test_two_members_almost_equally_close_is_unknown() -> None:
    a = unit(1)
    gallery = Gallery(MatchSettings(threshold=0.6, margin=0.06))
    gallery.add("a", a)
    gallery.add("b", near(a, 0.1, seed=5))  # a look-alike
    probe = near(a, 0.3, seed=7)
    match = gallery.match(probe)
    assert match.runner_up_distance - match.distance < 0.06
    assert match.member_id is None and match.nearest_id in {"a", "b"}


def test_runner_up_is_another_member_not_another_photo() -> None:
    a = unit(1)
    gallery = Gallery()
    gallery.add("a", a)
    gallery.add("a", near(a, 0.05))  # a second photo of the same person is no rival
    gallery.add("b", unit(2))
    match = gallery.match(near(a, 0.2, seed=3))
    assert match.member_id == "a"
    assert match.runner_up_distance == pytest.approx(float(np.linalg.norm(near(a, 0.2, seed=3) - unit(2))), abs=1e-5)


def test_nearest_photo_counts() -> None:
    a = unit(1)
    gallery = Gallery()
    gallery.add("a", near(a, 1.0, seed=11))  # a poor photo
    gallery.add("a", a)
    assert gallery.distances(near(a, 0.2))["a"] == pytest.approx(0.2, abs=1e-5)


def test_remove_forgets_every_photo() -> None:
    gallery = Gallery()
    gallery.add("a", unit(1))
    gallery.add("a", unit(3))
    gallery.add("b", unit(2))
    gallery.remove("a")
    gallery.remove("nobody")
    assert gallery.members == ("b",) and len(gallery) == 1
    assert gallery.match(unit(1)).nearest_id == "b"


@pytest.mark.parametrize("bad", [np.zeros(127), np.full(128, np.nan), np.zeros((1, 128))])
def test_bad_embeddings_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"\(128,\) finite"):
        check_embedding(bad)
    with pytest.raises(ValueError):
        Gallery().add("a", bad)


@pytest.mark.parametrize("kwargs", [{"threshold": 0}, {"threshold": 3}, {"margin": -0.1}])
def test_settings_are_checked(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="match"):
        MatchSettings(**kwargs)


def test_a_gallery_built_at_once_matches_one_built_face_by_face() -> None:
    rng = np.random.default_rng(7)
    vectors = {m: [rng.normal(size=128).astype(np.float32) for _ in range(3)] for m in ("m1", "m2")}
    one_by_one = Gallery()
    for member, member_vectors in vectors.items():
        for vector in member_vectors:
            one_by_one.add(member, vector)
    at_once = Gallery.of(vectors)
    probe = vectors["m2"][1] + 0.01
    assert at_once.members == one_by_one.members
    assert at_once.distances(probe) == one_by_one.distances(probe)
    assert at_once.match(probe) == one_by_one.match(probe)
