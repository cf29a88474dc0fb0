"""SEG-Y in and out: reading with segyio (:mod:`.segy`) and the streaming writer
(:mod:`.segy_writer`). The SEG-Y to Zarr survey store conversion lands here with the ingest
issue. Never imports :mod:`seisflow.models`.
"""
