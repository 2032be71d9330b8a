"""youtube-study-buddy: turn YouTube videos into Obsidian study notes."""

__version__ = "0.1.0"
