#!/usr/bin/env python3
"""MaskDCPT pre-training in PyTorch on a uirgen dataset, as a cross-check of how fast the released
architecture learns to classify degradations (docs/maskdcpt.md, "Learning at small scale").

The network is test/support/torch_ref.py's, written from MILab-PKU/MaskDCPT (NAFNetBaseline with masked
blocks, PromptIR_NoImg_DC on the decoder stages' outputs; PyTorch's default initialisation except the
classifier's bottleneck convs, which get detectron2's MSRA fill as released); the recipe is
uirgen pretrain's defaults: mask 0.5 in 16 px cells, L1 + focal (gamma 2), AdamW 1e-3 (0.9, 0.99) with weight
decay 1e-4, 5% linear warm-up then cosine to 1e-7, random 64 px crops with flips and rotations.
Prints one JSON line: training accuracy over the last 20 / 50 steps, accuracy on the centre crops of --val
(unmasked) and its confusion matrix (rows: true type, columns: predicted, in --types order).

Controls, each a departure from the released network, to find what limits its learning:
  --l1 0                  classification only (no reconstruction loss)
  --head pooled           each decoder stage's spatial mean and standard deviation into one linear layer,
                          instead of PromptIR_NoImg_DC
  --classifier-norm bn    PromptIR_NoImg_DC with BatchNorm where the released code has a per-pixel LayerNorm
  --model cnn-bn          no restoration network: a 4-layer CNN with BatchNorm classifies the LQ image
                          (a yardstick of how separable the types are in --steps steps)

  python3 scripts/maskdcpt-learning-torch.py TRAIN_DS VAL_DS [--types GN,MB,J,H,RS,LL] [--steps 300]
      [--batch 8] [--width 16] [--mask 0.5] [--gamma 2] [--lr 1e-3] [--seed 0]
      [--l1 1] [--head released|pooled] [--classifier-norm ln|bn] [--model maskdcpt|cnn-bn]

Needs torch, numpy and PIL (Debian: python3-torch python3-numpy python3-pil).
"""
import argparse, io, json, math, os, sqlite3, sys
import numpy as np, torch, torch.nn.functional as F
from PIL import Image
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "support"))
import torch_ref as R

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("train"); ap.add_argument("val")
ap.add_argument("--types", default="GN,MB,J,H,RS,LL")
ap.add_argument("--steps", type=int, default=300); ap.add_argument("--batch", type=int, default=8)
ap.add_argument("--width", type=int, default=16); ap.add_argument("--mask", type=float, default=0.5)
ap.add_argument("--gamma", type=float, default=2.0); ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--seed", type=int, default=0); ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--l1", type=float, default=1.0); ap.add_argument("--head", choices=["released", "pooled"], default="released")
ap.add_argument("--classifier-norm", choices=["ln", "bn"], default="ln")
ap.add_argument("--model", choices=["maskdcpt", "cnn-bn"], default="maskdcpt")
a = ap.parse_args()
torch.set_num_threads(a.threads)
opt = {k: v for k, v in vars(a).items() if k not in ("train", "val", "threads")}
CLASSES = a.types.split(",")
def load(ds):
    db = sqlite3.connect(f"{ds}/manifest.sqlite")
    out = []
    for key, typ, shard, og, ol in db.execute("select key, type, shard, offset_gt, offset_lq from samples order by key"):
        if typ not in CLASSES:
            continue
        with open(f"{ds}/shards/{shard}", "rb") as f:
            def member(off):
                f.seek(off - 512); h = f.read(512); size = int(h[124:136].split(b"\0")[0].strip() or b"0", 8)
                return np.asarray(Image.open(io.BytesIO(f.read(size))).convert("RGB"), dtype=np.float32) / 255
            out.append((member(og), member(ol), CLASSES.index(typ)))
    return out
train, val = load(a.train), load(a.val)
torch.manual_seed(a.seed); rng = np.random.default_rng(a.seed)
W, NC = a.width, len(CLASSES)
class PooledHead(torch.nn.Module):
    def __init__(self, dims):
        super().__init__(); self.fc = torch.nn.Linear(2 * sum(dims), NC)
    def forward(self, feats):
        return self.fc(torch.cat([torch.cat([f.mean([-1, -2]), f.std([-1, -2])], 1) for f in feats], 1))
