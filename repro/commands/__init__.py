"""Sub-commands of the ``repro`` CLI; see :mod:`repro.cli`."""
