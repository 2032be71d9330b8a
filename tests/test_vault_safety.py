"""The app acts only inside the vault, whatever the vault contains: links in its hidden folder, other
vaults below it, a read-only disk, leftovers of a crash, a second run on the same videos."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_pipeline import add_videos, make_app, vid
from yt_study_buddy.vault.store import HIDDEN_DIR


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# -- point 2: links inside .study-buddy ------------------------------------------------------------


@pytest.mark.parametrize("folder", ["metadata", "generated"])
def test_links_in_the_hidden_folder_are_never_followed(tmp_path, fake_youtube, folder):
    urls = add_videos(fake_youtube, 1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / f"{vid(0)}.json").write_text("{}", encoding="utf-8")  # would be deleted as "generated"
    hidden = tmp_path / "notes" / HIDDEN_DIR
    hidden.mkdir(parents=True)
    (hidden / folder).symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    report = make_app(tmp_path, fake_youtube).process_urls(urls)
    assert snapshot(outside) == before
    result = report.results[0]
    if folder == "metadata":  # needed for the note: the video fails, naming the link
        assert not result.success and "link" in result.error and folder in result.error, result.error
        assert result.error_kind == "vault"
    else:  # only a safety copy of paid work: the note is still written
        assert result.success, result.error