def cnn_bn():
    nn, ch, layers = torch.nn, [3, 16, 32, 64, 64], []
    for i in range(4):
        layers += [nn.Conv2d(ch[i], ch[i + 1], 3, padding=1, stride=1 if i == 0 else 2), nn.BatchNorm2d(ch[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch[-1], NC))
if a.model == "cnn-bn":
    net, dc = None, cnn_bn()
else:
    net = R.NAFNetBaseline(3, W, 1, [1, 1, 1], [1, 1, 1])
    dc = R.PromptIRNoImgDC([W, 2 * W, 4 * W], 2, NC) if a.head == "released" else PooledHead([W, 2 * W, 4 * W])
    for m in dc.modules():  # detectron2's BottleneckBlock initialises its convs with c2_msra_fill
        if isinstance(m, R.Bottleneck):
            for conv in (m.conv1, m.conv2, m.conv3): torch.nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    if a.classifier_norm == "bn":
        for m in dc.modules():
            if isinstance(m, R.ConvNorm): m.norm = torch.nn.BatchNorm2d(m.out_channels)
params = list(dc.parameters()) + ([] if net is None else list(net.parameters()))
def classify(x, mask):
    """(restored or None, logits)"""
    if net is None: return None, dc(x)
    restored, feats = R.hooked_decoder_features(net, lambda: net(x, mask))
    return restored, dc(feats)
steps, B, P, lr = a.steps, a.batch, 64, a.lr
warm = max(1, int(steps * 0.05))
o = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.99), weight_decay=1e-4)
sched = lambda s: lr * (s + 1) / warm if s < warm else 1e-7 + 0.5 * (lr - 1e-7) * (1 + math.cos(math.pi * (s - warm) / (steps - warm)))
ratio, gamma = a.mask, a.gamma
def batch():
    idx = rng.integers(0, len(train), B); lq, gt, y = [], [], []
    for i in idx:
        g, l, c = train[i]; x0, y0 = rng.integers(0, g.shape[1] - P + 1), rng.integers(0, g.shape[0] - P + 1)
        k, flip = rng.integers(0, 4), rng.integers(0, 2)
        def t(a):
            a = a[y0:y0 + P, x0:x0 + P]; a = np.rot90(a, k); return a[:, ::-1] if flip else a
        gt.append(t(g).copy()); lq.append(t(l).copy()); y.append(c)
    f = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).contiguous()
    return f(lq), f(gt), torch.tensor(y)
accs, recs = [], []
for s in range(steps):
    for g in o.param_groups: g["lr"] = sched(s)
    lq, gt, y = batch()
    mask = None
    if ratio > 0 and net is not None:
        keep = round(16 * (1 - ratio)); m = torch.zeros(B, 16, dtype=torch.bool)
        for b in range(B): m[b, torch.randperm(16)[:keep]] = True
        mask = m.view(B, 1, 4, 4)
    restored, logits = classify(lq, mask)
    ce = F.cross_entropy(logits, y, reduction="none"); p = torch.exp(-ce)
    loss = ((1 - p) ** gamma * ce).mean()
    if restored is not None and a.l1 > 0:
        rec = F.l1_loss(restored, gt); loss = loss + a.l1 * rec; recs.append(rec.item())
    o.zero_grad(); loss.backward(); o.step()
    accs.append((logits.argmax(1) == y).float().mean().item())
right, conf = 0, np.zeros((NC, NC), int)
dc.eval()
if net is not None: net.eval()
with torch.no_grad():
    for g, l, c in val:
        y0, x0 = (l.shape[0] - P) // 2, (l.shape[1] - P) // 2
        x = torch.from_numpy(l[y0:y0 + P, x0:x0 + P].copy()).permute(2, 0, 1)[None]
        pr = classify(x, None)[1].argmax(1).item(); conf[c, pr] += 1; right += pr == c
norms = sorted({type(m).__name__ for m in dc.modules() if isinstance(m, (R.ChannelsFirstLN, torch.nn.BatchNorm2d))})
print(json.dumps({"opt": opt, "params": sum(p.numel() for p in params), "classifier_norms": norms,
                  "rec_last20": round(float(np.mean(recs[-20:])), 4) if recs else None, "acc_last20": round(float(np.mean(accs[-20:])), 3), "acc_last50": round(float(np.mean(accs[-50:])), 3), "val_acc": round(right / len(val), 3), "confusion": " | ".join(" ".join(map(str, r)) for r in conf)}))
