"""PyTorch side of test/weights/torchParity.test.ts (Debian's python3-torch / torchvision).

make DIR: torchvision resnet18, mobilenet_v2, a small vit_b_16-like ViT, a small swin_t-like Swin and a small convnext_tiny-like ConvNeXt at random initialisation (batch-norm statistics
randomised too, so they matter), saved as torch.save .pth and as safetensors written by hand (no
safetensors package): F32, plus F16 (resnet18, vit) and BF16 (mobilenet_v2, swin) copies. vit32.pth is a ViT for 32 px images, vit32to64.npy the logits torchvision's own
position-embedding interpolation gives it at 64 px. convnext.timm.safetensors and
convnext.official.safetensors hold the ConvNeXt's weights renamed here to timm's and to the official
code's names, convnext.timm_conv_mlp.safetensors in timm's with its MLPs as 1x1 convolutions (atto to nano).
convnextv2.timm.safetensors and convnextv2.official.safetensors: the same ConvNeXt made a V2 (GRN
after each MLP's GELU, no layer scale), in timm's and the official V2 code's names. Logits in eval mode
on one random input, for each, as .npy (the input NHWC). Also evil.pth, whose pickle calls
os.system, legacy.pth in the pre-1.6 format and cyclic.pth, a dict that contains itself.

check DIR NAME...: load DIR/NAME.export.safetensors strictly into the torchvision model and
write its logits on the same input to DIR/NAME.export.npy.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision

from torchvision.models.convnext import CNBlock, CNBlockConfig, ConvNeXt
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer, interpolate_embeddings


def vit(size):
    """A small ViT with vit_b_16's structure and names (2 blocks of width 128, 2 heads, patch 16)."""
    return VisionTransformer(image_size=size, patch_size=16, num_layers=2, num_heads=2, hidden_dim=128, mlp_dim=512, num_classes=10)


def swin():
    """A small Swin with swin_t's structure and names (widths 32 and 64, 2 blocks each, window 7)."""
    return SwinTransformer(patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4], window_size=[7, 7], num_classes=10)


def convnext():
    """A small ConvNeXt with convnext_tiny's structure and names (widths 16-32-64-128, depths 1-2-1-1)."""
    stages = [CNBlockConfig(16, 32, 1), CNBlockConfig(32, 64, 2), CNBlockConfig(64, 128, 1), CNBlockConfig(128, None, 1)]
    return ConvNeXt(stages, num_classes=10)


class GRN(torch.nn.Module):
    """ConvNeXt V2's global response normalisation (its Eq. 1-3) of a channels-last map, its parameters [1, 1, 1, C] as its code holds them."""

    def __init__(self, dim):
        super().__init__()
        self.gamma = torch.nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.beta = torch.nn.Parameter(torch.zeros(1, 1, 1, dim))

    def forward(self, x):
        norm = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
        return self.gamma * (x * (norm / (norm.mean(dim=-1, keepdim=True) + 1e-6))) + self.beta + x


def convnextv2():
    """convnext() made a V2: a GRN after each MLP's GELU (block.5; fc2 moves to block.6), layer scales 1 (V2 has none), all random."""
    model = randomise(convnext())
    for m in model.modules():
        if isinstance(m, CNBlock):
            layers = list(m.block)
            grn = GRN(layers[3].out_features)
            grn.gamma.data.uniform_(0.5, 1.5)
            grn.beta.data.uniform_(-0.2, 0.2)
            m.block = torch.nn.Sequential(*layers[:5], grn, *layers[5:])
            m.layer_scale.data.fill_(1.0)
    return model.eval()


def convnext_renamed(state, naming, v2=False):
    """torchvision's ConvNeXt state dict in timm's names (naming "timm") or the official code's ("official"); v2: convnextv2()'s, without its layer scales."""
    timm = naming == "timm"
    parts = {"block.0": ("conv_dw", "dwconv"), "block.2": ("norm", "norm"), "block.3": ("mlp.fc1", "pwconv1"), "block.5": ("mlp.fc2", "pwconv2")}
    if v2:
        parts.update({"block.5": ("mlp.grn", "grn"), "block.6": ("mlp.fc2", "pwconv2")})
    out = {}
    for key, value in state.items():
        if v2 and key.endswith("layer_scale"):
            continue
        p = key.split(".")
        if key.startswith("features.0."):
            name = ("stem." if timm else "downsample_layers.0.") + ".".join(p[2:])
        elif key.startswith("features.") and int(p[1]) % 2 == 0:
            stage = int(p[1]) // 2
            name = (f"stages.{stage}.downsample." if timm else f"downsample_layers.{stage}.") + ".".join(p[2:])
        elif key.startswith("features."):
            stage, block = (int(p[1]) - 1) // 2, p[2]
            if p[3] == "layer_scale":
                inner, value = "gamma", value.reshape(-1)
            else:
                inner = parts[p[3] + "." + p[4]][0 if timm else 1] + "." + p[5]
                # timm's GRN: weight and bias, [C].
                if timm and p[5] in ("gamma", "beta"):
                    inner, value = inner[: -len(p[5])] + {"gamma": "weight", "beta": "bias"}[p[5]], value.reshape(-1)
            name = (f"stages.{stage}.blocks.{block}." if timm else f"stages.{stage}.{block}.") + inner
        elif key.startswith("classifier.0."):
            name = ("head.norm." if timm else "norm.") + p[2]
        else:
            name = ("head.fc." if timm else "head.") + p[2]
        out[name] = value
    return out


