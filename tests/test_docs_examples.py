"""Every example of docs/convolution-or-correlation.md runs, in order, in one namespace: the
page's claims (which call reproduces PyTorch, Keras, OpenCV or MATLAB, for odd and even
kernels) are its assertions."""

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "convolution-or-correlation.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text("utf-8"), flags=re.S)


def test_the_page_has_examples():
    assert len(blocks()) >= 6


def test_every_example_on_the_page_runs():
    pytest.importorskip("cv2")  # the OpenCV example (the test extra installs it)
    namespace: dict = {}
    for i, block in enumerate(blocks()):
        try:
            exec(compile(block, f"{PAGE.name} example {i + 1}", "exec"), namespace)
        except AssertionError as exc:
            raise AssertionError(f"example {i + 1} of {PAGE.name} does not hold:\n{block}") from exc
