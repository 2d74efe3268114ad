"""ncnn models (a ``.param`` graph and its ``.bin`` weights) read into this plugin's PyTorch layouts.

ncnn (Tencent's inference framework) stores a network as two files. The ``.param`` text
holds the magic ``7767517``, the layer and blob counts, then one line per layer::

    Convolution  Conv_0  1 1 data 703  0=64 1=3 4=1 5=1 6=1728 9=2 -23310=1,2.000000e-01
    (type)       (name)  (inputs outputs) (blob names) (key=value; key -23300-k: array k, "count,v1,...")

The ``.bin`` concatenates each weighted layer's arrays in layer order: a Convolution's
weights with a 4-byte tag (``0x01306B47``: float16, padded to 4 bytes; ``0``: raw float32;
int8 and quantised tables are refused), then its bias as raw float32; a PReLU's slopes as
raw float32. float16 is unpacked to float32 exactly (every float16 is a float32).

:func:`convert` maps the graph of the published Real-ESRGAN / RealSR conversions onto
:class:`~zoo_superres.rrdbnet.RRDBNet` or :class:`~zoo_superres.srvgg.SRVGGNetCompact` key
for key, refusing any layer type or option outside the set these models use (the error names
the layer). The mapping follows the graph's execution order and is then proven: the module
with the converted weights and :func:`run_graph` (the ``.param`` graph executed op by op with
torch) must agree on a probe input, so a wiring the layouts do not share cannot load.

Networks: ESRGAN / Real-ESRGAN RRDBNet (Wang et al., ECCVW 2018, arXiv:1809.00219; ICCVW 2021,
arXiv:2107.10833), RealSR (Ji et al., CVPRW 2020, arXiv:2005.01996, the same RRDBNet),
SRVGGNetCompact (Real-ESRGAN v3).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zoo.errors import WeightsError

MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_INT8 = 0x000D4B38
TAG_FP32_SCALED = 0x0002C056
#: layer types (and only those) the converter and :func:`run_graph` understand
KNOWN = ("Input", "Split", "Concat", "Convolution", "PReLU", "Eltwise", "BinaryOp", "Interp", "PixelShuffle")
INTERP_MODES = {1: "nearest", 3: "bicubic"}


@dataclass(frozen=True)
class Layer:
    """One ``.param`` line: type, name, input and output blob names, and its ``key=value`` options."""

    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[int, Any]
    line: int

    def get(self, key: int, default: Any = 0) -> Any:
        return self.params.get(key, default)


@dataclass
class Graph:
    """A parsed ncnn model: its layers in file order and each weighted layer's float32 arrays."""

    layers: list[Layer]
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    param_path: Path | None = None

    def of_type(self, kind: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.type == kind]


def _value(text: str) -> int | float:
    return float(text) if re.search(r"[.eE]", text) else int(text)


