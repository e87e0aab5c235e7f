"""The end-to-end pipeline: pretrain A_S, get the classifiers, fine-tune the decoders, evaluate.

Each stage is a module with ``run(ctx) -> dict`` (its summary), made of units cached under ``<out>/ckpt``:

    pretrain, classifiers, finetune, evaluate   the four stages (Secs. 3.2-3.5)
    stages        the stage table and the loop running the stages a command names
    stage_names   the stages' names, in pipeline order
    context       the run context (configuration, device, folders) and the run's log
    unit_keys     what each unit's numbers depend on: the keys naming its folder and finishing it
    units         a unit's files (state.pt, model.pt, done.json): finished, reused, finished off
    model_files   models rebuilt from their model files
    seeds         every unit's seed, derived from the run seed
    config_guard  a run of another configuration does not replace the results in ``--out``

Import names from the module that defines them; this package re-exports nothing.
"""
