"""Happy path: connects under budget, ULLC beats sequential (specs: SIG, STUN, ROUTE)."""
