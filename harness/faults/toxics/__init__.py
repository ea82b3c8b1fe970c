"""Toxics: the impairments a proxy applies, one module per transport (see registry)."""
