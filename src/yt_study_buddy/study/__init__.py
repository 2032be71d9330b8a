"""Stage study: the vault's flashcards gathered for review: Anki export and spaced-repetition scheduling."""

__all__: list[str] = []
