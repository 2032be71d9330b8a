"""Stage sources: where transcripts come from (YouTube links, playlists, caption files) and their caches."""
