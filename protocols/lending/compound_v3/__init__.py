"""Compound v3 (Comet): reference integer math, vectorized kernels, the ``lending.compound_v3``
venue and its absorber and storefront-buyer keepers.
"""
