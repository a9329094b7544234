"""The benchmark's CPU peak-memory probe sees the direct form's [B, C_out, C_in] temporaries."""

from __future__ import annotations

from eventsnn.bench.plasticity import B, _cpu_peak


def test_child_peak_memory_probe():
    c_in, c_out = 384, 100
    one_temporary = B * c_out * c_in * 4  # bytes of one float32 [B, C_out, C_in]
    direct = _cpu_peak("direct", c_in, c_out)
    factorised = _cpu_peak("factorised", c_in, c_out)
    assert direct is not None and factorised is not None
    assert direct >= 2 * one_temporary  # lambda, dt, g, P live together
    assert factorised < one_temporary
