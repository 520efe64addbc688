#!/usr/bin/python3
"""Independent reference for BitActors' cross-checks (test-only; Debian's python3-torch and python3-numpy).

A BiT ResNet-v2 written from the paper and bit_pytorch's description, with timm's parameter names. It
shares no code with BitActors: weight standardisation is computed with var_mean (BitActors uses a
batch-norm trick), GroupNorm with F.group_norm, and the files are written by numpy (np.savez) and by a
small safetensors writer below.

  make   --units 2,2,1,1 --width 1 --base 8 --groups 4 --classes 5 --resolution 32 --seed 0 --out DIR
         writes DIR/model.npz (Google's BiT layout, HWIO kernels), DIR/model_deflated.npz
         (np.savez_compressed), DIR/model.safetensors (timm names) and DIR/io.npz (input, logits in
         float32, logits64: the same model and input computed in float64).
  logits --units ... --classes K --weights FILE.safetensors --input DIR/io.npz --key input --out OUT.npy
         loads timm-named safetensors (every key must match) and writes the logits for io.npz[key].
"""
import argparse, json, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

EPS_WS = 1e-10  # BiT's weight-standardisation eps (timm uses 1e-8)
EPS_GN = 1e-5


def standardize(w):
    var, mean = torch.var_mean(w, dim=[1, 2, 3], keepdim=True, unbiased=False)
    return (w - mean) / torch.sqrt(var + EPS_WS)


class Model:
    """Parameters in a plain dict with timm's names; forward written out by hand."""

    def __init__(self, units, width, base, groups, classes, in_ch):
        self.units, self.groups = units, groups
        self.p = {}
        root = base * width
        self.p['stem.conv.weight'] = torch.empty(root, in_ch, 7, 7)
        cin = root
        for s, n in enumerate(units):
            mid = base * width * 2 ** s
            out = 4 * mid
            for u in range(n):
                b = f'stages.{s}.blocks.{u}.'
                self.p[b + 'norm1.weight'] = torch.empty(cin); self.p[b + 'norm1.bias'] = torch.empty(cin)
                self.p[b + 'conv1.weight'] = torch.empty(mid, cin, 1, 1)
                self.p[b + 'norm2.weight'] = torch.empty(mid); self.p[b + 'norm2.bias'] = torch.empty(mid)
                self.p[b + 'conv2.weight'] = torch.empty(mid, mid, 3, 3)
                self.p[b + 'norm3.weight'] = torch.empty(mid); self.p[b + 'norm3.bias'] = torch.empty(mid)
                self.p[b + 'conv3.weight'] = torch.empty(out, mid, 1, 1)
                if u == 0 and (s > 0 or cin != out):
                    self.p[b + 'downsample.conv.weight'] = torch.empty(out, cin, 1, 1)
                cin = out
        self.p['norm.weight'] = torch.empty(cin); self.p['norm.bias'] = torch.empty(cin)
        self.p['head.fc.weight'] = torch.empty(classes, cin, 1, 1)
        self.p['head.fc.bias'] = torch.empty(classes)

    def randomize(self, seed):
        g = torch.Generator().manual_seed(seed)
        for k, v in self.p.items():
            if v.dim() == 4:
                v.copy_(torch.randn(v.shape, generator=g) * (2.0 / (v.shape[0] * v.shape[2] * v.shape[3])) ** 0.5)
            elif k.endswith('weight'):
                v.copy_(1.0 + 0.2 * torch.randn(v.shape, generator=g))
            else:
                v.copy_(0.2 * torch.randn(v.shape, generator=g))

    def forward(self, x):
        p, gn = self.p, lambda h, k: F.group_norm(h, self.groups, p[k + '.weight'], p[k + '.bias'], EPS_GN)
        h = F.conv2d(x, standardize(p['stem.conv.weight']), stride=2, padding=3)
        h = F.max_pool2d(F.pad(h, (1, 1, 1, 1), value=0.0), 3, 2)
        for s, n in enumerate(self.units):
            for u in range(n):
                b = f'stages.{s}.blocks.{u}.'
                stride = 2 if (s > 0 and u == 0) else 1
                pre = F.relu(gn(h, b + 'norm1'))
                short = h
                if b + 'downsample.conv.weight' in p:
                    short = F.conv2d(pre, standardize(p[b + 'downsample.conv.weight']), stride=stride)
                y = F.conv2d(pre, standardize(p[b + 'conv1.weight']))
                y = F.conv2d(F.relu(gn(y, b + 'norm2')), standardize(p[b + 'conv2.weight']), stride=stride, padding=1)
                y = F.conv2d(F.relu(gn(y, b + 'norm3')), standardize(p[b + 'conv3.weight']))
                h = y + short
        h = F.relu(gn(h, 'norm')).mean(dim=(2, 3), keepdim=True)
        return F.conv2d(h, p['head.fc.weight'], p['head.fc.bias']).flatten(1)


