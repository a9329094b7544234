"""CUDA paths of the engine (skipped without a GPU; run by `make gpu-check`).

AMP + DA-SSDP training step (dW equal to the CPU computation of the same activity), the
GradScaler-skip rule, evaluation, the fp32 LIF membrane and torch.compile, all on CUDA.
`to_frames` and the spike statistics on CUDA are tested beside their CPU tests
(tests/events/test_frame.py, tests/spikes/test_stats.py).
"""

from __future__ import annotations

import copy

import pytest
import torch

from eventsnn.config import PlasticityConfig
from eventsnn.engine.compilation import compile_for_training
from eventsnn.engine.evaluate import evaluate_model
from eventsnn.engine.precision import autocast, backward, make_grad_scaler, optimizer_step
from eventsnn.engine.train import Trainer
from eventsnn.models import create_model
from eventsnn.models.neurons import make_neuron
from eventsnn.models.readout import per_sample_loss
from eventsnn.plasticity import build_plasticity
from eventsnn.plasticity.functional import da_ssdp_delta_w, gate_from_fit, synchrony, unit_pair
from tests.engine import TINY, tiny_run_config

pytestmark = pytest.mark.gpu


def _flags(activity) -> tuple[torch.Tensor, ...]:
    """Activity flags and latencies of both sides of one layer's record."""
    return tuple(t.clone() for u in (activity.pre, activity.post) for t in (u.active, u.latency))


def _model_and_plasticity(device):
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", **TINY).to(device).train()
    cfg = PlasticityConfig(mode="da_ssdp", warmup=1, warmup_unit="steps")
    return model, build_plasticity(model, cfg, steps_per_epoch=4)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_amp_da_ssdp_step_on_cuda_applies_the_cpu_dw_of_the_same_activity(precision):
    model, plasticity = _model_and_plasticity("cuda")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = make_grad_scaler("cuda", precision)
    x, y = torch.rand(16, 1, 16, 16, device="cuda"), torch.randint(0, 10, (16,), device="cuda")
    raw: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # the hooked layers' tensors, on the CPU

    def keep(name):
        return lambda mod, args, out: raw.__setitem__(name, (args[0].detach().cpu(), out.detach().cpu()))

    handles = [m.register_forward_hook(keep(n)) for n, m in plasticity.modules.items()]
    for _ in range(2):  # warm-up step (gate fit), then an update
        with plasticity.record(), autocast("cuda", precision):
            loss = per_sample_loss(model(x).mean(0), y, 0.0).mean()
        assert loss.dtype == torch.float32
        backward(loss, scaler)
        stepped = optimizer_step(opt, scaler, model.parameters())
        opt.zero_grad(set_to_none=True)
        assert stepped
        after_opt = {n: m.weight.detach().clone() for n, m in plasticity.modules.items()}
        plasticity.apply(loss=loss.detach(), epoch=0)
    for h in handles:
        h.remove()
    for name, module in plasticity.modules.items():
        rule = plasticity.rules[name]
        p = rule.params
        pre, post = (t.float() for t in raw[name])
        linear = isinstance(module, torch.nn.Linear)
        S = synchrony(*unit_pair(pre, post, channels_last=linear))
        gate = gate_from_fit(
            S, rule.k.cpu(), rule.mu_S.cpu(), rule.sd_S.cpu(), low=p.gate_min, high=p.gate_max
        )
        if linear and pre.dim() > 3:  # tokens [T, B, *sp, C] -> the conv layout [T, B, C, *sp]
            pre, post = pre.movedim(-1, 2), post.movedim(-1, 2)
        want = da_ssdp_delta_w(pre, post, a_plus=p.a_plus, a_minus=p.a_minus, sigma=p.sigma, gate=gate)
        got = (module.weight.detach() - after_opt[name]).view(want.shape).cpu()
        assert want.abs().sum() > 0
        torch.testing.assert_close(got, want, atol=2e-6, rtol=1e-4)


def test_gradscaler_skip_on_cuda_applies_no_dw(tmp_path):
    cfg = tiny_run_config(tmp_path, "train.device=cuda", "train.precision=fp16")
    trainer = Trainer(cfg, tmp_path / "run")
    trainer.scaler = torch.amp.GradScaler("cuda", init_scale=2.0**4)
    x, y = next(iter(trainer.train_loader))
    w = trainer.model.classifier.weight
    trainer._train_step(x, y)
    before = w.detach().clone()
    first = next(p for p in trainer.model.parameters() if p.requires_grad)
    handle = first.register_hook(lambda g: torch.full_like(g, float("inf")))
    trainer._train_step(x, y)
    handle.remove()
    assert trainer.state.scaler_skips == 1 and torch.equal(w.detach(), before)
    trainer._train_step(x, y)
    assert trainer.state.scaler_skips == 1 and not torch.equal(w.detach(), before)


def test_evaluation_on_cuda_equals_cpu():
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", **TINY).eval()
    xs, ys = torch.rand(40, 1, 16, 16), torch.randint(0, 10, (40,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), batch_size=16)
    cpu = evaluate_model(model, loader, torch.device("cpu"), 10, firing_rates=True)
    gpu = evaluate_model(copy.deepcopy(model).cuda(), loader, torch.device("cuda"), 10, firing_rates=True)
    assert gpu.top1 == pytest.approx(cpu.top1) and gpu.n == cpu.n == 40
    assert gpu.loss == pytest.approx(cpu.loss, rel=1e-4)
    for name, rate in cpu.firing_rates.items():
        assert gpu.firing_rates[name] == pytest.approx(rate, abs=1e-3)
    low = evaluate_model(copy.deepcopy(model).cuda(), loader, torch.device("cuda"), 10, precision="bf16")
    assert abs(low.top1 - cpu.top1) <= 10.0  # 40 samples: at most 4 predictions flip


def test_lif_on_cuda_keeps_fp32_membrane_under_autocast():
    node = make_neuron("lif").cuda()
    x = torch.randn(6, 4, 256, device="cuda") * 1.5
    with autocast("cuda", "bf16"):
        out = node(x.bfloat16())
    assert node.v.dtype == torch.float32
    ref = make_neuron("lif")(x.bfloat16().float().cpu())
    assert out.dtype == torch.float32
    assert (out.cpu() != ref).float().mean() < 1e-3  # kernels may round a threshold tie differently


def test_compile_on_cuda_records_the_same_activity_and_output_as_eager():
    model, plasticity = _model_and_plasticity("cuda")
    x = torch.rand(8, 1, 16, 16, device="cuda")
    with plasticity.record() as rec_eager:
        out_eager = model(x)
    eager = {k: _flags(a) for k, a in rec_eager.layers.items()}
    net = compile_for_training(model, plasticity.layers)
    for _ in range(2):
        with plasticity.record() as rec:
            out = net(x)
        assert set(rec.layers) == set(eager)
        for name, flags in eager.items():
            assert all(torch.equal(a, b) for a, b in zip(_flags(rec.layers[name]), flags, strict=True))
        torch.testing.assert_close(out, out_eager, atol=1e-4, rtol=1e-4)
