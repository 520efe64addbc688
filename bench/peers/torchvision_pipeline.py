#!/usr/bin/python3
"""Peer of `bitactors bench pipeline` (c): the same decode + augment work in torchvision's DataLoader with
PIL (Debian's python3-torchvision). Reads every image file under --folder, applies BiT's train transform
(square resize to --precrop, random --crop, horizontal flip, to [-1, 1]) in --workers processes, batches
of --batch; prints one JSON line with images/s measured from the first batch to the last (worker start-up
left out, as in the BitActors figures)."""
import argparse, json, os, time
import torch
from PIL import Image
from torchvision import transforms


class Files(torch.utils.data.Dataset):
    def __init__(self, paths, transform):
        self.paths, self.transform = paths, transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with Image.open(self.paths[i]) as im:
            return self.transform(im.convert('RGB')), 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--folder', required=True); ap.add_argument('--precrop', type=int, required=True)
    ap.add_argument('--crop', type=int, required=True); ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--workers', type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(1)
    paths = sorted(os.path.join(d, f) for d, _, fs in os.walk(a.folder) for f in fs)
    t = transforms.Compose([transforms.Resize((a.precrop, a.precrop)), transforms.RandomCrop(a.crop),
                            transforms.RandomHorizontalFlip(), transforms.ToTensor(),
                            transforms.Normalize([0.5] * 3, [0.5] * 3)])
    loader = torch.utils.data.DataLoader(Files(paths, t), batch_size=a.batch, shuffle=True, num_workers=a.workers, drop_last=True)
    first, images = None, 0
    for x, _ in loader:
        if first is None:
            first = time.perf_counter()
            continue
        images += x.shape[0]
    seconds = time.perf_counter() - first
    print(json.dumps({'impl': 'torchvision', 'images': images, 'seconds': seconds, 'images_per_second': images / seconds,
                      'workers': a.workers, 'torchvision': __import__('torchvision').__version__}))


if __name__ == '__main__':
    main()
