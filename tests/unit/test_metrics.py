import pytest

from replens.metrics import velocity_loss_pct


@pytest.mark.parametrize(
    ("velocities", "expected"),
    [
        ([0.80, 0.72, 0.60], 25.0),  # fastest first, slowest last
        ([0.60, 0.80, 0.72], 10.0),  # the fastest rep need not be the first
        ([0.70, 0.75], 0.0),  # faster at the end: no loss
        ([0.70], None),  # one rep: undefined
        ([], None),
        ([0.0, 0.0], None),
    ],
)
def test_velocity_loss(velocities, expected):
    result = velocity_loss_pct(velocities)
    assert result == (None if expected is None else pytest.approx(expected))
