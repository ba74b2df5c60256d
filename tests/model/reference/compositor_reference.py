"""The CoSMo compositor written from the equations of model/compositor.hpp
(docs/paper-notes.md "Network") with torch.nn,
head by head, with the authors' parameter names. Random weights (including
the two module weights and the styler's biases), a random map and text
feature, the output and the gradients of sum(out * upstream), all in double
precision. Usage: compositor_reference.py OUTDIR; writes
OUTDIR/compositor.safetensors (state) and OUTDIR/compositor_io.safetensors."""
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn

from safetensors_lite import save

BATCH, CHANNELS, TEXT, HEADS, HEIGHT, WIDTH = 2, 32, 16, 4, 3, 4


class EqualLinear(nn.Module):
    def __init__(self, fan_in, fan_out):
        super().__init__()
        self.linear = nn.Module()
        self.linear.weight_orig = nn.Parameter(torch.randn(fan_out, fan_in))
        self.linear.bias = nn.Parameter(torch.zeros(fan_out))
        self.scale = math.sqrt(2.0 / fan_in)

    def forward(self, x):
        return F.linear(x, self.linear.weight_orig * self.scale, self.linear.bias)


class AttentionModule(nn.Module):
    def __init__(self, c, text, heads):
        super().__init__()
        self.heads = heads
        self.merge = nn.Conv2d(c + text, c, 1, bias=False)
        self.W_v = nn.Conv2d(c, c, 1, bias=False)
        self.W_r = nn.Conv2d(c, c, 1)
        self.self_att_generator = nn.Module()
        self.self_att_generator.W_q = nn.Conv2d(c, c, 1, bias=False)
        self.self_att_generator.W_k = nn.Conv2d(c, c, 1, bias=False)
        self.global_att_generator = nn.Module()
        self.global_att_generator.W_t = nn.Linear(text, c)

    def forward(self, x, t):
        b, c, h, w = x.shape
        d = c // self.heads
        tiled = t[:, :, None, None].expand(-1, -1, h, w)
        v = self.W_v(self.merge(torch.cat([x, tiled], 1))).flatten(2)
        q = self.self_att_generator.W_q(x).flatten(2)
        k = self.self_att_generator.W_k(x).flatten(2)
        text_key = self.global_att_generator.W_t(t)
        flat = x.flatten(2)
        outs = []
        for head in range(self.heads):
            part = slice(head * d, (head + 1) * d)
            self_map = torch.softmax(torch.einsum("bci,bcj->bij", q[:, part], k[:, part]) / math.sqrt(d), dim=2)
            text_map = torch.softmax(torch.einsum("bc,bci->bi", text_key[:, part], flat[:, part]) / math.sqrt(d), dim=1)
            attention = self_map + text_map[:, None, :]
            outs.append(torch.einsum("bcj,bij->bci", v[:, part], attention))
        return self.W_r(torch.cat(outs, 1).view(b, c, h, w))


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
        mean = x.detach().mean((2, 3), keepdim=True)
        std = x.detach().flatten(2).std(2, unbiased=False)[:, :, None, None]
        g = torch.sigmoid(self.gate(t))[:, :, None, None]
        style = self.global_transform(t)[:, :, None, None]
        return (g[:, :c] * std + style[:, :c]) * o + (g[:, c:] * mean + style[:, c:])


class Compositor(nn.Module):
    def __init__(self, c, text, heads):
        super().__init__()
        self.att_module = AttentionModule(c, text, heads)
        self.att_module2 = AttentionModule(c, text, heads)
        self.global_styler = GlobalStyler(c, text)
        self.weights = nn.Parameter(torch.tensor([1.0, 1.0]))

    def forward(self, x, t):
        n = F.instance_norm(x, eps=1e-5)
        o1 = n + self.weights[0] * self.att_module(n, t)
        o2 = o1 + self.weights[1] * self.att_module2(o1, t)
        return self.global_styler(o2, x, t)


def main(outdir):
    torch.manual_seed(0)
    model = Compositor(CHANNELS, TEXT, HEADS).double()
    with torch.no_grad():
        model.weights.copy_(torch.tensor([0.7, 1.3]))
        for p in (model.global_styler.global_transform.linear.bias, model.global_styler.gate.linear.bias):
            p.add_(0.1 * torch.randn_like(p))
    save(model.state_dict(), f"{outdir}/compositor.safetensors")
    x = (torch.randn(BATCH, CHANNELS, HEIGHT, WIDTH, dtype=torch.float64) * 1.5 + 0.3).requires_grad_()
    t = torch.randn(BATCH, TEXT, dtype=torch.float64).requires_grad_()
    out = model(x, t)
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    save({"x": x, "t": t, "out": out, "upstream": upstream, "grad_x": x.grad, "grad_t": t.grad,
          "grad_weights": model.weights.grad,
          "grad_gate_weight_orig": model.global_styler.gate.linear.weight_orig.grad,
          "grad_W_q": model.att_module2.self_att_generator.W_q.weight.grad},
         f"{outdir}/compositor_io.safetensors")


if __name__ == "__main__":
    main(sys.argv[1])
