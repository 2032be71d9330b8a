"""Stage sources: parse caption files (VTT, SRT, YouTube json3, plain text) into timed segments.

Light on purpose: stdlib only, so the CLI can import it eagerly. Handles the
shapes people actually have: YouTube auto-captions (rolling lines with inline
timing tags), Teams VTT (``<v Speaker>`` voice tags), Zoom VTT (cue numbers and
``Name: text``), Coursera SRT/TXT exports and transcripts pasted as text.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from yt_study_buddy.errors import InputError
from yt_study_buddy.models import Segment, Source, Transcript, VideoMeta

__all__ = [
    "parse_vtt",
    "parse_srt",
    "parse_json3",
    "parse_plain_text",
    "local_video_id",
    "load_caption_file",
    "read_caption_bytes",
    "CaptionTimeError",
    "MAX_CAPTION_FILE_BYTES",
    "MAX_CAPTION_HOURS",
    "CAPTION_SUFFIXES",
]

MAX_CAPTION_FILE_BYTES = 20 * 1024 * 1024
#: No lecture (and no YouTube video) runs this long; a later time is a broken file.
MAX_CAPTION_HOURS = 100
_MAX_SECONDS = MAX_CAPTION_HOURS * 3600
_TOO_LARGE = "file is larger than 20 MB; is it really a caption file?"
CAPTION_SUFFIXES = (".vtt", ".srt", ".txt", ".json")

# 01:02:03.456, 1:02:03,456, 02:03.456 (VTT allows omitting hours)
_CUE_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?"
_CUE_LINE = re.compile(rf"^\s*{_CUE_TIME}\s*-->\s*{_CUE_TIME}")
_VOICE_TAG = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
# [01:02:03] text, [1:02] text, 00:01:02 Speaker: text, 0:05 text, or a stamp alone on a line
_TEXT_STAMP = re.compile(r"^\s*\[?((?:\d{1,2}:)?\d{1,2}:\d{2})(?:[.,]\d{1,3})?\]?(?:\s+|$)(.*)$")
_TITLE_LINE = re.compile(r"^\s*(?:NOTE\s+)?Title\s*:\s*(.+?)\s*$", re.IGNORECASE)
_LANGUAGE_LINE = re.compile(r"^\s*Language\s*:\s*([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Speaking rate used to estimate times for text without stamps (words per second).
_WORDS_PER_SECOND = 2.5
_WORDS_PER_ESTIMATED_SEGMENT = 30
_STEM_NOISE = re.compile(r"(?:[._-](?:[a-z]{2,3}(?:-[A-Za-z]{2,4})?|transcript|captions?|subtitles?|subs))+$",
                         re.IGNORECASE)


class CaptionTimeError(ValueError):
    """A caption time that cannot be right: minutes or seconds above 59, or absurd hours."""


def _seconds(hours: str | None, minutes: str, seconds: str, fraction: str | None) -> float:
    # Checked before int(): a hundred-digit hour field must not become a huge number.
    if hours and (len(hours.lstrip("0")) > 3 or int(hours) > MAX_CAPTION_HOURS):
        raise CaptionTimeError(f"more than {MAX_CAPTION_HOURS} hours")
    if int(minutes) > 59 or int(seconds) > 59:
        raise CaptionTimeError("minutes and seconds go up to 59")
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        value += int(fraction.ljust(3, "0")[:3]) / 1000
    return float(value)


def _stamp_seconds(stamp: str) -> float:
    parts = stamp.split(":")
    while len(parts) < 3:
        parts.insert(0, "0")
    return _seconds(parts[0], parts[1], parts[2], None)


def _time_error(number: int, stamp: str, exc: CaptionTimeError) -> CaptionTimeError:
    shown = stamp.strip()
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return CaptionTimeError(f"line {number}: time out of range ({exc}): {shown!r}")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _TAG.sub("", text)).strip()


def _unescape(text: str) -> str:
    # VTT/SRT only define a handful of entities; html.unescape would also be fine
    # but these are the ones caption tools write.
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ")
            .replace("&lrm;", "").replace("&rlm;", "").replace("&amp;", "&"))


def _cue_text_lines(lines: list[str]) -> list[str]:
    """Strip tags from a cue's lines; a Teams voice tag becomes a 'Speaker: ' prefix."""
    out: list[str] = []
    for raw in lines:
        voice = _VOICE_TAG.search(raw)
        text = _clean(_unescape(_TAG.sub("", raw) if voice is None else raw[voice.end():]))
        if voice is not None:
            text = _clean(_unescape(_TAG.sub("", text)))
            speaker = voice.group(1).strip()
            if text and speaker and not text.startswith(speaker + ":"):
                text = f"{speaker}: {text}"
        if text:
            out.append(text)
    return out


