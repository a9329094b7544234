"""train.precision / train.compile: autocast, fp32 LIF state, GradScaler skip -> no dW, compiled recording."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from eventsnn.config import PlasticityConfig, load_config
from eventsnn.engine.compilation import compile_for_training, maybe_compile
from eventsnn.engine.precision import autocast, resolve_precision
from eventsnn.engine.train import Trainer
from eventsnn.errors import ConfigError, TrainingError
from eventsnn.models import create_model
from eventsnn.models.neurons import make_neuron
from eventsnn.plasticity import build_plasticity
from tests.engine import SMOKE, TINY, tiny_run_config


def test_precision_values_and_config_errors():
    assert [resolve_precision(p, "cpu") for p in ("fp32", "bf16", "fp16")] == ["fp32", "bf16", "fp16"]
    assert resolve_precision("auto", "cpu") == "fp32"  # bf16 training widened the seed spread on CPU
    assert resolve_precision("auto", "cuda") == "fp16"  # the released AMP, until a GPU bf16 parity run
    with pytest.raises(ConfigError, match="train.precision"):
        resolve_precision("fp64", "cpu")
    with pytest.raises(ConfigError, match="train.precision"):
        load_config(SMOKE, ["train.precision=fp64"])
    assert load_config(SMOKE, ["train.compile=require"]).train.compile == "require"
    assert load_config(SMOKE, ["train.compile=true"]).train.compile is True


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_lif_membrane_stays_fp32_and_spikes_match_a_float32_reference(precision):
    """Under autocast the node integrates in float32: same spikes as the hand-written LIF loop."""
    torch.manual_seed(0)
    x = torch.randn(6, 3, 40) * 1.5
    low = x.to(torch.bfloat16 if precision == "bf16" else torch.float16)
    node = make_neuron("lif")
    with autocast("cpu", precision):
        spikes = node(low)
    assert node.v.dtype == torch.float32 and spikes.dtype == torch.float32
    v, ref = torch.zeros(3, 40), []  # tau 2, decay_input, hard reset to 0, threshold 1
    for t in range(6):
        h = v + (low[t].float() - v) / 2.0
        s = (h >= 1.0).float()
        ref.append(s)
        v = h * (1 - s)
    assert torch.equal(spikes, torch.stack(ref))


class _Pair(nn.Module):
    """A Linear on spikes [T, B, C] and a multi-step 1x1 conv on spikes [T, B, C, H, W]."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 8, bias=False)
        self.conv = nn.Conv2d(16, 8, 1, bias=False)
        grid = torch.randint(-8, 9, (8, 16)).float() / 8  # exact in bf16 / fp16: sums stay exact
        with torch.no_grad():
            self.fc.weight.copy_(grid)
            self.conv.weight.copy_(grid.flip(0)[:, :, None, None])

    def forward(self, spikes_fc, spikes_conv):
        t, b = spikes_conv.shape[:2]
        y = self.conv(spikes_conv.flatten(0, 1)).unflatten(0, (t, b))
        return self.fc(spikes_fc), y


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_activity_recorded_in_low_precision_gives_fp32_flags_and_dw(precision):
    torch.manual_seed(1)
    spikes_fc = (torch.rand(4, 6, 16) < 0.3).float()
    spikes_conv = (torch.rand(4, 6, 16, 3, 3) < 0.2).float()
    cfg = PlasticityConfig(mode="da_ssdp", layers=("fc",), warmup=0, warmup_unit="steps")

    def run(prec: str):
        torch.manual_seed(2)
        model = _Pair().train()
        plasticity = build_plasticity(model, cfg, steps_per_epoch=4)
        with plasticity.record() as record, autocast("cpu", prec):
            model(spikes_fc, spikes_conv)
        fc = record.layers["fc"]
        before = model.fc.weight.clone()
        plasticity.apply(loss=torch.tensor(1.0), epoch=0)
        return fc, model.fc.weight - before

    (ref, dw_ref), (low, dw_low) = run("fp32"), run(precision)
    assert all(torch.equal(a, b) for a, b in zip(_flags(ref), _flags(low), strict=True))
    assert ref.post.active.any() and not ref.post.active.all()  # the flags carry information
    assert dw_ref.abs().sum() > 0 and torch.equal(dw_ref, dw_low)


