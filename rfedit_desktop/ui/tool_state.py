"""Transient painting state: the current tool, brush settings and colours.

Kept apart from the document (persistent state) as InvokeAI does: switching tools or resizing
the brush is not an undoable change to the picture, and it survives closing a document.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import Enum

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QColor

from rfedit_desktop.ui.settings import read_bool, read_float

MIN_SIZE = 1.0
MAX_SIZE = 1000.0
DEFAULT_FG = QColor(0, 0, 0)
DEFAULT_BG = QColor(255, 255, 255)


class Tool(str, Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    PICKER = "picker"
    MASK = "mask"
    SELECT_RECT = "select-rect"
    SELECT_ELLIPSE = "select-ellipse"
    LASSO = "lasso"
    POLYGON = "polygon"
    MAGIC_WAND = "magic-wand"
    MOVE = "move"
    TRANSFORM = "transform"
    CROP = "crop"
    FILL = "fill"

    @property
    def label(self) -> str:
        return {"brush": "Brush", "eraser": "Eraser", "picker": "Colour picker",
                "mask": "Mask brush", "select-rect": "Rectangle selection",
                "select-ellipse": "Ellipse selection", "lasso": "Freehand lasso",
                "polygon": "Polygonal lasso", "magic-wand": "Magic wand", "move": "Move",
                "transform": "Transform", "crop": "Crop", "fill": "Fill"}[self.value]

    @property
    def paints(self) -> bool:
        return self in (Tool.BRUSH, Tool.ERASER, Tool.MASK)


@dataclass(frozen=True)
class AreaOptions:
    """Options of the magic wand and the fill tool."""

    tolerance: int = 32
    """Largest difference per channel (0..255) from the clicked pixel's colour."""
    contiguous: bool = True
    merged: bool = False
    """Sample the visible image instead of the active layer."""


@dataclass(frozen=True)
class BrushSettings:
    """What the tool options dock edits; `size` is a diameter in document pixels."""

    size: float = 24.0
    hardness: float = 0.8
    opacity: float = 1.0
    flow: float = 1.0
    spacing: float = 0.1
    pressure_size: bool = True
    pressure_opacity: bool = False

    def clamped(self) -> BrushSettings:
        def unit(v: float) -> float:
            return min(1.0, max(0.0, float(v)))

        return replace(
            self,
            size=min(MAX_SIZE, max(MIN_SIZE, float(self.size))),
            hardness=unit(self.hardness),
            opacity=unit(self.opacity),
            flow=min(1.0, max(0.01, float(self.flow))),
            spacing=min(2.0, max(0.02, float(self.spacing))),
        )


# Steps for [ and ]: roughly 10% per press, like most paint programs, so small and huge brushes
# both change at a useful rate.
def bigger(size: float) -> float:
    return min(MAX_SIZE, max(size + 1.0, round(size * 1.15)))


def smaller(size: float) -> float:
    return max(MIN_SIZE, min(size - 1.0, round(size / 1.15)))


class ToolState(QObject):
    """Current tool, brush settings and colours, with change signals for the widgets."""

    tool_changed = Signal(object)  # Tool
    brush_changed = Signal(object)  # BrushSettings
    colours_changed = Signal(QColor, QColor)  # foreground, background
    area_changed = Signal(object)  # AreaOptions

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tool = Tool.BRUSH
        self._brush = BrushSettings()
        self._fg = QColor(DEFAULT_FG)
        self._bg = QColor(DEFAULT_BG)
        self._area = AreaOptions()

    # tool ---------------------------------------------------------------------------------
    @property
    def tool(self) -> Tool:
        return self._tool

    def set_tool(self, tool: Tool) -> None:
        tool = Tool(tool)
        if tool is not self._tool:
            self._tool = tool
            self.tool_changed.emit(tool)

    # brush --------------------------------------------------------------------------------
    @property
    def brush(self) -> BrushSettings:
        return self._brush

    def set_brush(self, brush: BrushSettings) -> None:
        brush = brush.clamped()
        if brush != self._brush:
            self._brush = brush
            self.brush_changed.emit(brush)

    def update_brush(self, **changes: object) -> None:
        self.set_brush(replace(self._brush, **changes))

    def grow(self) -> None:
        self.update_brush(size=bigger(self._brush.size))

    def shrink(self) -> None:
        self.update_brush(size=smaller(self._brush.size))

    # magic wand and fill -----------------------------------------------------------------
    @property
    def area(self) -> AreaOptions:
        return self._area

    def update_area(self, **changes: object) -> None:
        area = replace(self._area, **changes)
        area = replace(area, tolerance=int(min(255, max(0, area.tolerance))))
        if area != self._area:
            self._area = area
            self.area_changed.emit(area)

    # colours ------------------------------------------------------------------------------
    @property
    def foreground(self) -> QColor:
        return QColor(self._fg)

    @property
    def background(self) -> QColor:
        return QColor(self._bg)

    def set_foreground(self, colour: QColor) -> None:
        if QColor(colour) != self._fg:
            self._fg = QColor(colour)
            self.colours_changed.emit(self.foreground, self.background)

    def set_background(self, colour: QColor) -> None:
        if QColor(colour) != self._bg:
            self._bg = QColor(colour)
            self.colours_changed.emit(self.foreground, self.background)

    def swap_colours(self) -> None:
        self._fg, self._bg = self._bg, self._fg
        self.colours_changed.emit(self.foreground, self.background)

    def default_colours(self) -> None:
        self._fg, self._bg = QColor(DEFAULT_FG), QColor(DEFAULT_BG)
        self.colours_changed.emit(self.foreground, self.background)

    # persistence --------------------------------------------------------------------------
    def save(self, settings: QSettings) -> None:
        settings.beginGroup("tools")
        settings.setValue("tool", self._tool.value)
        for key, value in asdict(self._brush).items():
            settings.setValue(f"brush/{key}", value)
        settings.setValue("foreground", self._fg.name(QColor.NameFormat.HexArgb))
        settings.setValue("background", self._bg.name(QColor.NameFormat.HexArgb))
        settings.endGroup()

    def load(self, settings: QSettings) -> None:
        """Unknown or damaged values fall back to defaults: a bad INI must not stop the app."""
        settings.beginGroup("tools")
        try:
            self.set_tool(Tool(str(settings.value("tool", Tool.BRUSH.value))))
        except ValueError:
            self.set_tool(Tool.BRUSH)
        defaults = BrushSettings()
        values: dict[str, object] = {}
        for field in fields(BrushSettings):
            default = getattr(defaults, field.name)
            key = f"brush/{field.name}"
            if isinstance(default, bool):
                values[field.name] = read_bool(settings, key, default)
            else:
                values[field.name] = read_float(settings, key, default)
        self.set_brush(BrushSettings(**values))  # type: ignore[arg-type]
        for key, setter in (("foreground", self.set_foreground),
                            ("background", self.set_background)):
            colour = QColor(str(settings.value(key, "")))
            if colour.isValid():
                setter(colour)
        settings.endGroup()
