"""Widgets of the rfedit window. Nothing here imports torch, diffusers or transformers at import
time, so the window can appear before the model is touched."""
