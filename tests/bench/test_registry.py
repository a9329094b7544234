"""Benchmarks declare themselves with `@benchmark` where they are defined; the names and the JSON
fields are the contract of docs/benchmarks.md."""

from __future__ import annotations

import json

import pytest

from eventsnn.bench import core
from eventsnn.bench.core import BenchReport, benchmark, load_benchmarks
from eventsnn.cli import main
from eventsnn.utils.registry import Registry

# the names `eventsnn bench NAME` has always accepted (the contract: never renamed)
CONTRACT = {
    "decode",
    "framing",
    "gpu",
    "loader",
    "model",
    "plasticity",
    "predict",
    "spikes",
    "stream",
    "train-step",
}


def test_every_benchmark_is_declared_by_its_module_under_its_contract_name(capsys):
    found = load_benchmarks()
    assert set(found.names()) == CONTRACT
    for name, bench in found.items():
        module = __import__(bench.run.__module__, fromlist=["NAME"])
        assert (module.NAME, bench.run.__name__) == (name, "run") and bench.help
    assert main(["bench", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == sorted(CONTRACT)


def test_a_benchmark_declared_anywhere_runs_from_the_cli_with_the_contract_json(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(core, "BENCHMARKS", Registry("benchmark"))

    @benchmark("toy", help="two contenders of a sum")
    def run(quick: bool) -> BenchReport:
        report = BenchReport("toy")
        report.add("n=3", "a", [3.0, 1.0, 2.0], peak_mem_bytes=7)
        report.add("n=3", "b", [1.0])
        report.ratio("a/b", "n=3", "a", "b")
        return report

    with pytest.raises(KeyError, match="registered twice"):
        benchmark("toy", help="again")(run)
    assert main(["bench", "list"]) == 0
    assert capsys.readouterr().out.split() == ["toy", "two", "contenders", "of", "a", "sum"]
    assert main(["bench", "toy", "--quick", "--out", str(tmp_path / "toy.json")]) == 0
    doc = json.loads((tmp_path / "toy.json").read_text())
    assert {"name", "machine", "versions", "rows", "ratios"} <= set(doc) and doc["name"] == "toy"
    assert doc["rows"][0]["case"] == "n=3" and doc["rows"][0]["contender"] == "a"
    assert doc["rows"][0]["median_s"] == 2.0 and doc["rows"][0]["peak_mem_bytes"] == 7
    assert doc["ratios"] == {"a/b": 2.0}
    assert main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'; available: toy, all" in capsys.readouterr().err
