"""PyTorch side of test/weights/swinYoloxParity.test.ts: small models whose module structure gives
the state-dict names of timm's Swin (0.9 and later), the official Swin code, and Megvii's YOLOX,
written here (neither timm nor yolox is installed) with torch/torchvision building blocks.

make DIR: at random initialisation (batch-norm statistics and relative position biases randomised
too, so they matter), writes
  swin_timm.pth / .safetensors, swin_official.pth ({"model": ...}, with attn_mask buffers),
  swin_input.npy (NHWC) and swin.npy (logits, eval mode; both namings hold the same weights);
  yolox.pth ({"model": ..., "start_epoch": ...}, as YOLOX's training saves), yolox_nano.pth
  (depthwise), yolox_input.npy, and for each the backbone's dark3/dark4/dark5 features (NHWC) and
  the head's raw outputs [batch, anchors, 4 + 1 + classes] (box offsets and logits, before sigmoid).

check DIR NAME...: loads DIR/NAME.export.safetensors strictly into the model NAME names (swin_timm:
the timm-named Swin, yolox: the YOLOX) and writes its outputs (logits, raw head outputs) to
DIR/NAME.export.npy.
"""
import os
import sys

import numpy as np
import torch
from torch import nn
from torchvision.models.swin_transformer import PatchMerging, ShiftedWindowAttention

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import load_safetensors, save_safetensors  # noqa: E402

