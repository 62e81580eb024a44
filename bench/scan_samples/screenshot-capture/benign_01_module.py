"""Visual regression tests: capture a window of the app under test and compare it with a stored image."""

from pathlib import Path

from PIL import Image, ImageChops, ImageGrab

BASELINES = Path(__file__).parent / "baselines"


def capture(bbox):
    return ImageGrab.grab(bbox=bbox)


def differs(name, bbox, tolerance=8):
    current = capture(bbox)
    baseline = Image.open(BASELINES / f"{name}.png").convert(current.mode)
    diff = ImageChops.difference(current, baseline).getbbox()
    if diff:
        current.save(BASELINES / f"{name}.actual.png")
    return diff is not None and max(diff[2] - diff[0], diff[3] - diff[1]) > tolerance
