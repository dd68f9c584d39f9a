"""PyTorch modules with the structure and parameter names of mlcp's built-in models.

`mlcp export CHECKPOINT --out model.pt` writes a checkpoint's parameters as a state_dict whose
keys are mlcp's parameter names ("layers.0.linear.weight", ...). The modules here have exactly
those names, so the file loads with `load_state_dict(strict=True)` and the forward computes
what mlcp's forward computes (up to float rounding: mlcp's reproducible operators fix their own
summation order, PyTorch's kernels another):

    import torch, mlcp_torch
    state = torch.load("model.pt")
    model = mlcp_torch.from_state_dict(state, heads=4)   # heads: the job's model.heads (GPT only)
    model.load_state_dict(state)
    logits = model.eval()(images)                        # [B, 1, 28, 28] -> [B, 10]

Every shape is read from the state_dict; only a GPT's head count is not in it. docs/export.md
describes the models layer by layer.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Dense(nn.Module):
    """models/mlp.cc DenseLayer: flatten, linear, then ReLU except on the last layer."""

    def __init__(self, fan_in, fan_out, relu):
        super().__init__()
        self.linear = nn.Linear(fan_in, fan_out)
        self.relu = relu

    def forward(self, x):
        y = self.linear(x.reshape(x.shape[0], -1))
        return F.relu(y) if self.relu else y


class ConvBlock(nn.Module):
    """models/cnn.cc ConvBlock: 3x3 convolution (padding 1), ReLU, 2x2 max pool."""

    def __init__(self, channels_in, channels_out):
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, 3, padding=1)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.conv(x)), 2)


class GptEmbedding(nn.Module):
    """models/gpt.cc GptEmbedding: token plus position embedding (then dropout)."""

    def __init__(self, vocab, d_model, context, dropout=0.0):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(context, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens):
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        return self.dropout(self.tok(tokens) + self.pos(positions))


class GptBlock(nn.Module):
    """models/gpt.cc GptBlock: pre-LayerNorm causal self-attention and a GELU (erf) MLP, each
    added to the residual stream. qkv's output columns are [q | k | v], each [heads x head_dim]."""

    def __init__(self, d_model, heads, ffn_mult, dropout=0.0):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, ffn_mult * d_model)
        self.fc2 = nn.Linear(ffn_mult * d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def attention(self, x):
        b, t, d = x.shape
        hd = d // self.heads
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        att = self.dropout(torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1))
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.dropout(self.proj(y))

    def forward(self, h):
        x = h + self.attention(self.ln1(h))
        return x + self.dropout(self.fc2(F.gelu(self.fc1(self.ln2(x)))))


class GptHead(nn.Module):
    """models/gpt.cc GptHead: final LayerNorm and the output projection (no bias)."""

    def __init__(self, d_model, vocab):
        super().__init__()
        self.ln = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, vocab, bias=False)

    def forward(self, h):
        return self.out(self.ln(h))


class LayerModel(nn.Module):
    """models/layer_model.h: a sequence of layers named layers.0, layers.1, ..."""

    def __init__(self, kind, layers):
        super().__init__()
        self.kind = kind
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def _count(state, key):
    """How many consecutive layers i have `layers.{i}.{key}`."""
    i = 0
    while f"layers.{i}.{key}" in state:
        i += 1
    return i


def from_state_dict(state, heads=None, dropout=0.0):
    """The module of the built-in model (mlp, cnn, gpt, or a stack of conv then dense layers)
    whose parameters `state` holds. Dense layers get a ReLU except the last: a stack layer with
    activation = "none" needs its Dense(..., relu=False) set by hand."""
    if "layers.0.tok.weight" in state:
        if heads is None:
            raise ValueError("a GPT's head count is not in its state_dict: pass heads= (model.heads)")
        vocab, d_model = state["layers.0.tok.weight"].shape
        context = state["layers.0.pos.weight"].shape[0]
        blocks = 0
        while f"layers.{blocks + 1}.ln1.weight" in state:
            blocks += 1
        ffn_mult = state["layers.1.fc1.weight"].shape[0] // d_model
        layers = [GptEmbedding(vocab, d_model, context, dropout)]
        layers += [GptBlock(d_model, heads, ffn_mult, dropout) for _ in range(blocks)]
        layers.append(GptHead(d_model, vocab))
        return LayerModel("gpt", layers)
    convs = _count(state, "conv.weight")
    if convs > 0:
        layers = []
        for i in range(convs):
            c_out, c_in = state[f"layers.{i}.conv.weight"].shape[:2]
            layers.append(ConvBlock(c_in, c_out))
        dense = 0
        while f"layers.{convs + dense}.linear.weight" in state:
            dense += 1
        for i in range(convs, convs + dense):
            out, fan_in = state[f"layers.{i}.linear.weight"].shape
            layers.append(Dense(fan_in, out, relu=i + 1 < convs + dense))
        return LayerModel("cnn" if dense == 1 else "stack", layers)
    dense = _count(state, "linear.weight")
    if dense == 0:
        raise ValueError("not the state_dict of an mlcp mlp, cnn or gpt (no layers.0.*)")
    layers = []
    for i in range(dense):
        out, fan_in = state[f"layers.{i}.linear.weight"].shape
        layers.append(Dense(fan_in, out, relu=i + 1 < dense))
    return LayerModel("mlp", layers)
