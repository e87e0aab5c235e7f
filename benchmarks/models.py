"""Throughput of the CIFAR-scale classifiers and of SegNet on this machine's CPU (not a test).

Prints, per model: parameters, MACs per image, training images/s (forward + backward + SGD step with
momentum, batch 128, train mode) and evaluation images/s (forward in eval mode under no_grad).
"SegNet fine-tune" times the pipeline's fine-tuning step: SegNet with only the decoder trainable, its
output through a frozen classifier (the CIFAR VGG), cross-entropy, SGD step on the decoder.

Two rates per mode: images per wall-clock second, and images per CPU second of this process
(``time.process_time``). On a machine shared with other jobs the wall-clock rate with 2 threads
collapses (OpenMP threads wait for each other's time slices); with ``--threads 1`` the CPU-time rate
is what one core does, nearly independent of other jobs, and 2 cores give up to twice that.

    python benchmarks/models.py                      # 2 threads, about a minute
    python benchmarks/models.py --threads 1          # robust numbers on a busy machine
    python benchmarks/models.py --models --segnet-widths 0.125 0.25 --channels-last
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if "--omp-passive" in sys.argv:
    # GNU OpenMP's default lets waiting threads spin. When another job holds one of the 2 cores, the
    # spinning thread steals the time slices of the one it waits for: measured 26 images/s for the
    # CIFAR VGG with the default policy and 401 images/s with PASSIVE (other jobs using 75-80%).
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
if "--thp" in sys.argv:
    # PyTorch reads this once, at its first large allocation: it must be set before torch allocates.
    # Allocations >= 2 MB then use transparent huge pages (madvise); on the development VM, first
    # touching fresh pages cost ~0.6 ms per MB, with huge pages ~0.06 ms per MB (measured).
    os.environ["THP_MEM_ALLOC_ENABLE"] = "1"

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from repro.models import CLASSIFIER_KEYS, SegNet, SegNetConfig, build_classifier, count_macs  # noqa: E402


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat (Linux), else None."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def timed(step, seconds: float, batch: int) -> tuple[float, float, float | None]:
    """(images per wall second, images per CPU second, share of the machine's CPU used by other
    processes meanwhile) of ``step``, after two warm-up calls, run for at least ``seconds`` of wall
    time and at least 3 calls."""
    step()
    step()
    n, wall, cpu, ticks = 0, time.perf_counter(), time.process_time(), _cpu_ticks()
    while n < 3 or time.perf_counter() - wall < seconds:
        step()
        n += 1
    wall, cpu, after = time.perf_counter() - wall, time.process_time() - cpu, _cpu_ticks()
    others = None
    if ticks and after and after[1] > ticks[1]:
        busy_share = (after[0] - ticks[0]) / (after[1] - ticks[1])
        others = max(0.0, busy_share - cpu / (wall * (os.cpu_count() or 1)))
    return n * batch / wall, n * batch / max(cpu, 1e-9), others


def bench(model, loss_fn, batch: int, seconds: float, params=None, channels_last=False):
    x = torch.rand(batch, 3, 32, 32)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))
    trainable = [p for p in (params if params is not None else model.parameters()) if p.requires_grad]
    opt = torch.optim.SGD(trainable, lr=0.01, momentum=0.9)

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), x, y).backward()
        opt.step()

    def eval_step() -> None:
        with torch.no_grad():
            model(x)

    model.train()
    train = timed(train_step, seconds, batch)
    model.eval()
    evaluate = timed(eval_step, seconds, batch)
    return train, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per model and mode")
    parser.add_argument("--width", type=float, default=1.0, help="width of the CIFAR classifiers")
    parser.add_argument("--models", nargs="*", default=list(CLASSIFIER_KEYS), help="classifier keys to time")
    parser.add_argument("--segnet-widths", type=float, nargs="*", default=[0.125, 0.25])
    parser.add_argument("--channels-last", action="store_true",
                        help="SegNet rows with NHWC input and weights (CIFAR classifiers use NHWC anyway)")  # fmt: skip
    parser.add_argument("--nchw", action="store_true",
                        help="run the CIFAR classifiers in NCHW (they convert their input to NHWC otherwise)")
    parser.add_argument("--omp-passive", action="store_true", help="set OMP_WAIT_POLICY=PASSIVE before torch")
    parser.add_argument("--thp", action="store_true", help="set THP_MEM_ALLOC_ENABLE=1 (huge pages) before torch")
    args = parser.parse_args()
    if args.nchw:
        import repro.models.classifiers as zoo

        zoo._channels_last = lambda x: x.contiguous()  # measuring what the NHWC conversion buys
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, 32x32, float32, "
        f"classifiers width {args.width:g} {'NCHW' if args.nchw else 'NHWC'}, "
        f"SegNet {'NHWC' if args.channels_last else 'NCHW'}, "
        f"THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset')}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}"
    )
    # Other processes on the same cores distort wall-clock rates, so the load is printed before and after.
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    # "others": share of all CPUs used by other processes while this row was timed (0.5 = one core
    # of two); rows with a large share understate the machine's throughput.
    header = (
        f"{'model':<28}{'params':>11}{'MMACs/img':>10}"
        f"{'train img/s':>13}{'img/CPU-s':>11}{'eval img/s':>12}{'img/CPU-s':>11}{'others':>8}"
    )
    print(header)
    print("-" * len(header))

    def row(label, params, macs, train, evaluate=None):
        ev = f"{evaluate[0]:>12,.0f}{evaluate[1]:>11,.0f}" if evaluate else " " * 23
        shares = [m[2] for m in (train, evaluate) if m and m[2] is not None]
        others = f"{max(shares):>8.0%}" if shares else ""
        print(f"{label:<28}{params:>11,}{macs / 1e6:>10.2f}{train[0]:>13,.0f}{train[1]:>11,.0f}{ev}{others}", flush=True)

    def ce(out, x, y):
        return F.cross_entropy(out, y)

    def mse(out, x, y):
        return F.mse_loss(out, x)

    for key in args.models:
        clf = build_classifier(key, family="cifar", num_classes=10, width=args.width)
        net = clf.model  # the wrapper adds only a normalisation at 32x32
        train, evaluate = bench(net, ce, args.batch, args.seconds)
        row(f"{key} {clf.spec.name} (w={args.width:g})", sum(p.numel() for p in net.parameters()),
            count_macs(net, 32), train, evaluate)  # fmt: skip

    for width in args.segnet_widths:
        ae = SegNet(SegNetConfig(width=width))
        if args.channels_last:
            ae = ae.to(memory_format=torch.channels_last)
        params, macs = sum(p.numel() for p in ae.parameters()), count_macs(ae, 32)
        train, evaluate = bench(ae, mse, args.batch, args.seconds, channels_last=args.channels_last)
        row(f"SegNet pretrain (w={width:g})", params, macs, train, evaluate)

        clf = build_classifier("V", family="cifar", num_classes=10, width=args.width).freeze()
        ae.set_trainable("decoder")
        chain = torch.nn.Sequential(ae, clf)
        train, _ = bench(chain, ce, args.batch, args.seconds, params=ae.decoder_parameters(),
                         channels_last=args.channels_last)  # fmt: skip
        row(f"SegNet fine-tune (w={width:g})", params, macs + count_macs(clf, 32), train)
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
