"""Independent ULLC implementations the harness is tested against (not shipped in the wheel)."""
