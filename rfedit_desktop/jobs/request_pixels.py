"""A picture the window hands over as a QImage becomes the request's pixels on a job thread.

Making the composite of a 12-megapixel document is the window's (its layers live there); turning
that QImage into straight RGBA for the engine (~60 ms here) need not hold the window, so the
service does it on the thread that uploads. The variants of one Run share one conversion.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from rfedit_desktop.document.image_io import qimage_to_array


class RequestPixels:
    """`pixels_for(request)`: the request with numpy pixels (unchanged if it has them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: tuple[int, np.ndarray] | None = None  # (QImage.cacheKey(), its pixels)

    def pixels_for(self, request: Any) -> Any:
        image = getattr(request, "image", None)
        if not isinstance(image, QImage):
            return request
        key = image.cacheKey()
        with self._lock:
            pixels = self._last[1] if self._last is not None and self._last[0] == key else None
        if pixels is None:
            pixels = qimage_to_array(image, straight=True)
            with self._lock:
                self._last = (key, pixels)
        return replace(request, image=pixels)
