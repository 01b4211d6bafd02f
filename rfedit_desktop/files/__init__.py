"""Files on disk, for every layer: atomic writes and the clean-up of killed writes' leftovers.

Pure Python (no torch, no Qt), so the engine and the document package share it.
"""
