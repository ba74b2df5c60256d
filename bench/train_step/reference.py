"""The PyTorch eager reference of one cir training step: torchvision
ResNet-50 (layer4 at stride 1) + a torch.nn RoBERTa-base (Embedding,
LayerNorm, post-norm TransformerEncoderLayer with exact GELU) + the CoSMo
compositor written with batched heads, the reference augmenter and L_u,
γ mixing, and SGD (momentum 0.9, weight decay 5e-5, text at 0.01× lr).
Precision as cir's train.precision (workers/precision.hpp): fp32; tf32 (the
TF32 switches of cuBLAS and cuDNN on, off otherwise); bf16 (forward passes
under autocast to bfloat16, float32 weights, features, loss and optimiser).
On CUDA every step ends with a synchronisation; warm-up steps are not timed.
--compile times torch.compile(model) instead of eager; its first call (the
compilation) is timed apart, and a model that does not compile prints nan.
Prints one line: "seconds_per_step_median forward_gflop compile_seconds"
(compile_seconds 0 without --compile).
Usage: reference.py --batch B --size S --tokens L --steps N --threads T
       [--warmup W] [--device cpu|cuda] [--precision fp32|tf32|bf16] [--compile]"""
import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

FLOPS = []  # forward multiply-adds ×2 of the convolutions, linears and attention products
COUNTING = True  # during the first (eager) step only; torch.compile then sees no side effects


def count_matmul(m, k, n):
    if COUNTING:
        FLOPS.append(2 * m * k * n)


