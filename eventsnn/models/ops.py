"""Operations, energy and parameter counts by the published convention.

The SpikingResformer and DA-SSDP papers (and their released `main.py:test()`) report:

- **SOPs** (synaptic operations): for every convolution, linear layer and spike matmul fed
  by spikes, the exact number of accumulates, i.e. every nonzero input element times the
  synapses it really reaches. For a convolution an input at spatial position p reaches
  `C_out / groups` output channels at each output position whose window covers p, so
  inputs on the border reach fewer outputs and zero padding costs nothing:

      SOPs(conv) = C_out/groups * sum_{c,p} [x[c,p] != 0] * prod_d F_d(p_d)

  with `F_d(i)` the number of output positions along spatial axis d whose window covers
  input index i (stride, padding, dilation included). Linear: `nnz(x) * out_features`.
  Matmul `L [.., M, K] @ R [.., K, N]`: `sum_k a_k * b_k` with `a_k` = nonzeros of column
  k of L (M when L is the analog operand) and `b_k` = nonzeros of row k of R (N when R is
  analog). The layers named in `model.skip` (SpikingResformer: the stem conv `prologue.0`
  and the `classifier`) see analog values and are excluded. SOPs are per sample, summed
  over the T time steps, averaged over every evaluated sample.
- **energy_mj** = 0.9 pJ x SOPs (45 nm accumulate energy): the headline number.
- **macs_per_step**: dense multiply-accumulates (output elements x fan-in) of every conv,
  linear layer and matmul, stem and classifier included, per sample and time step.

Beside it, labelled as such, **energy_full_model_mj** = 0.9 pJ x SOPs + 4.6 pJ x the MACs
of the excluded analog-input layers over all T steps (an estimate of the whole network).
Parameter counts: all parameters, and the parameters of conv + linear layers only (what
the papers print: Ti 11.14 M, S 17.76 M, M 35.52 M, L 60.27 M).

Differences from the released code, reported beside the exact numbers (labelled):

- **released_sops**: the released `test()` keeps one SOP record per forward pass, also the
  pass of its thop `profile` on one random image `torch.rand(1, C, H, W)` (repeated T times
  by the model), and prints `mean over records / batch_size` with the nominal batch size:

      released_sops = (sum_b S_b + S_rand) / (n_batches + 1) / batch_size

  (S_b: exact SOPs of batch b summed over its samples). It differs from the exact per-sample
  mean when the last batch is smaller and by the random pass (`released_sops_extra`).
- **macs_per_step_with_bn**: thop (0.1.1, the release's MAC counter) also counts every
  BatchNorm: 2 x elements, x 2 for an affine one, per call; `macs_per_step` leaves BN out.

It sums input values (`conv(x, ones)`), eventsnn counts nonzero inputs: equal for spikes,
and `binary_input` per layer says whether every counted input was 0/1.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from eventsnn.errors import ArgumentError
from eventsnn.models.layers import SpikingMatmul
from eventsnn.utils.distributed import all_reduce_sum

E_MAC_PJ = 4.6
E_SOP_PJ = 0.9
CONVENTION = (
    "SOPs: exact accumulates of every conv/linear/spike matmul fed by spikes (nonzero inputs x "
    "reached synapses; padding costs nothing), layers in model.skip excluded, per sample summed over T, "
    "averaged over the evaluated samples; energy_mj = 0.9 pJ x SOPs; macs_per_step: dense MACs of every "
    "conv/linear/matmul per sample and time step; energy_full_model_mj adds 4.6 pJ x the MACs of the "
    "excluded analog-input layers"
)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


@functools.lru_cache(maxsize=512)
def axis_fan_out(
    size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int
) -> tuple:
    """`F(i)`, i < size: how many output positions along one axis read input index i.

    Output o reads padded indices `o*stride + k*dilation`, k < kernel; the input index is
    that minus `pad_before`; padded positions (outside [0, size)) are not inputs.
    """
    span = dilation * (kernel - 1) + 1
    n_out = (size + pad_before + pad_after - span) // stride + 1
    counts = [0] * size
    for o in range(max(n_out, 0)):
        for k in range(kernel):
            i = o * stride + k * dilation - pad_before
            if 0 <= i < size:
                counts[i] += 1
    return tuple(counts)


def _conv_padding(conv: nn.modules.conv._ConvNd) -> list[tuple[int, int]]:
    """(before, after) zero padding per spatial axis, 'same'/'valid' strings resolved."""
    n = len(conv.kernel_size)
    if conv.padding == "valid":
        return [(0, 0)] * n
    if conv.padding == "same":
        total = [d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size)]
        return [(t // 2, t - t // 2) for t in total]
    return [(int(p), int(p)) for p in conv.padding]


def conv_sops(x: torch.Tensor, conv: nn.modules.conv._ConvNd) -> torch.Tensor:
    """Exact accumulates of `conv` on input `x` `[..., C_in, *spatial]`: int64 scalar tensor.

    Non-zero padding modes (reflect, circular, replicate) are applied to the nonzero mask
    first, since their border positions repeat real inputs.
    """
    n = len(conv.kernel_size)
    nonzero = x != 0
    pads = _conv_padding(conv)
    if conv.padding_mode != "zeros" and any(p for pair in pads for p in pair):
        flat = [p for pair in reversed(pads) for p in pair]
        padded = torch.nn.functional.pad(nonzero.flatten(0, -n - 2).float(), flat, mode=conv.padding_mode)
        nonzero = padded != 0
        pads = [(0, 0)] * n
    counts = nonzero.flatten(0, -n - 1).sum(0, dtype=torch.int64)  # [*spatial]
    for axis in range(n):  # contract the leading spatial axis with its fan-out vector
        size = counts.shape[0]
        fan = axis_fan_out(size, conv.kernel_size[axis], conv.stride[axis], *pads[axis], conv.dilation[axis])
        fan_t = torch.tensor(fan, dtype=torch.int64, device=counts.device)
        # elementwise, not tensordot: CUDA has no int64 matmul
        counts = (fan_t.view(-1, *[1] * (counts.dim() - 1)) * counts).sum(0)
    return counts * (conv.out_channels // conv.groups)


def linear_sops(x: torch.Tensor, linear: nn.Linear) -> torch.Tensor:
    """Exact accumulates of `linear` on `x` `[..., in_features]`: nnz(x) x out_features."""
    return (x != 0).sum(dtype=torch.int64) * linear.out_features


def matmul_sops(left: torch.Tensor, right: torch.Tensor, spike: str) -> torch.Tensor:
    """Exact accumulates of `left [.., M, K] @ right [.., K, N]` (batch dims broadcast).

    `spike` names the spike operand ('l', 'r', 'both'); the other one is analog (dense).
    """
    if spike not in ("l", "r", "both"):
        raise ArgumentError(f"spike must be 'l', 'r' or 'both', got {spike!r}")
    m, n = left.shape[-2], right.shape[-1]
    per_k_left = (left != 0).sum(-2, dtype=torch.int64) if spike in ("l", "both") else None  # [.., K]
    per_k_right = (right != 0).sum(-1, dtype=torch.int64) if spike in ("r", "both") else None  # [.., K]
    long = dict(dtype=torch.int64, device=left.device)
    if per_k_left is None:
        per_k_left = torch.full(left.shape[:-2] + left.shape[-1:], m, **long)
    if per_k_right is None:
        per_k_right = torch.full(right.shape[:-2] + right.shape[-2:-1], n, **long)
    return (per_k_left * per_k_right).sum()


def dense_macs(module: nn.Module, inputs: tuple, out: torch.Tensor) -> int:
    """Dense multiply-accumulates of one call: output elements x fan-in."""
    if isinstance(module, _CONVS):
        fan_in = module.in_channels // module.groups
        for k in module.kernel_size:
            fan_in *= k
        return out.numel() * fan_in
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    return out.numel() * inputs[0].shape[-1]  # matmul: [.., M, K] @ [.., K, N]


def _sops(module: nn.Module, inputs: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """(exact SOPs, all counted inputs binary) of one call of a counted layer."""
    if isinstance(module, SpikingMatmul):
        left, right = inputs
        spikes = [t for t, side in ((left, "l"), (right, "r")) if module.spike in (side, "both")]
        sops = matmul_sops(left, right, module.spike)
    else:
        spikes = [inputs[0]]
        sops = conv_sops(inputs[0], module) if isinstance(module, _CONVS) else linear_sops(inputs[0], module)
    binary = torch.stack([((t == 0) | (t == 1)).all() for t in spikes]).all()
    return sops, binary


def _is_counted(module: nn.Module) -> bool:
    if isinstance(module, _CONVS):
        return not module.transposed
    return isinstance(module, (nn.Linear, SpikingMatmul))


@dataclass
class LayerOps:
    """One counted layer; `sops` per sample (all steps), `macs_per_step` per sample and step."""

    name: str
    kind: str
    analog: bool  # in model.skip: analog input, counted as MACs, no SOPs
    macs_per_step: float
    sops: float
    binary_input: bool | None  # every counted input was 0/1; None for analog layers


@dataclass
class OpsReport:
    """Per-layer counts averaged over `samples` evaluated samples, plus parameter counts."""

    layers: list[LayerOps] = field(default_factory=list)
    samples: int = 0
    time_steps: float = 0.0  # mean T of the counted samples
    params: dict[str, int] = field(default_factory=dict)
    bn_flops_per_step: float = 0.0  # thop's BatchNorm count per sample and step
    released: dict[str, float] = field(default_factory=dict)  # the released script's numbers

    @property
    def totals(self) -> dict[str, float]:
        sops = sum(r.sops for r in self.layers)
        macs = sum(r.macs_per_step for r in self.layers)
        analog_macs = sum(r.macs_per_step for r in self.layers if r.analog) * self.time_steps
        return {
            "sops": float(sops),
            "energy_mj": E_SOP_PJ * sops * 1e-9,
            "macs_per_step": float(macs),
            "macs_per_step_with_bn": float(macs + self.bn_flops_per_step),
            "analog_macs": float(analog_macs),
            "energy_full_model_mj": (E_SOP_PJ * sops + E_MAC_PJ * analog_macs) * 1e-9,
        }

    def to_dict(self) -> dict:
        return {
            "convention": CONVENTION,
            "samples": self.samples,
            "time_steps": self.time_steps,
            "totals": self.totals,
            "params": dict(self.params),
            "layers": [asdict(r) for r in self.layers],
            "constants": {"e_mac_pj": E_MAC_PJ, "e_sop_pj": E_SOP_PJ},
            "released_convention": dict(self.released),
        }


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """`{"all": every parameter, "conv_linear": parameters of conv and linear layers}`."""
    model = getattr(model, "module", model)
    conv_linear = sum(
        p.numel() for m in model.modules() if isinstance(m, (*_CONVS, nn.Linear)) for p in m.parameters(False)
    )
    return {"all": sum(p.numel() for p in model.parameters()), "conv_linear": conv_linear}


class OpsCounter:
    """Counts operations of every forward pass of `model` while `attached()` is active.

    `max_batches` limits counting to the first N forward passes (None: all). The input of
    a pass is `[B, ...]`; its time steps are `x.shape[1]` for `[B, T, C, H, W]` frames,
    else `model.T` (direct encoding repeats an image T times).
    """

    def __init__(self, model: nn.Module, max_batches: int | None = None) -> None:
        if max_batches is not None and max_batches < 1:
            raise ArgumentError(f"max_batches must be >= 1 or None, got {max_batches}")
        self.model = getattr(model, "module", model)  # unwrap DDP
        self.max_batches = max_batches
        self.skip = set(getattr(self.model, "skip", ()))
        self.layers = [(n, m) for n, m in self.model.named_modules() if _is_counted(m)]
        self.batches = 0
        self.samples = 0
        self.sample_steps = 0
        self.active = False
        self.macs = dict.fromkeys((n for n, _ in self.layers), 0)
        self.sops: dict[str, torch.Tensor] = {}
        self.binary: dict[str, torch.Tensor] = {}
        self.batch_sops: list[torch.Tensor] = []  # exact SOPs of each forward pass (all its samples)
        self.bn_flops = 0
        self.bns = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def _begin(self, _module: nn.Module, args: tuple) -> None:
        self.active = self.max_batches is None or self.batches < self.max_batches
        if not self.active:
            return
        x = args[0]
        steps = x.shape[1] if x.dim() == 5 else int(getattr(self.model, "T", 1))
        self.batches += 1
        self.samples += x.shape[0]
        self.sample_steps += x.shape[0] * steps
        self.batch_sops.append(torch.zeros((), dtype=torch.int64))

    def _bn_hook(self, module: nn.Module, inputs: tuple, _out: torch.Tensor) -> None:
        """thop 0.1.1's count of a BatchNorm call: 2 x elements, doubled when affine."""
        if self.active:
            self.bn_flops += inputs[0].numel() * (4 if module.affine else 2)

    def _layer_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, out: torch.Tensor) -> None:
            if not self.active:
                return
            self.macs[name] += dense_macs(module, inputs, out)
            if name in self.skip:
                return
            with torch.no_grad():
                sops, binary = _sops(module, inputs)
            self.sops[name] = self.sops[name] + sops if name in self.sops else sops
            self.batch_sops[-1] = self.batch_sops[-1] + sops.cpu()
            self.binary[name] = self.binary[name] & binary if name in self.binary else binary

        return hook

    @contextlib.contextmanager
    def attached(self) -> Iterator[OpsCounter]:
        handles = [self.model.register_forward_pre_hook(self._begin)]
        handles += [m.register_forward_hook(self._layer_hook(n)) for n, m in self.layers]
        handles += [m.register_forward_hook(self._bn_hook) for m in self.bns]
        try:
            yield self
        finally:
            for h in handles:
                h.remove()
            self.active = False

    def report(self) -> OpsReport:
        """Per-sample averages, summed over DDP ranks first."""
        names = [n for n, _ in self.layers]
        zero = torch.zeros((), dtype=torch.int64)
        sops = torch.stack([self.sops.get(n, zero).cpu() for n in names] or [zero])
        binary = torch.stack([self.binary.get(n, torch.tensor(True)).cpu() for n in names] or [zero.bool()])
        counts = torch.cat(
            [
                torch.tensor([self.samples, self.sample_steps, self.bn_flops], dtype=torch.int64),
                torch.tensor([self.macs[n] for n in names], dtype=torch.int64),
                sops,
                (~binary).to(torch.int64),
            ]
        )
        counts = all_reduce_sum(counts)
        samples, steps, bn_flops = int(counts[0]), int(counts[1]), int(counts[2])
        k = len(names)
        macs, sops, nonbinary = counts[3 : 3 + k], counts[3 + k : 3 + 2 * k], counts[3 + 2 * k : 3 + 3 * k]
        per_sample, per_step = max(samples, 1), max(steps, 1)
        rows = [
            LayerOps(
                name=n,
                kind="matmul" if isinstance(m, SpikingMatmul) else type(m).__name__,
                analog=n in self.skip,
                macs_per_step=float(macs[i]) / per_step,
                sops=0.0 if n in self.skip else float(sops[i]) / per_sample,
                binary_input=None if n in self.skip else bool(nonbinary[i] == 0),
            )
            for i, (n, m) in enumerate(self.layers)
        ]
        return OpsReport(rows, samples, steps / per_sample, parameter_counts(self.model), bn_flops / per_step)

    def batch_totals(self) -> tuple[float, int]:
        """(sum over forward passes of their exact SOPs, number of passes), summed over DDP ranks."""
        both = torch.tensor(
            [int(sum(int(b) for b in self.batch_sops)), len(self.batch_sops)], dtype=torch.int64
        )
        both = all_reduce_sum(both)
        return float(both[0]), int(both[1])


