"""Stage vault: the Obsidian vault on disk (notes, index, cross-links, job log, atomic writes)."""
