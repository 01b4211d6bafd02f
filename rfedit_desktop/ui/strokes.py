"""From the window's tool state to a document `Stroke`: which layer, which settings.

The canvas knows pointer positions and pressure; the document knows pixels. This module is the
only place that decides that the mask brush paints the mask layer (adding one when missing),
that the eraser is a brush with `eraser=True`, and that a hidden layer is not painted blind.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF

from rfedit_desktop.document.brush import BrushSettings as DocBrush
from rfedit_desktop.document.brush import Stroke
from rfedit_desktop.document.errors import DocumentError
from rfedit_desktop.ui.tool_state import Tool, ToolState


def target_layer(document, tool: Tool):
    """The layer `tool` paints on, and the commands that prepared it (for the stroke's one
    history entry): the mask brush creates the mask layer the first time and shows a hidden
    one, since painting an invisible mask is confusing."""
    if tool is Tool.MASK:
        return document.mask_for_stroke()
    layer = document.active_layer
    if layer is None:
        node = document.active_node
        if node is not None and node.is_group:
            raise DocumentError(f'"{node.name}" is a group: select a layer in it to paint.')
        raise DocumentError("Select a layer to paint on.")
    if not layer.visible:
        raise DocumentError(f'Layer "{layer.name}" is hidden: show it to paint on it.')
    group = layer.parent
    while group is not None and group is not document.root:
        if not group.visible:
            raise DocumentError(f'Group "{group.name}" is hidden: show it to paint in it.')
        group = group.parent
    return layer, []


def settings_for(tools: ToolState, tool: Tool, eraser: bool) -> DocBrush:
    b = tools.brush
    return DocBrush(size=b.size, hardness=b.hardness, opacity=b.opacity, flow=b.flow,
                    spacing=b.spacing, color=tools.foreground, eraser=eraser,
                    pressure_size=b.pressure_size, pressure_opacity=b.pressure_opacity)


def begin(document, tools: ToolState, tool: Tool, pos: QPointF, pressure: float,
          eraser_end: bool = False) -> Stroke:
    """Start a stroke with `tool` at document point `pos`; the pen's eraser end erases."""
    if not tool.paints:
        raise ValueError(f"{tool.label} does not paint")
    eraser = eraser_end or tool is Tool.ERASER
    layer, prelude = target_layer(document, tool)
    stroke = Stroke(document, settings_for(tools, tool, eraser))
    stroke.begin(layer, pos, pressure, prelude)
    return stroke
