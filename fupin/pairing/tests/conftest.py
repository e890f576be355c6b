import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test writes photos into its own folder, so file checks see only their own files."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"