def read_param(path: str | Path) -> list[Layer]:
    """Parse a text ``.param`` file (CRLF or LF line ends).

    Raises:
        WeightsError: not an ncnn text graph (magic, counts or a malformed line; names the line).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read an ncnn .param text graph ({exc}); binary .param.bin files are not supported") from exc
    rows = [(i + 1, ln.split()) for i, ln in enumerate(lines) if ln.strip()]
    if len(rows) < 2 or rows[0][1] != [str(MAGIC)]:
        raise WeightsError(f"{path}: not an ncnn .param file (the first line must be the magic {MAGIC})")
    try:
        n_layers, _n_blobs = (int(v) for v in rows[1][1])
    except ValueError:
        raise WeightsError(f"{path}: line 2 must be '<layer count> <blob count>'") from None
    layers = []
    for lineno, tok in rows[2:]:
        try:
            kind, name, nin, nout = tok[0], tok[1], int(tok[2]), int(tok[3])
            ins, outs = tuple(tok[4:4 + nin]), tuple(tok[4 + nin:4 + nin + nout])
            params: dict[int, Any] = {}
            for kv in tok[4 + nin + nout:]:
                key_s, val = kv.split("=", 1)
                key = int(key_s)
                if key <= -23300:  # an array option: -23300-k=count,v1,v2,...
                    count, *vals = val.split(",")
                    if int(count) != len(vals):
                        raise ValueError(f"array option {key_s} announces {count} values, has {len(vals)}")
                    params[-23300 - key] = tuple(_value(v) for v in vals)
                else:
                    params[key] = _value(val)
        except (ValueError, IndexError) as exc:
            raise WeightsError(f"{path}:{lineno}: malformed layer line ({exc}): {' '.join(tok)[:120]}") from None
        if len(ins) != nin or len(outs) != nout:
            raise WeightsError(f"{path}:{lineno}: layer {name!r} lists fewer blobs than its counts say")
        layers.append(Layer(kind, name, ins, outs, params, lineno))
    if len(layers) != n_layers:
        raise WeightsError(f"{path}: the header announces {n_layers} layers, the file has {len(layers)}")
    return layers


class _BinReader:
    def __init__(self, path: Path) -> None:
        self.path, self.data, self.pos = path, path.read_bytes(), 0

    def take(self, n: int, layer: Layer) -> bytes:
        if self.pos + n > len(self.data):
            raise WeightsError(f"{self.path}: ends inside the weights of layer {layer.name!r} ({layer.type}, "
                               f"{self.param_line(layer)}); the .bin does not belong to this .param or is truncated")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def param_line(self, layer: Layer) -> str:
        return f".param line {layer.line}"

    def tagged(self, count: int, layer: Layer) -> np.ndarray:
        """ncnn ``ModelBin::load(w, 0)``: a 4-byte tag, then float16 (padded to 4 bytes) or float32."""
        (tag,) = struct.unpack("<I", self.take(4, layer))
        if tag == TAG_FP16:
            raw = self.take((count * 2 + 3) // 4 * 4, layer)
            return np.frombuffer(raw, dtype="<f2", count=count).astype(np.float32)
        if tag == 0:
            return np.frombuffer(self.take(count * 4, layer), dtype="<f4").copy()
        what = {TAG_INT8: "int8", TAG_FP32_SCALED: "scaled float32"}.get(tag, f"quantised (tag 0x{tag:08X})")
        raise WeightsError(f"{self.path}: layer {layer.name!r} stores {what} weights; only float16 and float32 "
                           f"ncnn models are converted (re-export the model without quantisation)")

    def raw(self, count: int, layer: Layer) -> np.ndarray:
        """ncnn ``ModelBin::load(w, 1)``: ``count`` float32 values, no tag."""
        return np.frombuffer(self.take(count * 4, layer), dtype="<f4").copy()


def read_model(param: str | Path, bin_path: str | Path | None = None) -> Graph:
    """Parse ``param`` and read its weights from ``bin_path`` (default: the same name with ``.bin``).

    Raises:
        WeightsError: an unknown layer type or option (names the layer and its line), a
            quantised model, or a ``.bin`` whose size does not match the graph.
    """
    param = Path(param)
    bin_path = Path(bin_path) if bin_path is not None else param.with_suffix(".bin")
    layers = read_param(param)
    if not bin_path.exists():
        raise WeightsError(f"{param}: its weights file {bin_path} does not exist (an ncnn model is a .param and a .bin "
                           f"of the same name)")
    reader = _BinReader(bin_path)
    graph = Graph(layers, param_path=param)
    for layer in layers:
        if layer.type not in KNOWN:
            raise WeightsError(f"{param}:{layer.line}: layer {layer.name!r} has type {layer.type!r}, which the ncnn "
                               f"converter does not know (it reads {', '.join(KNOWN)})")
        _check_options(param, layer)
        if layer.type == "Convolution":
            n_out, size = layer.get(0), layer.get(6)
            w = reader.tagged(size, layer)
            b = reader.raw(n_out, layer) if layer.get(5) else None
            k = layer.get(1)
            if size % (n_out * k * k):
                raise WeightsError(f"{param}:{layer.line}: layer {layer.name!r}: weight size {size} is not a multiple "
                                   f"of {n_out}x{k}x{k}")
            graph.weights[layer.name] = {"weight": w.reshape(n_out, size // (n_out * k * k), k, k)}
            if b is not None:
                graph.weights[layer.name]["bias"] = b
        elif layer.type == "PReLU":
            graph.weights[layer.name] = {"weight": reader.raw(layer.get(0), layer)}
    left = len(reader.data) - reader.pos
    if left:
        raise WeightsError(f"{bin_path}: {left} bytes left after the last layer's weights; the .bin does not belong "
                           f"to {param.name}")
    return graph


def _check_options(param: Path, layer: Layer) -> None:
    """Refuse options of a known layer type that the converter would silently ignore."""
    def refuse(what: str) -> None:
        raise WeightsError(f"{param}:{layer.line}: layer {layer.name!r} ({layer.type}) uses {what}, which the ncnn "
                           f"converter does not support")

    p = layer.params
    if layer.type == "Convolution":
        k = p.get(1, 0)
        if p.get(11, k) != k or k not in (1, 3) or p.get(2, 1) != 1 or p.get(12, p.get(2, 1)) != 1:
            refuse("a kernel or dilation other than 1x1 / 3x3 undilated")
        if p.get(3, 1) != 1 or p.get(13, p.get(3, 1)) != 1:
            refuse("a stride other than 1")
        if p.get(4, 0) != k // 2 or p.get(14, p.get(4, 0)) != k // 2 or any(p.get(i, p.get(4, 0)) != k // 2 for i in (15, 16)):
            refuse("padding other than 'same'")
        if p.get(8, 0) or p.get(19, 0) or p.get(18, 0.0):
            refuse("int8 scales, dynamic weights or a pad value")
        if p.get(9, 0) not in (0, 1, 2):
            refuse(f"fused activation type {p.get(9)}")
    elif layer.type == "Concat" and p.get(0, 0) != 0:
        refuse(f"concatenation on axis {p.get(0)} (only channels)")
    elif layer.type == "Eltwise" and p.get(0, 1) != 1:
        refuse(f"element-wise operation {p.get(0)} (only sum)")
    elif layer.type == "BinaryOp" and (p.get(0, 0) != 0 or p.get(1, 0)):
        refuse(f"binary operation {p.get(0, 0)}{' with a scalar' if p.get(1, 0) else ''} (only adding two blobs)")
    elif layer.type == "Interp":
        if p.get(0, 0) not in INTERP_MODES or p.get(6, 0) or p.get(3, 0) or p.get(4, 0) or p.get(5, 0):
            refuse("an interpolation other than nearest / bicubic by scale factors without align_corners")
    elif layer.type == "PixelShuffle" and p.get(1, 0) != 0:
        refuse(f"pixel-shuffle mode {p.get(1)} (only mode 0, PyTorch's)")


# -- the graph executed with torch (the proof of a mapping, and a reference for the tests) --------

def _interp(x: torch.Tensor, layer: Layer) -> torch.Tensor:
    mode = INTERP_MODES[layer.get(0)]
    hs, ws = float(layer.get(1, 1.0)), float(layer.get(2, 1.0))
    size = (int(x.shape[-2] * hs), int(x.shape[-1] * ws))
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode="bicubic", align_corners=False)


def run_graph(graph: Graph, x: torch.Tensor) -> torch.Tensor:
    """Execute the graph on ``x`` (N×C×H×W) with torch ops, layer by layer as ncnn would."""
    blobs: dict[str, torch.Tensor] = {}
    last = None
    for layer in graph.layers:
        ins = [blobs[b] for b in layer.inputs]
        t, p = layer.type, layer.params
        if t == "Input":
            out = [x]
        elif t == "Split":
            out = [ins[0]] * len(layer.outputs)
        elif t == "Concat":
            out = [torch.cat(ins, 1)]
        elif t == "Convolution":
            w = graph.weights[layer.name]
            y = F.conv2d(ins[0], torch.from_numpy(w["weight"]).to(x), None if "bias" not in w else
                         torch.from_numpy(w["bias"]).to(x), padding=p.get(1) // 2)
            if p.get(9, 0) == 1:
                y = F.relu(y)
            elif p.get(9, 0) == 2:
                y = F.leaky_relu(y, float(p.get(10, (0.0,))[0]))
            out = [y]
        elif t == "PReLU":
            out = [F.prelu(ins[0], torch.from_numpy(graph.weights[layer.name]["weight"]).to(x))]
        elif t == "Eltwise":
            coeffs = p.get(1, (1.0,) * len(ins))
            out = [sum(c * v for c, v in zip(coeffs, ins))]
        elif t == "BinaryOp":
            out = [ins[0] + ins[1]]
        elif t == "Interp":
            out = [_interp(ins[0], layer)]
        else:  # PixelShuffle
            out = [F.pixel_shuffle(ins[0], p.get(0))]
        for name, v in zip(layer.outputs, out):
            blobs[name] = v
        last = out[-1]
    return last


# -- mapping onto this plugin's layouts -----------------------------------------------------------

@dataclass(frozen=True)
class Converted:
    """A converted ncnn model: the factory and params it fits, its state dict, and which layer fed which key."""

    factory: str
    params: dict
    state: dict[str, torch.Tensor]
    origin: dict[str, str]  # state-dict key -> ncnn layer name


def identify(graph: Graph) -> tuple[str, dict]:
    """(factory, params) of the architecture the graph is, from its layer structure.

    Raises:
        WeightsError: a graph neither an RRDBNet nor an SRVGGNetCompact of the published kinds.
    """
    convs, prelus = graph.of_type("Convolution"), graph.of_type("PReLU")
    shuffles, interps = graph.of_type("PixelShuffle"), graph.of_type("Interp")
    where = graph.param_path or "the graph"
    if graph.of_type("Concat"):  # dense blocks: RRDBNet
        blocks, rest = divmod(len(convs) - 6, 15)
        ups = [i for i in interps if i.get(0) == 1 and float(i.get(1)) == 2.0]
        if rest or blocks < 1 or len(ups) != 2 or shuffles or prelus:
            raise WeightsError(f"{where}: a graph with dense blocks but not an RRDBNet x4 ({len(convs)} convolutions, "
                               f"{len(ups)} x2 upsamplings); only RRDBNet x4 graphs are converted")
        feats, grow = convs[0].get(0), convs[1].get(0)
        return "rrdbnet", {"scale": 4, "blocks": blocks, "feats": feats, "grow": grow}
    if len(shuffles) == 1 and prelus and len(prelus) == len(convs) - 1:
        net_scale = shuffles[0].get(0)
        tail = [i for i in interps if i.get(0) == 3]
        scale = net_scale
        if tail:
            factor = float(tail[-1].get(2, 1.0))
            scale = round(net_scale * factor)
            if abs(net_scale * factor - scale) > 1e-6:
                raise WeightsError(f"{where}: layer {tail[-1].name!r} resizes the x{net_scale} output by {factor}, "
                                   f"which is not an integer scale")
        return "srvgg", {"scale": scale, "net_scale": net_scale, "feats": convs[0].get(0), "convs": len(convs) - 2}
    raise WeightsError(f"{where}: neither an RRDBNet (dense blocks) nor an SRVGGNetCompact (PReLU convs and one pixel "
                       f"shuffle) graph; the ncnn converter maps only these")


def _module(factory: str, params: dict) -> torch.nn.Module:
    if factory == "rrdbnet":
        from zoo_superres.rrdbnet import RRDBNet

        return RRDBNet(**params)
    from zoo_superres.srvgg import SRVGGNetCompact

    return SRVGGNetCompact(**params)


def convert(param: str | Path, bin_path: str | Path | None = None, *, check: bool = True) -> Converted:
    """Read an ncnn model and map it onto this plugin's layout key for key.

    Args:
        param: the ``.param`` text graph; its ``.bin`` is ``bin_path`` or the same name.
        check: run the converted module and the graph on a probe input and require agreement
            (max |diff| <= 1e-4): proves the wiring, not just the shapes.

    Raises:
        WeightsError: unknown layers or options, a shape that does not fit the layout (names
            the layer and the key), or a graph that computes something else than the layout.
    """
    graph = read_model(param, bin_path)
    factory, params = identify(graph)
    with torch.device("meta"):  # shapes only: the graph's arrays replace every tensor (assign=True below)
        module = _module(factory, params)
    expected = module.state_dict()
    arrays: list[tuple[str, str, np.ndarray]] = []  # (layer, array name, values) in execution order
    for layer in graph.layers:
        for name, arr in graph.weights.get(layer.name, {}).items():
            arrays.append((layer.name, name, arr))
    keys = list(expected)
    if len(arrays) != len(keys):
        raise WeightsError(f"{param}: {len(arrays)} weight arrays in the graph, {len(keys)} tensors in the {factory} "
                           f"layout {params}; the graph is another variant")
    state, origin = {}, {}
    for key, (lname, aname, arr) in zip(keys, arrays):
        want = tuple(expected[key].shape)
        if not key.endswith(aname) or arr.size != int(np.prod(want)):
            raise WeightsError(f"{param}: layer {lname!r} ({aname}, {arr.size} values) does not fit {factory} key "
                               f"{key!r} (shape {want}); the graph is another variant of the architecture")
        state[key] = torch.from_numpy(arr.reshape(want).copy())
        origin[key] = lname
    module.load_state_dict(state, strict=True, assign=True)
    if check:
        _prove(graph, module, param)
    return Converted(factory, params, state, origin)


def _prove(graph: Graph, module: torch.nn.Module, param: Any) -> None:
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # an 8x8 probe: thread start-up would dominate (x50 on a loaded 2-core host)
    try:
        with torch.inference_mode():
            want, got = run_graph(graph, x), module.eval()(x)
    finally:
        torch.set_num_threads(threads)
    if want.shape != got.shape or (want - got).abs().max().item() > 1e-4 * (1 + want.abs().max().item()):
        raise WeightsError(f"{param}: the converted weights in {type(module).__name__} do not compute what the graph "
                           f"computes (the layers are wired differently from the layout); not loaded")
