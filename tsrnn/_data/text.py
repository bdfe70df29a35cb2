"""How tsrnn writes values in its messages and tables."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

__all__ = ["show"]


def show(value: object) -> str:
    """A value as messages write it: a timestamp as its date when it is midnight, else in ISO.

    Parameters
    ----------
    value : object
        A timestamp (pandas, numpy or datetime), a tuple (e.g. an ``(id, timestamp)`` key,
        shown joined by commas), or anything else (shown with ``str``).

    Returns
    -------
    str

    Examples
    --------
    >>> show(pd.Timestamp("2024-03-01")), show(np.datetime64("2024-03-01T06:30"))
    ('2024-03-01', '2024-03-01T06:30:00')
    >>> show(("shop 1", pd.Timestamp("2024-03-01"))), show(7)
    ('shop 1, 2024-03-01', '7')
    """
    if isinstance(value, tuple):
        return ", ".join(show(v) for v in value)
    if isinstance(value, (pd.Timestamp, np.datetime64, datetime.datetime)):
        stamp = pd.Timestamp(value)
        if stamp is pd.NaT:
            return "NaT"
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    return str(value)
