"""The Fractal Flow model (tensors only; never imports :mod:`seisflow.ingest`).

Coupling flows, fractal coupling, CNN/MLP/KAN subnets and the standard, KAT-GMM and LDA
priors live here once the model issue lands; until then this package is empty on purpose.
"""