# Swin ------------------------------------------------------------------------------------------


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock(nn.Module):
    """timm's/official block names: norm1, attn (qkv, proj, relative_position_bias_table), norm2, mlp.fc1/fc2."""

    def __init__(self, dim, heads, window, shift, official, grid):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention(dim, [window, window], [shift, shift], heads)
        if not official:
            # timm 1.0 does not save the index (persistent=False); the official code does.
            index = self.attn.relative_position_index
            del self.attn._buffers["relative_position_index"]
            self.attn.register_buffer("relative_position_index", index, persistent=False)
        elif shift:
            # The official code keeps the shifted windows' mask for its input size in the state dict.
            n = (grid // window) ** 2
            self.register_buffer("attn_mask", torch.zeros(n, window * window, window * window))
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SwinStage(nn.Module):
    """timm: merging at the start of the stage (Identity in the first); official: at the end."""

    def __init__(self, dim, depth, heads, window, official, first, last, grid):
        super().__init__()
        self.official = official
        if not official:
            self.downsample = nn.Identity() if first else PatchMerging(dim // 2)
        self.blocks = nn.Sequential(*[SwinBlock(dim, heads, window, 0 if i % 2 == 0 else window // 2, official, grid) for i in range(depth)])
        if official:
            self.downsample = None if last else PatchMerging(dim)

    def forward(self, x):
        if not self.official:
            x = self.downsample(x)
        x = self.blocks(x)
        if self.official and self.downsample is not None:
            x = self.downsample(x)
        return x


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class ClassifierHead(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        return self.fc(x)


class Swin(nn.Module):
    """A small Swin (embed 16, depths 2-2, heads 2-4, window 4, patch 2) for 32 px images: both stages' grids (16, 8) exceed the window, so both shift."""

    def __init__(self, official, embed=16, depths=(2, 2), heads=(2, 4), window=4, patch=2, size=32, classes=10):
        super().__init__()
        self.patch_embed = PatchEmbed(patch, embed)
        stages = []
        for s, (depth, h) in enumerate(zip(depths, heads)):
            stages.append(SwinStage(embed * 2**s, depth, h, window, official, s == 0, s == len(depths) - 1, size // patch // 2**s))
        self.layers = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(embed * 2 ** (len(depths) - 1))
        self.head = nn.Linear(self.norm.normalized_shape[0], classes) if official else ClassifierHead(self.norm.normalized_shape[0], classes)

    def forward(self, x):
        x = self.layers(self.patch_embed(x))
        return self.head(self.norm(x).mean((1, 2)))


# YOLOX -----------------------------------------------------------------------------------------


class BaseConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1, groups=1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False)
        # YOLOX's init_yolo sets eps 1e-3 on every batch norm.
        self.bn = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DWConv(nn.Module):
    def __init__(self, cin, cout, k, stride=1):
        super().__init__()
        self.dconv = BaseConv(cin, cin, k, stride, groups=cin)
        self.pconv = BaseConv(cin, cout, 1)

    def forward(self, x):
        return self.pconv(self.dconv(x))


def conv(depthwise):
    return DWConv if depthwise else BaseConv


class Bottleneck(nn.Module):
    def __init__(self, cin, cout, shortcut, depthwise):
        super().__init__()
        self.conv1 = BaseConv(cin, cout, 1)
        self.conv2 = conv(depthwise)(cout, cout, 3)
        self.use_add = shortcut and cin == cout

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        return y + x if self.use_add else y


class CSPLayer(nn.Module):
    def __init__(self, cin, cout, n, shortcut, depthwise):
        super().__init__()
        hidden = int(cout * 0.5)
        self.conv1 = BaseConv(cin, hidden, 1)
        self.conv2 = BaseConv(cin, hidden, 1)
        self.conv3 = BaseConv(2 * hidden, cout, 1)
        self.m = nn.Sequential(*[Bottleneck(hidden, hidden, shortcut, depthwise) for _ in range(n)])

    def forward(self, x):
        return self.conv3(torch.cat((self.m(self.conv1(x)), self.conv2(x)), 1))


class SPPBottleneck(nn.Module):
    def __init__(self, cin, cout, kernels=(5, 9, 13)):
        super().__init__()
        hidden = cin // 2
        self.conv1 = BaseConv(cin, hidden, 1)
        self.m = nn.ModuleList([nn.MaxPool2d(k, 1, k // 2) for k in kernels])
        self.conv2 = BaseConv(hidden * (len(kernels) + 1), cout, 1)

    def forward(self, x):
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [m(x) for m in self.m], 1))


class Focus(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = BaseConv(cin * 4, cout, 3)

    def forward(self, x):
        return self.conv(torch.cat((x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), 1))


class CSPDarknet(nn.Module):
    def __init__(self, depth, width, depthwise):
        super().__init__()
        c = int(width * 64)
        d = max(round(depth * 3), 1)
        Conv = conv(depthwise)
        self.stem = Focus(3, c)
        self.dark2 = nn.Sequential(Conv(c, c * 2, 3, 2), CSPLayer(c * 2, c * 2, d, True, depthwise))
        self.dark3 = nn.Sequential(Conv(c * 2, c * 4, 3, 2), CSPLayer(c * 4, c * 4, d * 3, True, depthwise))
        self.dark4 = nn.Sequential(Conv(c * 4, c * 8, 3, 2), CSPLayer(c * 8, c * 8, d * 3, True, depthwise))
        self.dark5 = nn.Sequential(Conv(c * 8, c * 16, 3, 2), SPPBottleneck(c * 16, c * 16), CSPLayer(c * 16, c * 16, d, False, depthwise))

    def forward(self, x):
        x3 = self.dark3(self.dark2(self.stem(x)))
        x4 = self.dark4(x3)
        return x3, x4, self.dark5(x4)


class YOLOPAFPN(nn.Module):
    def __init__(self, depth, width, depthwise):
        super().__init__()
        c3, c4, c5 = (int(c * width) for c in (256, 512, 1024))
        n = round(3 * depth)
        Conv = conv(depthwise)
        self.backbone = CSPDarknet(depth, width, depthwise)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.lateral_conv0 = BaseConv(c5, c4, 1)
        self.C3_p4 = CSPLayer(2 * c4, c4, n, False, depthwise)
        self.reduce_conv1 = BaseConv(c4, c3, 1)
        self.C3_p3 = CSPLayer(2 * c3, c3, n, False, depthwise)
        self.bu_conv2 = Conv(c3, c3, 3, 2)
        self.C3_n3 = CSPLayer(2 * c3, c4, n, False, depthwise)
        self.bu_conv1 = Conv(c4, c4, 3, 2)
        self.C3_n4 = CSPLayer(2 * c4, c5, n, False, depthwise)

    def forward(self, x):
        x2, x1, x0 = self.backbone(x)
        fpn_out0 = self.lateral_conv0(x0)
        f_out0 = self.C3_p4(torch.cat([self.upsample(fpn_out0), x1], 1))
        fpn_out1 = self.reduce_conv1(f_out0)
        pan_out2 = self.C3_p3(torch.cat([self.upsample(fpn_out1), x2], 1))
        pan_out1 = self.C3_n3(torch.cat([self.bu_conv2(pan_out2), fpn_out1], 1))
        pan_out0 = self.C3_n4(torch.cat([self.bu_conv1(pan_out1), fpn_out0], 1))
        return pan_out2, pan_out1, pan_out0


class YOLOXHead(nn.Module):
    def __init__(self, classes, width, depthwise):
        super().__init__()
        feat = int(256 * width)
        Conv = conv(depthwise)
        self.cls_convs, self.reg_convs, self.cls_preds, self.reg_preds, self.obj_preds, self.stems = (nn.ModuleList() for _ in range(6))
        for c in (256, 512, 1024):
            self.stems.append(BaseConv(int(c * width), feat, 1))
            self.cls_convs.append(nn.Sequential(Conv(feat, feat, 3), Conv(feat, feat, 3)))
            self.reg_convs.append(nn.Sequential(Conv(feat, feat, 3), Conv(feat, feat, 3)))
            self.cls_preds.append(nn.Conv2d(feat, classes, 1))
            self.reg_preds.append(nn.Conv2d(feat, 4, 1))
            self.obj_preds.append(nn.Conv2d(feat, 1, 1))

    def forward(self, xs):
        outs = []
        for k, x in enumerate(xs):
            x = self.stems[k](x)
            reg = self.reg_convs[k](x)
            out = torch.cat([self.reg_preds[k](reg), self.obj_preds[k](reg), self.cls_preds[k](self.cls_convs[k](x))], 1)
            outs.append(out.flatten(2))
        return torch.cat(outs, 2).permute(0, 2, 1)


class YOLOX(nn.Module):
    def __init__(self, depth, width, depthwise, classes):
        super().__init__()
        self.backbone = YOLOPAFPN(depth, width, depthwise)
        self.head = YOLOXHead(classes, width, depthwise)

    def forward(self, x):
        return self.head(self.backbone(x))


# -----------------------------------------------------------------------------------------------


def randomise(model):
    for name, p in model.named_parameters():
        if name.endswith("relative_position_bias_table"):
            p.data.normal_(0, 0.5)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous().numpy()


def make(out):
    torch.manual_seed(0)
    p = lambda name: os.path.join(out, name)  # noqa: E731
    x = torch.randn(1, 3, 32, 32)
    np.save(p("swin_input.npy"), nhwc(x))
    timm = randomise(Swin(official=False))
    state = timm.state_dict()
    torch.save(state, p("swin_timm.pth"))
    save_safetensors(p("swin_timm.safetensors"), state)
    with torch.no_grad():
        np.save(p("swin.npy"), timm(x).numpy())
    official = Swin(official=True).eval()
    # The same weights under the official names (each model's module structure names them; the
    # assertion below checks that the two orders of patch merging compute the same).
    mapped = {}
    for k, v in official.state_dict().items():
        if k.endswith("attn_mask") or k.endswith("relative_position_index"):
            mapped[k] = v
            continue
        stage = k.split(".")
        if k.startswith("layers.") and stage[2] == "downsample":
            k2 = ".".join(["layers", str(int(stage[1]) + 1)] + stage[2:])
        elif k.startswith("head."):
            k2 = "head.fc." + k[len("head."):]
        else:
            k2 = k
        mapped[k] = state[k2]
    official.load_state_dict(mapped)
    with torch.no_grad():
        assert torch.allclose(official(x), timm(x), atol=1e-6)
    torch.save({"model": official.state_dict(), "epoch": 300}, p("swin_official.pth"))

    x = torch.randn(1, 3, 64, 64)
    np.save(p("yolox_input.npy"), nhwc(x))
    for name, depthwise in (("yolox", False), ("yolox_nano", True)):
        model = randomise(YOLOX(0.33, 0.125, depthwise, 3))
        torch.save({"start_epoch": 300, "model": model.state_dict()}, p(name + ".pth"))
        with torch.no_grad():
            for level, f in zip((3, 4, 5), model.backbone.backbone(x)):
                np.save(p(f"{name}.dark{level}.npy"), nhwc(f))
            np.save(p(name + ".raw.npy"), model(x).contiguous().numpy())


CHECKED = {"swin_timm": (lambda: Swin(official=False), "swin_input.npy"), "yolox": (lambda: YOLOX(0.33, 0.125, False, 3), "yolox_input.npy")}


def check(out, names):
    for name in names:
        make_model, data = CHECKED[name]
        model = make_model()
        x = torch.from_numpy(np.load(os.path.join(out, data))).permute(0, 3, 1, 2).contiguous()
        model.eval().load_state_dict(load_safetensors(os.path.join(out, name + ".export.safetensors")), strict=True)
        with torch.no_grad():
            np.save(os.path.join(out, name + ".export.npy"), model(x).contiguous().numpy())


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3:])
