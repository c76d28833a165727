"""The test tree itself: pytest imports test modules by basename (rootdir mode, no packages), so two
``test_x.py`` in different folders stop the whole run at collection. Caught here with a clear message."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_a_unique_basename() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    shared = sorted(name for name, count in names.items() if count > 1)
    assert shared == [], f"test modules share a basename (rename one): {shared}"