def released_sops(batch_sops_sum: float, n_batches: int, extra_sops: float, batch_size: int) -> float:
    """The SOPs per sample the released `test()` prints: the mean of the n_batches + 1 per-pass
    records (the test batches and thop's random pass) divided by the nominal batch size."""
    if n_batches < 0 or batch_size < 1:
        raise ArgumentError(f"need n_batches >= 0 and batch_size >= 1, got {n_batches}, {batch_size}")
    return (batch_sops_sum + extra_sops) / (n_batches + 1) / batch_size


@torch.no_grad()
def random_pass_sops(model: nn.Module, image_shape: tuple[int, ...], *, seed: int = 0) -> float:
    """Exact SOPs of one forward pass on `torch.rand(1, *image_shape)` (the released thop pass,
    an analog image repeated T times by the model); the generator is seeded."""
    device = next(model.parameters()).device
    x = torch.rand((1, *image_shape), generator=torch.Generator().manual_seed(seed)).to(device)
    total, _ = _counted_pass(model, x).batch_totals()
    return total


@torch.no_grad()
def count_operations(model: nn.Module, sample: torch.Tensor) -> OpsReport:
    """Run `model(sample)` once in eval mode and count its operations per sample."""
    return _counted_pass(model, sample).report()


def _counted_pass(model: nn.Module, x: torch.Tensor) -> OpsCounter:
    """The counter of one `model(x)` in eval mode (the model's training flag is restored)."""
    counter = OpsCounter(model)
    was_training = model.training
    model.eval()
    try:
        with counter.attached():
            model(x)
    finally:
        model.train(was_training)
    return counter


