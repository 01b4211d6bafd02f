"""Image files for every layer: one decoder and one encoder, numpy and Pillow only.

No torch and no Qt, so the engine, the CLI and the document package read and write pixels the
same way.
"""
