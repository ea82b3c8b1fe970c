"""The ULLC specification, shipped with the package as harness.specs (markdown + JSON Schemas)."""
