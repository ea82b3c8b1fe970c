"""Fuzzing support: Hypothesis strategies for ULLC protocol data (:mod:`.strategies`)."""
