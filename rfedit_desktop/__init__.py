"""rfedit: a desktop image editor with RF-Inversion edits on FLUX.1.

Layers (imports point down only):
    ui/ -> jobs/ -> engine/ -> flow/
    ui/ -> document/
`document/` never imports torch; `engine/` and `flow/` never import Qt.
`files/` (atomic writes) and `imaging/` (image decoding and encoding) sit below every layer and
import neither.
"""

__version__ = "0.1.0"
