"""The PyTorch reference for bench/data/simclr.ts: torchvision's SimCLR two-view transform over
an ImageFolder of JPEG files, read by a DataLoader with N worker processes, batch 64.

    /usr/bin/python3 bench/data/torchvision_simclr.py <folder> <workers> <size> [--batches N] [--seed S]

Prints one JSON line: images/s over the batches after the first (worker start-up excluded).
"""
import json
import sys
import time

import torch
import torchvision.transforms as T
from torchvision.datasets import ImageFolder


class TwoViews:
    def __init__(self, t):
        self.t = t

    def __call__(self, img):
        return self.t(img), self.t(img)


def main():
    folder, workers, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    batches = int(sys.argv[sys.argv.index('--batches') + 1]) if '--batches' in sys.argv else 0
    seed = int(sys.argv[sys.argv.index('--seed') + 1]) if '--seed' in sys.argv else 0
    torch.manual_seed(seed)
    # SimCLR (Chen et al. 2020, appendix A), as EasyCV's and lightly's configs write it.
    view = T.Compose([
        T.RandomResizedCrop(size),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.8, 0.8, 0.8, 0.2)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(9, sigma=(0.1, 2.0))], p=0.5),
        T.ToTensor(),
        T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    ds = ImageFolder(folder, transform=TwoViews(view))
    loader = torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=workers, drop_last=True, persistent_workers=workers > 0)
    n = 0
    start = None
    for i, ((a, b), _labels) in enumerate(loader):
        if i == 0:
            start = time.perf_counter()
            continue
        n += a.shape[0]
        if batches and i >= batches:
            break
    secs = time.perf_counter() - start
    print(json.dumps({'images': n, 'seconds': secs, 'images_per_s': n / secs, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
