"""The search journal: one JSON line per finished fit, so that a rerun skips what is done.

Each line holds a ``key``: a hash of the search's *fingerprint* (estimator, data, folds,
scorer) with the candidate's parameters, the fold and the epoch budget. A rerun of the same
search finds its fits by key; entries of another search (other data or settings) in the same
file never match, and are left alone. A line cut short by a crash is dropped (the file is
rewritten without it) and its fit runs again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import joblib

from ..errors import SearchError
from ._tasks import fit_record

__all__ = ["Journal", "fingerprint", "trial_key"]

_SAVED = ("test_score", "train_score", "fit_time", "score_time", "error", "worker", "device")


def fingerprint(*parts: Any) -> str:
    """A stable hash of the things that make two searches the same (joblib's hashing)."""
    hashed = []
    for part in parts:
        try:
            hashed.append(joblib.hash(part))
        except Exception:  # e.g. a lambda scorer: fall back to its text
            hashed.append(hashlib.sha256(repr(part).encode()).hexdigest())
    return hashlib.sha256("/".join(hashed).encode()).hexdigest()[:16]


def trial_key(search: str, params: dict, fold: int, n_epochs: int | None) -> str:
    """The journal key of one fit: search fingerprint, parameters, fold and epoch budget."""
    text = json.dumps(
        {"search": search, "params": params, "fold": fold, "n_epochs": n_epochs},
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class Journal:
    """Append-only JSON-lines record of finished fits.

    Parameters
    ----------
    path : str or PathLike
        The file; created (with its folder) on the first write.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, dict]:
        """Entries by key; a line that is not valid JSON (a crash mid-write) is skipped."""
        if not self.path.exists():
            return {}
        entries, broken = {}, 0
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SearchError(f"Cannot read the journal {self.path}: {exc.strerror}.") from None
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                entries[entry["key"]] = entry
            except (json.JSONDecodeError, KeyError, TypeError):
                broken += 1
        if broken:
            self._rewrite(entries.values())
            warnings.warn(
                f"Dropped {broken} unreadable line(s) of the journal {self.path} (a search "
                "stopped mid-write); those fits run again.",
                stacklevel=4,
            )
        return entries

    def _rewrite(self, entries) -> None:
        """Replace the file by its readable entries, atomically."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(
                "".join(json.dumps(e, default=repr) + "\n" for e in entries), encoding="utf-8"
            )
            os.replace(tmp, self.path)
        except OSError as exc:
            raise SearchError(f"Cannot rewrite the journal {self.path}: {exc.strerror}.") from None

    def append(self, key: str, params: dict, fold: int, n_epochs: int | None, record: dict) -> None:
        """Write one finished fit and flush it to disk."""
        entry = {"key": key, "params": params, "fold": fold, "n_epochs": n_epochs}
        entry.update({name: record.get(name) for name in _SAVED})
        line = json.dumps(entry, default=repr, allow_nan=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() and (f.seek(-1, os.SEEK_END), f.read(1))[1] != b"\n":
                    line = "\n" + line  # close a line cut short by a crash
                f.write((line + "\n").encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise SearchError(
                f"Cannot write the journal {self.path}: {exc.strerror}. Pass a writable path "
                "as journal=, or journal=None."
            ) from None

    @staticmethod
    def record(entry: dict) -> dict:
        """The fit record stored in a journal entry (NaN scores come back as NaN)."""
        saved = {name: entry.get(name) for name in _SAVED}
        score = saved["test_score"]
        saved["test_score"] = math.nan if score is None else float(score)
        return fit_record(**saved, journal=True)