def bit_key(timm):
    """timm name -> key in Google's BiT .npz."""
    if timm == 'stem.conv.weight': return 'resnet/root_block/standardized_conv2d/kernel'
    if timm.startswith('norm.'): return 'resnet/group_norm/' + ('gamma' if timm.endswith('weight') else 'beta')
    if timm == 'head.fc.weight': return 'resnet/head/conv2d/kernel'
    if timm == 'head.fc.bias': return 'resnet/head/conv2d/bias'
    _, s, _, u, layer, *rest = timm.split('.')
    unit = f'resnet/block{int(s) + 1}/unit{int(u) + 1:02d}/'
    if layer == 'downsample': return unit + 'a/proj/standardized_conv2d/kernel'
    letter = 'abc'[int(layer[-1]) - 1]
    if layer.startswith('conv'): return unit + letter + '/standardized_conv2d/kernel'
    return unit + letter + '/group_norm/' + ('gamma' if rest[0] == 'weight' else 'beta')


def to_bit(v):
    a = v.numpy().astype('<f4')
    return a.transpose(2, 3, 1, 0).copy() if a.ndim == 4 else a  # OIHW -> HWIO


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for k, v in tensors.items():
        b = v.numpy().astype('<f4').tobytes()
        header[k] = {'dtype': 'F32', 'shape': list(v.shape), 'data_offsets': [offset, offset + len(b)]}
        offset += len(b); blobs.append(b)
    text = json.dumps(header).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text))); f.write(text)
        for b in blobs: f.write(b)


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, e in header.items():
        if k == '__metadata__': continue
        assert e['dtype'] == 'F32', (k, e['dtype'])
        b, end = e['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(data[b:end], dtype='<f4').copy().reshape(e['shape']))
    return out


def build(a, in_ch):
    return Model([int(u) for u in a.units.split(',')], a.width, a.base, a.groups, a.classes, in_ch)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['make', 'logits'])
    ap.add_argument('--units', required=True); ap.add_argument('--width', type=int, default=1)
    ap.add_argument('--base', type=int, default=64); ap.add_argument('--groups', type=int, default=32)
    ap.add_argument('--classes', type=int, required=True); ap.add_argument('--resolution', type=int, default=32)
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--out', required=True)
    ap.add_argument('--weights'); ap.add_argument('--input'); ap.add_argument('--key', default='input')
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    if a.mode == 'make':
        m = build(a, 3)
        m.randomize(a.seed)
        g = torch.Generator().manual_seed(a.seed + 1)
        x = torch.rand(2, 3, a.resolution, a.resolution, generator=g) * 2 - 1
        bit = {bit_key(k): to_bit(v) for k, v in m.p.items()}
        np.savez(f'{a.out}/model.npz', **bit)
        np.savez_compressed(f'{a.out}/model_deflated.npz', **bit)
        write_safetensors(f'{a.out}/model.safetensors', m.p)
        logits = m.forward(x).numpy()
        m.p = {k: v.double() for k, v in m.p.items()}
        np.savez(f'{a.out}/io.npz', input=x.numpy(), logits=logits, logits64=m.forward(x.double()).numpy())
        print(json.dumps({'tensors': len(m.p), 'parameters': int(sum(v.numel() for v in m.p.values()))}))
    else:
        x = torch.from_numpy(np.load(a.input)[a.key])
        m = build(a, x.shape[1])
        loaded = read_safetensors(a.weights)
        missing, unexpected = set(m.p) - set(loaded), set(loaded) - set(m.p)
        if missing or unexpected:
            sys.exit(f'names differ: missing {sorted(missing)[:5]} unexpected {sorted(unexpected)[:5]}')
        for k, v in loaded.items():
            if tuple(v.shape) != tuple(m.p[k].shape): sys.exit(f'{k}: shape {tuple(v.shape)} != {tuple(m.p[k].shape)}')
            m.p[k] = v
        np.save(a.out, m.forward(x).numpy())


if __name__ == '__main__':
    main()
