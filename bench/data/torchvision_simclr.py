"""The PyTorch reference for bench/data/simclr.ts: torchvision's SimCLR two-view transform over
an ImageFolder of JPEG files, read by a DataLoader with N worker processes, batch 64.

    /usr/bin/python3 bench/data/torchvision_simclr.py <folder> <workers> <size>

Runs one warm-up epoch (worker start-up, first reads), then measures a second epoch: images/s
(wall clock) and CPU milliseconds per image summed over the main process and its workers
(from /proc, so that a busy shared machine does not hide the cost). Prints one JSON line.
"""
import json
import os
import sys
import time

import torch
import torchvision.transforms as T
from torchvision.datasets import ImageFolder

TICK = os.sysconf('SC_CLK_TCK')


class TwoViews:
    def __init__(self, t):
        self.t = t

    def __call__(self, img):
        return self.t(img), self.t(img)


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def main():
    folder, workers, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.manual_seed(0)
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
    for _ in loader:  # warm-up epoch
        pass
    pids = [os.getpid()] + ([w.pid for w in loader._iterator._workers] if workers > 0 else [])
    cpu0 = cpu_seconds(pids)
    t0 = time.perf_counter()
    n = 0
    for (a, _b), _labels in loader:
        n += a.shape[0]
    secs = time.perf_counter() - t0
    cpu = cpu_seconds(pids) - cpu0
    print(json.dumps({'images': n, 'seconds': secs, 'images_per_s': n / secs, 'cpu_ms_per_image': 1000 * cpu / n, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
