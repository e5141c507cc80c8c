"""PyTorch reference of the MaskDCPT networks, written for uirgen's tests from the published architecture.

NAFNetBaseline / MaskNAFNetBaseline (MILab-PKU/MaskDCPT basicsr/archs/nafnet_arch.py, mask_nafnet_arch.py)
and the classification decoder PromptIR_NoImg_DC (basicsr/archs/degrad_classify_arch.py), with their
state_dict names; the masked LayerNorm normalises the visible pixels only (gathered, as the released code
does), independently of uirgen's multiply-by-mask emulation. The DCPT trainer's forward hooks on the decoder
stages give the classifier its features.

Arrays travel as <dir>/meta.json {name: shape} plus <dir>/<name>.f32 (raw little-endian float32), never
through uirgen's own weight files, except in the commands that test those files.

Usage: python3 torch_ref.py COMMAND ARGS...  (see main())
"""

import json
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ---------------------------------------------------------------------------------------------
# arrays on disk


def read_arrays(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    out = {}
    for name, shape in meta.items():
        data = np.fromfile(os.path.join(d, name.replace("/", "__") + ".f32"), dtype="<f4")
        out[name] = data.reshape(shape) if shape else data.reshape(())
    return out


def write_arrays(d, arrays):
    os.makedirs(d, exist_ok=True)
    meta = {}
    for name, a in arrays.items():
        a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
        meta[name] = list(a.shape)
        a.tofile(os.path.join(d, name.replace("/", "__") + ".f32"))
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"))


# ---------------------------------------------------------------------------------------------
# NAFNet


def expand_mask(mask, h, w):
    """Cells [b, 1, ch, cw] (bool) repeated to [b, 1, h, w]."""
    return mask.repeat_interleave(h // mask.shape[-2], 2).repeat_interleave(w // mask.shape[-1], 3)


# torch.nn.LayerNorm's default, as MaskDCPT's LayerNorm2d / MaskLayerNorm2d keep it (overridable to show
# that the tests see the difference)
NAF_LN_EPS = float(os.environ.get("NAF_LN_EPS", "1e-5"))


class LayerNorm2d(nn.LayerNorm):
    """Channel LayerNorm of NCHW maps; with a mask, statistics of the visible pixels only, zeros elsewhere."""

    def __init__(self, c, eps=None):
        super().__init__(c, NAF_LN_EPS if eps is None else eps, elementwise_affine=True)

    def forward(self, x, mask=None):
        nhwc = x.permute(0, 2, 3, 1)
        if mask is None:
            return super().forward(nhwc).permute(0, 3, 1, 2)
        keep = expand_mask(mask, x.shape[2], x.shape[3])[:, 0]
        out = torch.zeros_like(nhwc)
        out[keep] = super().forward(nhwc[keep])
        return out.permute(0, 3, 1, 2)


class NAFBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        dw = 2 * c
        self.conv1 = nn.Conv2d(c, dw, 1)
        self.conv2 = nn.Conv2d(dw, dw, 3, padding=1, groups=dw)
        self.conv3 = nn.Conv2d(dw // 2, c, 1)
        self.sca = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dw // 2, dw // 2, 1))
        self.conv4 = nn.Conv2d(c, 2 * c, 1)
        self.conv5 = nn.Conv2d(c, c, 1)
        self.norm1 = LayerNorm2d(c)
        self.norm2 = LayerNorm2d(c)
        self.beta = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = nn.Parameter(torch.zeros(1, c, 1, 1))

    @staticmethod
    def gate(x):
        a, b = x.chunk(2, dim=1)
        return a * b

    def forward(self, inp, mask=None):
        x = self.gate(self.conv2(self.conv1(self.norm1(inp, mask))))
        x = self.conv3(x * self.sca(x))
        if mask is not None:
            x = x * expand_mask(mask, x.shape[2], x.shape[3])
        y = inp + x * self.beta
        x = self.conv5(self.gate(self.conv4(self.norm2(y, mask))))
        return y + x * self.gamma


class Blocks(nn.Module):
    def __init__(self, c, n):
        super().__init__()
        self.blocks = nn.ModuleList([NAFBlock(c) for _ in range(n)])

    def forward(self, x, mask=None):
        for b in self.blocks:
            x = b(x, mask)
        return x


class NAFNetBaseline(nn.Module):
    def __init__(self, img_channel=3, width=16, middle_blk_num=1, enc_blk_nums=(), dec_blk_nums=()):
        super().__init__()
        self.intro = nn.Conv2d(img_channel, width, 3, padding=1)
        self.ending = nn.Conv2d(width, img_channel, 3, padding=1)
        # registration order as in the released class (it fixes the state_dict's order)
        self.encoders = nn.ModuleList()
        self.middle_blks = nn.ModuleList()
        self.ups = nn.ModuleList()
        self.downs = nn.ModuleList()
        chan = width
        for n in enc_blk_nums:
            self.encoders.append(Blocks(chan, n))
            self.downs.append(nn.Conv2d(chan, 2 * chan, 2, 2))
            chan *= 2
        self.middle_blks = Blocks(chan, middle_blk_num)
        self.n_dec = len(dec_blk_nums)
        for i, n in enumerate(dec_blk_nums):
            self.ups.append(nn.Sequential(nn.Conv2d(chan, 2 * chan, 1, bias=False), nn.PixelShuffle(2)))
            chan //= 2
            setattr(self, f"decoder{i}", Blocks(chan, n))

    def forward(self, inp, mask=None):
        """mask: cells [b, 1, h/window, w/window] (bool) or None."""
        if mask is not None:
            inp = inp * expand_mask(mask, inp.shape[2], inp.shape[3])
        x = self.intro(inp)
        if mask is not None:
            x = x * expand_mask(mask, x.shape[2], x.shape[3])
        skips = []
        for enc, down in zip(self.encoders, self.downs):
            x = enc(x, mask)
            skips.append(x)
            x = down(x)
        x = self.middle_blks(x, mask)
        for i, (up, skip) in enumerate(zip(self.ups, skips[::-1])):
            x = getattr(self, f"decoder{i}")(up(x) + skip, mask)
        return self.ending(x) + inp


# ---------------------------------------------------------------------------------------------
# PromptIR_NoImg_DC


class ChannelsFirstLN(nn.Module):
    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * ((x - u) / torch.sqrt(s + self.eps)) + self.bias[:, None, None]


class ConvNorm(nn.Conv2d):
    def __init__(self, cin, cout, k):
        super().__init__(cin, cout, k, padding=k // 2, bias=False)
        self.norm = ChannelsFirstLN(cout)

    def forward(self, x):
        return self.norm(super().forward(x))


class Bottleneck(nn.Module):
    def __init__(self, c, inner):
        super().__init__()
        self.conv1 = ConvNorm(c, inner, 1)
        self.conv2 = ConvNorm(inner, inner, 3)
        self.conv3 = ConvNorm(inner, c, 1)

    def forward(self, x):
        return F.relu(self.conv3(F.relu(self.conv2(F.relu(self.conv1(x))))) + x)


class PromptIRNoImgDC(nn.Module):
    def __init__(self, feature_dims, num_res_blocks=2, num_classes=3):
        super().__init__()
        stage = lambda d: nn.Sequential(*[Bottleneck(d, int(d * 2)) for _ in range(num_res_blocks)])
        self.bottleneck_layers = nn.ModuleList([stage(d) for d in feature_dims])
        self.downsample_layers = nn.ModuleList(
            [
                nn.Sequential(nn.Conv2d(d, feature_dims[min(l + 1, len(feature_dims) - 1)], 1, bias=False), nn.MaxPool2d(2, 2), nn.ReLU())
                for l, d in enumerate(feature_dims)
            ]
        )
        self.last_stage = stage(feature_dims[-1])
        self.mixing_weights = nn.Parameter(torch.ones(len(feature_dims)))
        self.fc = nn.Linear(feature_dims[-1], num_classes)

    def forward(self, features):
        w = F.softmax(self.mixing_weights, dim=0)
        x = 0
        for i, f in enumerate(features):
            x = self.downsample_layers[i](self.bottleneck_layers[i](x + w[i] * f))
        return self.fc(self.last_stage(x).mean(dim=[-1, -2]))


def hooked_decoder_features(net, run):
    """Run `run()` with forward hooks on the decoder stages, as DCPTModel hooks them; full resolution first."""
    outs = []
    hooks = [getattr(net, f"decoder{i}").register_forward_hook(lambda m, i, o: outs.append(o)) for i in range(net.n_dec)]
    try:
        result = run()
    finally:
        for h in hooks:
            h.remove()
    return result, outs[::-1]


# ---------------------------------------------------------------------------------------------
# uirgen layouts -> PyTorch, by parameter name (independent of uirgen's own layout code)


def uirgen_to_torch(name, a, torch_shape):
    if len(torch_shape) == 4 and torch_shape[2:] == (1, 1) and a.ndim == 2:  # 1x1 convs stored [in, out]
        w = a.T
        if re.match(r"ups\.\d+\.0\.weight$", name):  # output channel (i*2+j)*c + k  ->  k*4 + i*2 + j
            c = w.shape[0] // 4
            w = w.reshape(4, c, -1).transpose(1, 0, 2).reshape(4 * c, -1)
        return w.reshape(torch_shape)
    if a.ndim == 4 and a.shape[3] == 1 and torch_shape[1] == 1 and torch_shape[0] != 1:  # depthwise [k,k,c,1]
        return a.transpose(2, 3, 0, 1)
    if a.ndim == 4:  # [k, k, in, out]
        return a.transpose(3, 2, 0, 1)
    if a.ndim == 2:  # linear [in, out]
        return a.T
    return a.reshape(torch_shape)


def load_uirgen(module, arrays, prefix=""):
    sd = {}
    for name, p in module.state_dict().items():
        sd[name] = torch.from_numpy(np.ascontiguousarray(uirgen_to_torch(name, arrays[prefix + name], tuple(p.shape))))
    module.load_state_dict(sd, strict=True)


# ---------------------------------------------------------------------------------------------
# commands


def net_from(cfg):
    return NAFNetBaseline(3, cfg["width"], cfg["middleBlocks"], cfg["encBlocks"], cfg["decBlocks"])


def cmd_arch(d):
    """d/config.json, d/in (weights in uirgen layouts, 'lq', 'cells'); writes d/out."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    a = read_arrays(os.path.join(d, "in"))
    net = net_from(cfg)
    load_uirgen(net, a)
    dims = [cfg["width"] * 2**l for l in range(len(cfg["encBlocks"]))]
    dc = PromptIRNoImgDC(dims, cfg["clsBlocks"], len(cfg["classes"]))
    load_uirgen(dc, a, "dc.")
    lq = torch.from_numpy(a["lq"]).permute(0, 3, 1, 2)
    mask = torch.from_numpy(a["cells"]).permute(0, 3, 1, 2) > 0.5 if "cells" in a else None
    out = {}
    with torch.no_grad():
        restored, feats = hooked_decoder_features(net, lambda: net(lq, mask))
        out["restored"] = restored.permute(0, 2, 3, 1).numpy()
        for l, f in enumerate(feats):
            out[f"level{l}"] = f.permute(0, 2, 3, 1).numpy()
        out["logits"] = dc(feats).numpy()
    write_arrays(os.path.join(d, "out"), out)
    names = list(net.state_dict().keys()) + ["dc." + k for k in dc.state_dict().keys()]
    json.dump(names, open(os.path.join(d, "out", "names.json"), "w"))


def cmd_count(path):
    """Parameter counts of NAFNetBaseline for the configs in a JSON list."""
    cfgs = json.load(open(path))
    print(json.dumps([sum(p.numel() for p in net_from(c).parameters()) for c in cfgs]))


def read_safetensors_by_hand(path):
    """A safetensors file parsed with json + numpy (the safetensors package is not needed)."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    sd = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", info
        b, e = info["data_offsets"]
        sd[name] = torch.from_numpy(np.frombuffer(raw[base + b : base + e], dtype="<f4").copy().reshape(info["shape"]))
    return sd, meta


def write_safetensors_by_hand(path, sd, meta):
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, t in sd.items():
        b = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def run_image(net, image_path, out_dir):
    a = read_arrays(image_path)
    x = torch.from_numpy(a["image"]).permute(0, 3, 1, 2)
    with torch.no_grad():
        y = net(x)
    write_arrays(out_dir, {"restored": y.permute(0, 2, 3, 1).numpy()})


def cmd_load(weights, export_json, key, image_dir, out_dir):
    """Load uirgen's export strictly into NAFNetBaseline and restore the image."""
    opts = json.load(open(export_json))["network_g"]
    net = NAFNetBaseline(**{k: v for k, v in opts.items() if k != "type"})
    if weights.endswith(".safetensors"):
        sd, meta = read_safetensors_by_hand(weights)
        print(json.dumps({"metadata": meta}))
    else:
        ckpt = torch.load(weights, map_location="cpu")
        print(json.dumps({"keys": sorted(ckpt.keys())}))
        sd = ckpt[key]
    net.load_state_dict(sd, strict=True)
    net.eval()
    run_image(net, image_dir, out_dir)


def megvii_name(name):
    name = re.sub(r"^encoders\.(\d+)\.blocks\.(\d+)\.", r"encoders.\1.\2.", name)
    name = re.sub(r"^middle_blks\.blocks\.(\d+)\.", r"middle_blks.\1.", name)
    return re.sub(r"^decoder(\d+)\.blocks\.(\d+)\.", r"decoders.\1.\2.", name)


def cmd_make(cfg_json, out_dir, image_dir):
    """Random NAFNet weights saved as .pth (params + params_ema, and a megvii-named bare state dict) and
    .safetensors; the restored image with the EMA set."""
    cfg = json.load(open(cfg_json))
    torch.manual_seed(7)
    live, ema = net_from(cfg), net_from(cfg)
    with torch.no_grad():
        for net in (live, ema):
            for name, p in net.named_parameters():
                if name.endswith(("beta", "gamma")) or "norm" in name:
                    p.copy_(torch.randn_like(p) * 0.5 + (1.0 if "norm" in name and name.endswith("weight") else 0.0))
    os.makedirs(out_dir, exist_ok=True)
    torch.save({"params": live.state_dict(), "params_ema": ema.state_dict()}, os.path.join(out_dir, "basicsr.pth"))
    torch.save({megvii_name(k): v for k, v in ema.state_dict().items()}, os.path.join(out_dir, "megvii.pth"))
    write_safetensors_by_hand(os.path.join(out_dir, "ema.safetensors"), ema.state_dict(), {"format": "pt"})
    ema.eval()
    run_image(ema, image_dir, os.path.join(out_dir, "restored"))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"arch": cmd_arch, "count": cmd_count, "load": cmd_load, "make": cmd_make}[cmd](*args)


if __name__ == "__main__":
    main()