def conv_hook(module, inputs, output):
    kh, kw = module.kernel_size
    count_matmul(output.numel(), module.in_channels // module.groups * kh * kw, 1)


def linear_hook(module, inputs, output):
    count_matmul(output.numel() // module.out_features, module.in_features, module.out_features)


class EqualLinear(nn.Module):
    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.linear = nn.Module()
        self.linear.weight_orig = nn.Parameter(torch.randn(fan_out, fan_in))
        self.linear.bias = nn.Parameter(torch.zeros(fan_out))
        self.scale = math.sqrt(2.0 / fan_in)

    def forward(self, x):
        count_matmul(x.shape[0], self.linear.weight_orig.shape[1], self.linear.weight_orig.shape[0])
        return F.linear(x, self.linear.weight_orig * self.scale, self.linear.bias)


class AttentionModule(nn.Module):
    def __init__(self, c, text, heads):
        super().__init__()
        self.heads = heads
        self.merge = nn.Conv2d(c + text, c, 1, bias=False)
        self.W_v = nn.Conv2d(c, c, 1, bias=False)
        self.W_r = nn.Conv2d(c, c, 1)
        self.W_q = nn.Conv2d(c, c, 1, bias=False)
        self.W_k = nn.Conv2d(c, c, 1, bias=False)
        self.W_t = nn.Linear(text, c)

    def forward(self, x, t):
        b, c, h, w = x.shape
        n, d = h * w, c // self.heads
        tiled = t[:, :, None, None].expand(-1, -1, h, w)
        v = self.W_v(self.merge(torch.cat([x, tiled], 1))).view(b, self.heads, d, n)
        q = self.W_q(x).view(b, self.heads, d, n)
        k = self.W_k(x).view(b, self.heads, d, n)
        self_map = torch.softmax(q.transpose(2, 3) @ k / math.sqrt(d), -1)
        text_map = torch.softmax(self.W_t(t).view(b, self.heads, 1, d) @ x.reshape(b, self.heads, d, n) / math.sqrt(d), -1)
        out = (v @ (self_map + text_map).transpose(2, 3)).reshape(b, c, h, w)
        count_matmul(b * self.heads * n, d, n)  # q·k
        count_matmul(b * self.heads, d, n)      # text·x
        count_matmul(b * self.heads * d, n, n)  # v·map
        return self.W_r(out)


class GlobalStyler(nn.Module):
    def __init__(self, c, text):
        super().__init__()
        self.c = c
        self.global_transform = EqualLinear(text, 2 * c)
        self.gate = EqualLinear(text, 2 * c)
        with torch.no_grad():
            self.global_transform.linear.bias[:c] = 1

    def forward(self, o, x, t):
        c = self.c
        flat = x.detach().flatten(2)
        mean, std = flat.mean(2)[:, :, None, None], flat.std(2, unbiased=False)[:, :, None, None]
        g = torch.sigmoid(self.gate(t))[:, :, None, None]
        s = self.global_transform(t)[:, :, None, None]
        return (g[:, :c] * std + s[:, :c]) * o + (g[:, c:] * mean + s[:, c:])


class Compositor(nn.Module):
    def __init__(self, c, text, heads):
        super().__init__()
        self.att_module = AttentionModule(c, text, heads)
        self.att_module2 = AttentionModule(c, text, heads)
        self.global_styler = GlobalStyler(c, text)
        self.weights = nn.Parameter(torch.ones(2))

    def forward(self, x, t):
        n = F.instance_norm(x, eps=1e-5)
        o1 = n + self.weights[0] * self.att_module(n, t)
        o2 = o1 + self.weights[1] * self.att_module2(o1, t)
        return self.global_styler(o2, x, t)


class Roberta(nn.Module):
    def __init__(self, vocab=50265, hidden=768, layers=12, heads=12, ffn=3072, positions=514, pad=1):
        super().__init__()
        self.pad, self.heads = pad, heads
        self.word = nn.Embedding(vocab, hidden, padding_idx=pad)
        self.pos = nn.Embedding(positions, hidden, padding_idx=pad)
        self.token_type = nn.Embedding(1, hidden)
        self.norm = nn.LayerNorm(hidden, eps=1e-5)
        self.drop = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(hidden, heads, ffn, dropout=0.1, activation="gelu", layer_norm_eps=1e-5,
                                           batch_first=True)
        self.layers = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.hidden, self.n_layers = hidden, layers

    def forward(self, ids, mask):
        keep = ids.ne(self.pad).long()
        positions = torch.cumsum(keep, 1) * keep + self.pad
        x = self.drop(self.norm(self.word(ids) + self.pos(positions) + self.token_type(torch.zeros_like(ids))))
        b, l, h = ids.shape[0], ids.shape[1], self.hidden
        # Per layer, besides the hooked feed-forward Linears: the q, k, v and
        # output projections and the two attention products (MultiheadAttention
        # uses its weights directly, so no hook sees them).
        count_matmul(self.n_layers, 1, b * l * h * 4 * h + 2 * b * l * l * h)
        return self.layers(x, src_key_padding_mask=mask.eq(0))[:, 0]


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        resnet = torchvision.models.resnet50()
        resnet.layer4[0].conv2.stride = (1, 1)
        resnet.layer4[0].downsample[0].stride = (1, 1)
        self.lower = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool,
                                   resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)
        self.fc = nn.Linear(2048, 512)
        self.roberta = Roberta()
        self.text_head = nn.Sequential(nn.BatchNorm1d(768), nn.Linear(768, 512))
        self.compositor = Compositor(2048, 512, 8)

    def upper(self, x):
        return F.normalize(self.fc(x.mean((2, 3))), dim=1) * 4.0

    def forward(self, reference, ids, mask, target):
        fs = self.upper(self.compositor(self.lower(reference), self.text_head(self.roberta(ids, mask))))
        return fs, self.upper(self.lower(target))


def info_nce(fs, ft):
    return F.cross_entropy(fs @ ft.t(), torch.arange(fs.shape[0], device=fs.device))


def total_loss(fs, ft, gamma, gen):
    mean, std = ft.mean(1, keepdim=True), ft.std(1, keepdim=True)
    normalised = (ft - mean) / torch.sqrt(ft.var(1, unbiased=False, keepdim=True) + 1e-5)
    eps = torch.randn(2, *ft.shape, generator=gen).to(ft.device)  # drawn on the CPU, as cir's model/losses.cpp
    hat = (1 + std.detach() * eps[0]) * normalised + (mean.detach() + std.detach() * eps[1])
    s = hat.std()
    u = 0.5 * (torch.exp(-s) * info_nce(fs, hat) + s)
    return gamma * u + (1 - gamma) * info_nce(fs, ft)


def main():
    global COUNTING
    parser = argparse.ArgumentParser()
    for name, default in (("batch", 8), ("size", 224), ("tokens", 32), ("steps", 3), ("threads", 2), ("warmup", 1)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", choices=("fp32", "tf32", "bf16"), default="fp32")
    parser.add_argument("--compile", action="store_true", help="time torch.compile(model) instead of eager")
    args = parser.parse_args()
    if args.warmup < 1:
        parser.error("--warmup must be at least 1 (the first step counts the FLOPs)")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but this PyTorch sees no GPU")
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.set_num_threads(args.threads)
    tf32 = args.precision == "tf32"  # as cir's apply_matmul_precision: on for tf32, off otherwise
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    bf16 = args.precision == "bf16"
    torch.manual_seed(0)
    model = Model().train().to(device)
    text_params = list(model.roberta.parameters())
    text_ids = {id(p) for p in text_params}
    rest = [p for p in model.parameters() if id(p) not in text_ids]
    optimiser = torch.optim.SGD([{"params": rest}, {"params": text_params, "lr": 0.04 * 0.01}], lr=0.04,
                                momentum=0.9, weight_decay=5e-5)
    b = args.batch
    reference, target = torch.randn(b, 3, args.size, args.size), torch.randn(b, 3, args.size, args.size)
    ids = torch.randint(3, 50265, (b, args.tokens))
    mask = torch.ones_like(ids)
    for i in range(b):  # captions of different lengths: <s> … </s> then padding
        n = args.tokens - (i * 3) % (args.tokens // 2)
        ids[i, 0], ids[i, n - 1] = 0, 2
        ids[i, n:], mask[i, n:] = 1, 0
    reference, target, ids, mask = (t.to(device) for t in (reference, target, ids, mask))
    gen = torch.Generator().manual_seed(0)
    gamma = math.exp(-1.0 / 60)
    forward = model

    def step():
        optimiser.zero_grad()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            fs, ft = forward(reference, ids, mask, target)
        # The loss and the augmenter's statistics in float32 whatever the precision.
        total_loss(fs.float(), ft.float(), gamma, gen).backward()
        optimiser.step()
        if cuda:
            torch.cuda.synchronize()

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    step()  # eager warm-up, and the FLOP count of one forward
    forward_flop = sum(FLOPS)
    for h in hooks:
        h.remove()
    COUNTING = False
    compile_seconds = 0.0
    if args.compile:
        t0 = time.perf_counter()
        try:
            forward = torch.compile(model)
            step()
        except Exception as e:  # an anchor, not a requirement: report it and go on
            print(f"reference.py: torch.compile failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                  file=sys.stderr)
            print(f"nan {forward_flop / 1e9:.1f} nan")
            return
        compile_seconds = time.perf_counter() - t0
    for _ in range(args.warmup - 1):
        step()
    seconds = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    seconds.sort()
    print(f"{seconds[len(seconds) // 2]:.4f} {forward_flop / 1e9:.1f} {compile_seconds:.1f}")


if __name__ == "__main__":
    main()
