"""The pipeline's four stages by name, in pipeline order (Sec. 3.2-3.5: pretrain A_S, get the classifiers,
fine-tune the decoders, evaluate).

The one source of the names: each is a command (``repro pretrain``, ...), the folder of its units under
``<out>/ckpt/<stage>/``, a stage ``--force`` recomputes, and a key of the stage table
(:data:`repro.pipeline.stages.STAGES`). Importing this module imports nothing else, so the command line
can name the stages without loading torch.
"""

PRETRAIN = "pretrain"
CLASSIFIERS = "classifiers"
FINETUNE = "finetune"
EVALUATE = "evaluate"

STAGE_NAMES = (PRETRAIN, CLASSIFIERS, FINETUNE, EVALUATE)