def _cue_blocks(text: str) -> list[tuple[float, float, list[str]]]:
    """Split VTT/SRT text into (start, end, text lines) cues."""
    cues: list[tuple[float, float, list[str]]] = []
    current: list[str] | None = None
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        match = _CUE_LINE.match(line)
        if match:
            if current and current[-1].strip().isdigit():
                current.pop()  # an SRT index that was not preceded by a blank line
            current = []
            try:
                start, end = _seconds(*match.group(1, 2, 3, 4)), _seconds(*match.group(5, 6, 7, 8))
            except CaptionTimeError as exc:
                raise _time_error(number, match.group(0), exc) from None
            cues.append((start, end, current))
        elif current is not None:
            # A cue ends at an empty line. YouTube's auto-captions put a line holding
            # a single space right under the timing line, which belongs to the cue.
            if not line.strip() and (line == "" or current):
                current = None
            else:
                current.append(line)
    return cues


def _parse_cues(text: str) -> list[Segment]:
    """Parse VTT or SRT cues, dropping lines repeated from the previous cue."""
    segments: list[Segment] = []
    previous_lines: list[str] = []
    for start, end, lines in _cue_blocks(text):
        cue_lines = _cue_text_lines(lines)
        # YouTube auto-captions repeat the previous cue's line above the new one
        # (and add 10 ms cues that only hold the old text): keep only what is new.
        fresh = [line for line in cue_lines if line not in previous_lines]
        previous_lines = cue_lines
        if fresh:
            segments.append(Segment(start, max(0.0, end - start), " ".join(fresh)))
    return segments


def parse_vtt(text: str) -> list[Segment]:
    """Parse WebVTT captions: strip inline timing/style tags, drop rolling duplicates."""
    return _parse_cues(text.lstrip("\ufeff"))


def parse_srt(text: str) -> list[Segment]:
    """Parse SubRip (.srt) captions."""
    return _parse_cues(text.lstrip("\ufeff"))


def parse_json3(data: dict) -> list[Segment]:
    """Parse YouTube's json3 caption format (events with segs)."""
    segments: list[Segment] = []
    for event in data.get("events") or []:
        segs = event.get("segs")
        if not segs:
            continue
        text = _clean("".join(str(seg.get("utf8", "")) for seg in segs))
        if not text:
            continue  # auto-captions send bare "\n" append events
        start = float(event.get("tStartMs", 0)) / 1000
        duration = float(event.get("dDurationMs", 0)) / 1000
        segments.append(Segment(start, duration, text))
    return segments


def _estimate_segments(lines: list[str]) -> list[Segment]:
    words: list[str] = []
    chunks: list[str] = []
    for sentence in _SENTENCE_END.split(" ".join(lines)):
        words.extend(sentence.split())
        if len(words) >= _WORDS_PER_ESTIMATED_SEGMENT // 2:
            chunks.append(" ".join(words))
            words = []
    if words:
        chunks.append(" ".join(words))
    segments: list[Segment] = []
    elapsed = 0.0
    for chunk in chunks:
        duration = len(chunk.split()) / _WORDS_PER_SECOND
        segments.append(Segment(round(elapsed, 2), round(duration, 2), chunk))
        elapsed += duration
    return segments


def parse_plain_text(text: str) -> list[Segment]:
    """Parse a .txt transcript, with or without [hh:mm:ss] stamps; estimate times when unstamped."""
    lines = [(number, line.strip()) for number, line in enumerate(text.lstrip("\ufeff").splitlines(), 1)]
    lines = [(number, line) for number, line in lines if line and not _TITLE_LINE.match(line)]
    stamped: list[tuple[float, str]] = []
    pending_start: float | None = None
    loose: list[str] = []
    for number, line in lines:
        match = _TEXT_STAMP.match(line)
        if match:
            try:
                start = _stamp_seconds(match.group(1))
            except CaptionTimeError as exc:
                raise _time_error(number, match.group(1), exc) from None
            rest = _clean(match.group(2))
            if rest:
                stamped.append((start, rest))
                pending_start = None
            else:
                pending_start = start  # stamp on its own line: text follows
        elif pending_start is not None:
            stamped.append((pending_start, _clean(line)))
            pending_start = None
        elif stamped:
            start, previous = stamped[-1]
            stamped[-1] = (start, f"{previous} {_clean(line)}")
        else:
            loose.append(_clean(line))
    if not stamped:
        return _estimate_segments(loose)
    if loose:  # text before the first stamp belongs at 0:00
        stamped.insert(0, (0.0, " ".join(loose)))
    segments: list[Segment] = []
    for index, (start, body) in enumerate(stamped):
        if index + 1 < len(stamped):
            duration = max(0.0, stamped[index + 1][0] - start)
        else:
            duration = round(len(body.split()) / _WORDS_PER_SECOND, 2)
        segments.append(Segment(start, duration, body))
    return segments


def local_video_id(content: bytes) -> str:
    """Return a stable, filename-safe id for a caption file from its content."""
    return "local-" + hashlib.sha256(content).hexdigest()[:12]


