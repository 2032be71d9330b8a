"""Stage notes: turning a transcript into notes and assessments (the engines and their prompts)."""
