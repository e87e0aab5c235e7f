"""A few fine-tuning steps of the decoder, run by ``tests/test_distributed.py`` once in one process and
once under ``torchrun --nproc_per_node=2``; writes the resulting decoder state to the file named on the
command line (rank 0).

BatchNorm layers are kept in eval mode (frozen statistics) and the optimiser is plain SGD, so that one
global batch split over two processes must give, by construction, the same gradient as the whole batch
in one process: each process's loss is the mean over its half, DDP averages the two gradients, and the
mean of two equal-sized half-batch means is the full-batch mean. What remains is the order of
floating-point sums. Nothing here runs on import.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(out: str, steps: int = 3) -> None:
    import torch
    import torch.nn.functional as F

    from repro import distributed
    from repro.data import ImageDataset, TensorImages
    from repro.models.classifiers import build_classifier
    from repro.models.segnet import SegNet, SegNetConfig
    from repro.training import LoopOptions, Trainer

    torch.set_num_threads(1)
    dist, device = distributed.init_distributed("cpu")
    torch.manual_seed(0)
    ae = SegNet(SegNetConfig(width=0.125))
    clf = build_classifier("A", family="cifar", num_classes=10, width=0.25).freeze()
    ae.set_trainable("decoder")
    g = torch.Generator().manual_seed(1)
    images = TensorImages(torch.randint(0, 256, (64, 3, 32, 32), dtype=torch.uint8, generator=g),
                          torch.randint(0, 10, (64,), generator=g), tuple("0123456789"), "random")
    model = distributed.wrap_ddp(ae, device)

    def compute(x, y):
        logits = clf(model(x))
        return F.cross_entropy(logits, y), logits

    trainer = Trainer(
        unit="ddp-step", key="k", state_path=Path(out).with_suffix(".state"), model=model,
        optimizer=torch.optim.SGD([p for p in ae.parameters() if p.requires_grad], lr=0.05), compute=compute,
        dataset=ImageDataset(images), seed=3, epochs=1, batch_size=16,
        options=LoopOptions(device=device, checkpoint_every_s=1e9, progress=False),
        set_train_mode=lambda: ae.eval(),  # BatchNorm statistics frozen
    )
    trainer.steps_per_epoch = trainer.total_steps = steps
    trainer.fit(resume=False)
    if dist.is_main:
        torch.save({k: v.clone() for k, v in ae.decoder.state_dict().items()}, out)
    distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