def _decode(content: bytes, name: str) -> str:
    if b"\x00" in content and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name}: not a text caption file (binary content)")
    for encoding in ("utf-8-sig", "utf-16", "cp1252"):
        if encoding == "utf-16" and not content.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
        if controls > max(2, len(text) // 100):
            raise InputError(f"{name}: not a text caption file (binary content)")
        return text
    raise InputError(f"{name}: cannot decode the file as text (expected UTF-8)")


def _readable_stem(path: Path) -> str:
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    stem = _STEM_NOISE.sub("", stem) or stem
    words = re.sub(r"[_\-.]+", " ", stem).split()
    title = " ".join(words) or path.name
    return title[0].upper() + title[1:]


def _header_value(text: str, pattern: re.Pattern[str]) -> str | None:
    # Only look at the head of the file: headers, not caption text that happens to say "Title:".
    head = text.lstrip("\ufeff").replace("\r\n", "\n").split("\n\n\n")[0]
    for line in head.split("\n")[:12]:
        if _CUE_LINE.match(line):
            break
        match = pattern.match(line)
        if match:
            return match.group(1).strip()
    return None


def _check_regular(fd: int, name: str) -> None:
    """Pass a regular file of at most 20 MB; otherwise close fd and raise InputError saying what it is."""
    info = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = "is a folder, not a caption file"
    elif stat.S_ISFIFO(info.st_mode):
        problem = "is a pipe (FIFO), not a caption file; save the captions to a file first"
    elif not stat.S_ISREG(info.st_mode):
        problem = "is a device or socket, not a caption file"
    elif info.st_size > MAX_CAPTION_FILE_BYTES:
        problem = _TOO_LARGE
    if problem is not None:
        os.close(fd)
        raise InputError(f"{name}: {problem}")


def read_caption_bytes(path: str | Path, name: str | None = None) -> bytes:
    """Read a caption file once, whole: its size checked first, a folder or pipe named as such."""
    file = Path(path)
    name = name or file.name or str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise InputError(f"{name}: caption file not found") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not a caption file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read the file ({exc.strerror or 'I/O error'})") from None
    _check_regular(fd, name)
    with os.fdopen(fd, "rb") as handle:
        try:
            content = handle.read(MAX_CAPTION_FILE_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{name}: cannot read the file ({exc.strerror or 'I/O error'})") from None
    if len(content) > MAX_CAPTION_FILE_BYTES:  # it grew after the check
        raise InputError(f"{name}: {_TOO_LARGE}")
    return content


def _parse_text(text: str, suffix: str, name: str) -> list[Segment]:
    if suffix == ".json":
        import json

        try:
            return parse_json3(json.loads(text))
        except (ValueError, AttributeError, TypeError):
            raise InputError(f"{name}: not a YouTube json3 caption file") from None
    if text.lstrip("\ufeff").startswith("WEBVTT") or suffix in (".vtt", ".srt"):
        return _parse_cues(text.lstrip("\ufeff"))
    if any(_CUE_LINE.match(line) for line in text.splitlines()[:50]):
        return _parse_cues(text)  # an SRT saved as .txt
    return parse_plain_text(text)


def load_caption_file(path: str | Path, content: bytes | None = None) -> tuple[Source, VideoMeta, Transcript]:
    """Read a local .vtt/.srt/.txt/.json caption file as a source, its metadata and transcript.

    ``content``: the file's bytes as already read (when the batch was resolved),
    so the id and the notes come from one read even if the file changes since.
    """
    file = Path(path)
    name = file.name or str(path)
    suffix = file.suffix.lower()
    if suffix not in CAPTION_SUFFIXES:
        raise InputError(f"{name}: unsupported caption file type (use .vtt, .srt, .txt or a YouTube .json caption file)")
    if content is None:
        content = read_caption_bytes(file, name)
    if not content.strip():
        raise InputError(f"{name}: the caption file is empty")
    text = _decode(content, name)
    try:
        segments = _parse_text(text, suffix, name)
    except CaptionTimeError as exc:
        raise InputError(f"{name}: {exc}") from None
    if not segments:
        raise InputError(f"{name}: no captions found in the file")
    if any(not 0 <= segment.start <= _MAX_SECONDS for segment in segments):
        raise InputError(f"{name}: a caption time is out of range (negative or more than "
                         f"{MAX_CAPTION_HOURS} hours)")
    video_id = local_video_id(content)
    uri = file.resolve().as_uri()
    title = _header_value(text, _TITLE_LINE) or _readable_stem(file)
    language = _header_value(text, _LANGUAGE_LINE) or "en"
    source = Source(video_id=video_id, url=uri, kind="local", path=str(file), content=content)
    meta = VideoMeta(video_id=video_id, title=title, channel="", url=uri, source="local")
    transcript = Transcript(video_id=video_id, segments=segments, language_code=language,
                            language="", is_generated=False, method="local-file")
    return source, meta, transcript
