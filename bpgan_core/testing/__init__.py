"""Test support for bpgan and its plugins: the conformance kit, hypothesis strategies, a toy modality."""
