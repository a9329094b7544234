"""The benchmark's CPU peak-memory probe sees the direct form's [B, C_out, C_in] temporaries."""

from __future__ import annotations

import torch

from eventsnn.bench.plasticity import B, _cpu_peak
from eventsnn.bench.train_step import contenders


def test_child_peak_memory_probe():
    c_in, c_out = 384, 100
    one_temporary = B * c_out * c_in * 4  # bytes of one float32 [B, C_out, C_in]
    direct = _cpu_peak("direct", c_in, c_out)
    factorised = _cpu_peak("factorised", c_in, c_out)
    assert direct is not None and factorised is not None
    assert direct >= 2 * one_temporary  # lambda, dt, g, P live together
    assert factorised < one_temporary


def test_positions_peak_memory_probe_and_train_step_variants():
    c, hw, batch = 128, 8, 4
    one_temporary = batch * hw * hw * c * c * 4  # bytes of one float32 [B, N_pos, C_out, C_in]
    direct = _cpu_peak("direct", c, c, batch, hw)
    factorised = _cpu_peak("factorised", c, c, batch, hw)
    assert direct is not None and factorised is not None
    # the direct form holds >= 2 full [B, N_pos, C_out, C_in] temporaries, the factorised form not
    # even half of one (allocator noise moved it between 3.9 and 4.7 MB, a quarter is 4.2 MB)
    assert direct >= 2 * one_temporary and factorised < one_temporary / 2
    names = {mode for _, _, mode in contenders(True, torch.device("cpu"))}
    assert {"da_ssdp_positions", "da_ssdp_released"} <= names