def format_operations(ops: dict) -> str:
    """Printed lines for an `OpsReport.to_dict()`: the headline, then the labelled estimate."""
    t, p = ops["totals"], ops.get("params", {})
    lines = [
        f"  operations (published convention; {ops['samples']} samples, T {ops['time_steps']:g}):",
        f"    SOPs {t['sops']:.4e} per sample   energy {t['energy_mj']:.4g} mJ (0.9 pJ x SOPs)",
        f"    MACs per step {t['macs_per_step']:.4e}",
        f"    full-model estimate {t['energy_full_model_mj']:.4g} mJ "
        f"(+ 4.6 pJ x {t['analog_macs']:.3e} MACs of the analog-input layers)",
    ]
    lines.append(f"    MACs per step with BatchNorm (thop's count) {t['macs_per_step_with_bn']:.4e}")
    rel = ops.get("released_convention") or {}
    if rel:
        diff = 100 * (rel["sops"] / t["sops"] - 1) if t["sops"] else float("nan")
        lines.append(
            f"    released script's SOPs {rel['sops']:.4e} ({diff:+.2f}% vs exact: mean per-batch sum / "
            f"batch size {rel['batch_size']:g}, {rel['batches']:g} batches + 1 random thop pass)"
        )
    if p:
        lines.append(f"    params {p['all'] / 1e6:.2f} M (conv + linear {p['conv_linear'] / 1e6:.2f} M)")
    off = [r["name"] for r in ops.get("layers", []) if r.get("binary_input") is False]
    if off:
        lines.append(f"    note: {len(off)} counted layer(s) saw non-spike inputs, e.g. {off[0]}")
    return "\n".join(lines)