def randomise(model):
    """Batch-norm statistics, class token and the (zero-initialised) ViT head made random, so they matter."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    if isinstance(model, VisionTransformer):
        model.class_token.data.normal_(0, 0.5)
        model.heads.head.weight.data.normal_(0, 0.2)
        model.heads.head.bias.data.normal_(0, 0.2)
    for name, p in model.named_parameters():
        if name.endswith("relative_position_bias_table"):
            p.data.normal_(0, 0.5)
        # ConvNeXt's layer scales start at 1e-6, which would leave its blocks out of the logits.
        if name.endswith("layer_scale"):
            p.data.uniform_(0.5, 1.5)
    for m in model.modules():
        if isinstance(m, torch.nn.LayerNorm) and isinstance(model, ConvNeXt):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


MODELS = {"resnet18": torchvision.models.resnet18, "mobilenet_v2": torchvision.models.mobilenet_v2, "vit": lambda: vit(64), "swin": swin, "convnext": convnext}
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def save_safetensors(path, state, dtype=None):
    header, chunks, offset = {}, [], 0
    for name, t in state.items():
        t = t.detach().contiguous()
        if dtype is not None and t.is_floating_point():
            t = t.to(dtype)
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def load_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    types = {"F32": np.float32, "I64": np.int64}
    state = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        state[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype=types[e["dtype"]]).copy().reshape(e["shape"]))
    return state


def logits(model, x):
    with torch.no_grad():
        return model(x).numpy()


class Evil:
    def __reduce__(self):
        return (os.system, ("echo ran > " + os.path.join(sys.argv[2], "pwned"),))


def make(out):
    torch.manual_seed(0)
    x = torch.randn(1, 3, 64, 64)
    np.save(os.path.join(out, "input.npy"), x.permute(0, 2, 3, 1).contiguous().numpy())
    for name, low in (("resnet18", torch.float16), ("mobilenet_v2", torch.bfloat16), ("vit", torch.float16), ("swin", torch.bfloat16), ("convnext", torch.float16)):
        model = randomise(MODELS[name]())
        state = model.state_dict()
        torch.save(state, os.path.join(out, name + ".pth"))
        # A training checkpoint of the kind timm and the torchvision references write.
        torch.save({"epoch": 3, "model": {"module." + k: v for k, v in state.items()}}, os.path.join(out, name + ".ckpt.pth"))
        save_safetensors(os.path.join(out, name + ".safetensors"), state)
        np.save(os.path.join(out, name + ".npy"), logits(model, x))
        if name == "convnext":
            for naming in ("timm", "official"):
                save_safetensors(os.path.join(out, f"convnext.{naming}.safetensors"), convnext_renamed(state, naming))
            # timm's atto to nano hold the MLPs as 1x1 convolutions: the same weights, [out, in, 1, 1].
            conv_mlp = {k: v.reshape(*v.shape, 1, 1) if ".mlp.fc" in k and k.endswith(".weight") else v for k, v in convnext_renamed(state, "timm").items()}
            save_safetensors(os.path.join(out, "convnext.timm_conv_mlp.safetensors"), conv_mlp)
            v2 = convnextv2()
            for naming in ("timm", "official"):
                save_safetensors(os.path.join(out, f"convnextv2.{naming}.safetensors"), convnext_renamed(v2.state_dict(), naming, v2=True))
            np.save(os.path.join(out, "convnextv2.npy"), logits(v2, x))
        # The same model with its weights rounded to half/bfloat16: what the low-precision file holds.
        tag = DTYPES[low].lower()
        save_safetensors(os.path.join(out, name + "." + tag + ".safetensors"), state, low)
        model.load_state_dict({k: v.to(low).float() if v.is_floating_point() else v for k, v in state.items()})
        np.save(os.path.join(out, name + "." + tag + ".npy"), logits(model, x))
    # A ViT made for 32 px images (a 2x2 grid of patches), and what torchvision makes of it for 64 px.
    small = randomise(vit(32))
    torch.save(small.state_dict(), os.path.join(out, "vit32.pth"))
    large = vit(64).eval()
    large.load_state_dict(interpolate_embeddings(64, 16, small.state_dict()))
    np.save(os.path.join(out, "vit32to64.npy"), logits(large, x))
    torch.save({"weight": torch.zeros(2), "payload": Evil()}, os.path.join(out, "evil.pth"))
    torch.save({"weight": torch.zeros(2)}, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    cyclic = {"weight": torch.zeros(2)}
    cyclic["self"] = cyclic
    torch.save(cyclic, os.path.join(out, "cyclic.pth"))


def check(out, names):
    x = torch.from_numpy(np.load(os.path.join(out, "input.npy"))).permute(0, 3, 1, 2).contiguous()
    for name in names:
        model = MODELS[name]().eval()
        model.load_state_dict(load_safetensors(os.path.join(out, name + ".export.safetensors")), strict=True)
        np.save(os.path.join(out, name + ".export.npy"), logits(model, x))


if __name__ == "__main__":
    torch.set_num_threads(1)
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3:])
