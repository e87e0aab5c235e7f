"""Sub-commands of the ``repro`` CLI; see :mod:`repro.cli`.

Each command module imports what it runs (the pipeline, torch, matplotlib) inside its functions, not at
its top: the CLI imports every command module to build its parser, and so `repro --help` takes 0.11 to
0.15 s where importing torch alone takes 1.8 s (measured on the 2-core development machine, warm file
cache). That is the one reason for imports inside functions in this package; the modules below the
commands import at their tops, except where a torch-free path needs it (said where it is done).
"""
