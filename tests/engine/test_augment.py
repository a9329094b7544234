"""The reference DVS augmentation: each op checked against its definition, the mix of ops by counting."""

from __future__ import annotations

import torch

from eventsnn.engine.augment import cutout, dvs_augment, roll, rotate


def frames(seed: int = 0) -> torch.Tensor:
    """[T=2, C=2, 12, 12] with all values distinct (so any rearrangement is recognisable)."""
    return (
        torch.randperm(2 * 2 * 12 * 12, generator=torch.Generator().manual_seed(seed))
        .float()
        .view(2, 2, 12, 12)
        + 1
    )


def test_roll_is_a_cyclic_shift_within_a_third():
    x = frames()
    for seed in range(20):
        y = roll(x, torch.Generator().manual_seed(seed))
        shifts = [
            (dy, dx)
            for dy in range(-4, 5)
            for dx in range(-4, 5)
            if torch.equal(y, torch.roll(x, (dy, dx), (-2, -1)))
        ]
        assert len(shifts) == 1  # exactly one shift with |dy|, |dx| <= 12 / 3 explains the output


def test_cutout_zeroes_one_box_of_at_most_a_third_and_keeps_the_rest():
    x = frames()
    for seed in range(20):
        y = cutout(x, torch.Generator().manual_seed(seed))
        zero = y == 0
        assert torch.equal(zero, zero[:1, :1].expand_as(zero))  # the same box in every frame and channel
        rows, cols = zero[0, 0].any(1).nonzero().flatten(), zero[0, 0].any(0).nonzero().flatten()
        if len(rows):
            assert zero[0, 0, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()  # a box
            assert rows.max() - rows.min() + 1 <= 4 and cols.max() - cols.min() + 1 <= 4
        assert torch.equal(y[~zero], x[~zero])


def test_rotate_moves_values_without_making_new_ones():
    x = frames()
    y = rotate(x, torch.Generator().manual_seed(1))
    assert y.shape == x.shape
    assert set(y.unique().tolist()) <= set(x.unique().tolist()) | {0.0}  # nearest: values are moved
    assert not torch.equal(y, x)


def _explain(y: torch.Tensor, x: torch.Tensor) -> tuple[str, bool | None]:
    """Which op made `y` from `x` (and whether x was flipped first, where that can be told)."""
    for base, is_flip in ((x, False), (torch.flip(x, (-1,)), True)):
        if any(
            torch.equal(y, torch.roll(base, (a, b), (-2, -1))) for a in range(-4, 5) for b in range(-4, 5)
        ):
            return "roll", is_flip
        zero = y == 0
        if zero.any() and torch.equal(y[~zero], base[~zero]):
            return "cutout", is_flip
    assert set(y.unique().tolist()) <= set(x.unique().tolist()) | {0.0}  # nearest rotation moves values
    return "rotate", None


def test_dvs_augment_flips_half_the_time_and_picks_each_op_a_third():
    x = frames()
    n = 300
    seen = [_explain(dvs_augment(x, torch.Generator().manual_seed(seed)), x) for seed in range(n)]
    for op in ("roll", "cutout", "rotate"):
        share = sum(o == op for o, _ in seen) / n
        assert abs(share - 1 / 3) < 0.1, (op, share)
    flips = [f for _, f in seen if f is not None]
    assert abs(sum(flips) / len(flips) - 0.5) < 0.1
