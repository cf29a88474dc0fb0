"""The commands of the ``seisflow`` program (:mod:`seisflow.cli` groups them), one module
per concept: :mod:`~seisflow.commands.survey` (synth, ingest, info, export),
:mod:`~seisflow.commands.model` (train, validate, demo) and :mod:`~seisflow.commands.maps`
(map, evaluate); :mod:`~seisflow.commands.params` holds their shared option types.

Every command imports what it needs when it runs, so ``seisflow --help`` and the SEG-Y
commands start fast and never import torch.
"""
