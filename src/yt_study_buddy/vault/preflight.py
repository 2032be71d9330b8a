"""Stage vault: checks before a batch, before anything is fetched or paid for.

- The folder must be a vault of its own: one holding other vaults (their
  hidden ``.study-buddy/`` folders below it, as ``-o ~`` or ``-o ""`` would)
  is refused unless the user forces it, so their notes are never rewritten.
- It must be writable: a read-only disk or an unusable ``vault.lock`` is one
  clear ``VaultError`` for the batch, not a traceback after paying for notes.
- Our temp files left by a crash (a kill between temp write and rename) are
  removed: only our naming pattern, only regular files older than this
  process, only in the vault's visible folders and its own hidden folder.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from yt_study_buddy.errors import InputError, StudyBuddyError, VaultError
from yt_study_buddy.vault.atomic import LOADED_AT, TEMP_NAME, vault_error_from_oserror
from yt_study_buddy.vault.store import HIDDEN_DIR, Vault

__all__ = ["prepare_vault", "vault_problem", "survey", "check_writable", "remove_stale_temp_files"]

log = logging.getLogger(__name__)

def survey(root: Path) -> tuple[list[Path], list[Path]]:
    """Return (folders below root that are vaults of their own, our temp files) in one walk."""
    nested: list[Path] = []
    temps: list[Path] = []
    own_hidden = root / HIDDEN_DIR
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        ours = here == own_hidden or own_hidden in here.parents
        keep = []
        for name in dirs:
            if ours or not name.startswith(".") or (here == root and name == HIDDEN_DIR):
                keep.append(name)
            elif name == HIDDEN_DIR:
                nested.append(here)  # another vault: never look inside it
            # other hidden folders (.obsidian, .git, .trash) are not ours to walk
        dirs[:] = sorted(keep)
        temps += [here / name for name in files if TEMP_NAME.match(name)]
    return nested, temps


def check_writable(vault: Vault) -> None:
    """Raise VaultError unless notes, the hidden folder and the lock can all be written."""
    if vault.root.exists() and not vault.root.is_dir():
        raise VaultError(f"the notes folder {vault.root} is a file, not a folder")
    vault.ensure_hidden()
    with vault.lock():
        for folder in (vault.root, vault.hidden):
            try:
                fd, name = tempfile.mkstemp(dir=folder, prefix=".write-check.", suffix=".tmp")
                os.close(fd)
                os.unlink(name)
            except OSError as exc:
                raise vault_error_from_oserror(exc, folder, "write in") from exc


def remove_stale_temp_files(temps: list[Path]) -> int:
    """Remove the given temp files that are regular files older than this process; return how many."""
    # Our writes take milliseconds: a temp file last written before this process began is no
    # write in progress, of this run or of another one running beside it.
    cutoff = LOADED_AT
    removed = 0
    for path in temps:
        try:
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                os.unlink(path)
                removed += 1
        except OSError:
            continue  # gone already, or not ours to remove after all
    return removed


def prepare_vault(vault: Vault, *, allow_nested: bool = False) -> int:
    """Check the vault before a batch (see the module text); return the stale temp files removed."""
    nested, temps = survey(vault.root) if vault.root.is_dir() else ([], [])
    if nested and not allow_nested:
        names = ", ".join(vault.relative(p) for p in nested[:5]) + (" …" if len(nested) > 5 else "")
        raise InputError(f"the notes folder {vault.root} holds other vaults ({names}): choose one of them "
                         "with -o, or pass --force to use this folder anyway")
    check_writable(vault)
    removed = remove_stale_temp_files(temps)
    if removed:
        log.info("removed %d temp file(s) left by an earlier crash in %s", removed, vault.root)
    return removed


def vault_problem(vault: Vault, *, needed: bool = True, allow_nested: bool = False) -> StudyBuddyError | None:
    """Run prepare_vault when a batch needs the vault; return its error (None when fine) for the batch to stop on."""
    try:
        if needed:
            prepare_vault(vault, allow_nested=allow_nested)
    except StudyBuddyError as exc:
        return exc
    return None