def _flags(activity) -> tuple[torch.Tensor, ...]:
    """Activity flags and latencies of both sides of one layer's record."""
    return tuple(t.clone() for u in (activity.pre, activity.post) for t in (u.active, u.latency))


def _tiny_and_plasticity():
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", **TINY).train()
    cfg = PlasticityConfig(mode="da_ssdp", warmup=1, warmup_unit="steps")
    return model, build_plasticity(model, cfg, steps_per_epoch=4)


def _record(net, plasticity, x):
    with plasticity.record() as record:
        out = net(x)
    return out, {k: _flags(a) for k, a in record.layers.items()}


def test_compiled_model_records_the_same_activity_as_eager():
    """dynamo ignores hooks added after compilation; the plasticity layers must stay eager."""
    model, plasticity = _tiny_and_plasticity()
    x = torch.rand(4, 1, 16, 16)
    out_eager, rec_eager = _record(model, plasticity, x)
    assert set(rec_eager) == set(plasticity.layers)
    net = compile_for_training(model, plasticity.layers, backend="eager")
    assert all(p is q for p, q in zip(net.parameters(), model.parameters(), strict=True))
    out_c, rec_c = _record(net, plasticity, x)
    out_c2, rec_c2 = _record(net, plasticity, x)  # hooks re-registered per record(): still seen
    assert torch.allclose(out_eager, out_c) and torch.allclose(out_c, out_c2)
    for name in plasticity.layers:
        assert all(torch.equal(a, b) for a, b in zip(rec_eager[name], rec_c[name], strict=True))
        assert all(torch.equal(a, b) for a, b in zip(rec_c2[name], rec_c[name], strict=True))
    whole = torch.compile(model, dynamic=False, backend="eager")  # the naive way loses the hooks
    whole(x)
    _, rec_whole = _record(whole, plasticity, x)
    assert rec_whole == {}
    assert not any(isinstance(m, torch._dynamo.eval_frame.OptimizedModule) for m in model.modules())


def test_compile_failure_is_one_line_then_eager_or_stops_when_required(capsys):
    model = nn.Linear(3, 2)
    assert maybe_compile(model, True, backend="no_such_backend") is model
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "continuing eager" in err[0]
    with pytest.raises(TrainingError, match="train.compile: require"):
        maybe_compile(model, "require", backend="no_such_backend")
    assert maybe_compile(model, False) is model


def _trainer(tmp_path, *extra):
    return Trainer(tiny_run_config(tmp_path, *extra), tmp_path / "run", compile_backend="eager")


def test_gradscaler_skipped_step_applies_no_dw_and_is_counted(tmp_path):
    trainer = _trainer(tmp_path, "train.precision=fp16")
    assert trainer.precision == "fp16" and trainer.scaler is not None
    trainer.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**4)  # no overflow at start
    x, y = next(iter(trainer.train_loader))
    w = trainer.model.classifier.weight
    trainer._train_step(x, y)  # warm-up step: the gate is fitted
    assert trainer.state.scaler_skips == 0
    before = w.detach().clone()
    first = next(p for p in trainer.model.parameters() if p.requires_grad)
    handle = first.register_hook(lambda g: torch.full_like(g, float("inf")))
    trainer._train_step(x, y)  # inf gradients: optimizer skipped, so DA-SSDP must be too
    handle.remove()
    assert trainer.state.scaler_skips == 1
    assert torch.equal(w.detach(), before)  # a DA-SSDP dW (never zero here) would have moved it
    trainer._train_step(x, y)
    assert trainer.state.scaler_skips == 1 and not torch.equal(w.detach(), before)
    assert trainer.checkpoint_state().training.scaler_skips == 1


def test_compiled_training_step_matches_eager_step(tmp_path):
    """train.compile: the compiled copy shares the parameters; one step gives eager's weights."""
    eager = _trainer(tmp_path / "a", "train.precision=fp32")
    compiled = _trainer(tmp_path / "b", "train.precision=fp32", "train.compile=true")
    assert compiled.net is not compiled.model
    x, y = next(iter(eager.train_loader))
    for _ in range(2):  # warm-up, then an update with dW
        eager._train_step(x, y)
        compiled._train_step(x, y)
    for (name, a), b in zip(
        eager.model.state_dict().items(), compiled.model.state_dict().values(), strict=True
    ):
        assert torch.allclose(a.float(), b.float(), atol=1e-5), name
