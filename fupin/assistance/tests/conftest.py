from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    """Each test stores its photos in its own folder, so files never leak between tests."""
    settings.MEDIA_ROOT = tmp_path / "media"
