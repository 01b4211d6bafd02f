"""Thumbnails of photo-sized pictures (staging strip, layers panel, .ora): quick, still the picture."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from rfedit_desktop.document.image_io import fit_smoothly, qimage_to_array
from rfedit_desktop.jobs.preview_image import to_qimage

skdata = pytest.importorskip("skimage.data")


def test_a_photo_thumbnail_matches_a_full_smooth_scale(qapp) -> None:
    photo = np.kron(skdata.astronaut(), np.ones((6, 8, 1), np.uint8))  # 3072 × 4096
    image = to_qimage(photo)
    quick = fit_smoothly(image, 96)
    full = image.scaled(96, 96, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)
    assert (quick.width(), quick.height()) == (full.width(), full.height()) == (96, 72)
    a = qimage_to_array(quick)[..., :3].astype(int)
    b = qimage_to_array(full)[..., :3].astype(int)
    assert np.abs(a - b).mean() < 4.0, "the thumbnail is still the picture"
    small = to_qimage(photo[:200, :300])
    assert fit_smoothly(small, 96).width() == 96  # a small image takes the plain path
