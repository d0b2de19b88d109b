"""Small pandas helpers over results frames, shared by figures, reports and compare (no drawing)."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

THROUGHPUT = "bytes_per_second"
TIME = "ns_per_op"


def ordered(values: Iterable, preferred: Sequence = ()) -> list:
    """Distinct values: the preferred ones in their order, then the rest sorted."""
    distinct = list(dict.fromkeys(values))
    rank = {v: i for i, v in enumerate(preferred)}
    return sorted(distinct, key=lambda v: (0, rank[v], "") if v in rank else (1, 0, str(v)))


def numeric_order(values: Iterable) -> list:
    return sorted(set(v for v in values if not (isinstance(v, float) and math.isnan(v))))


def with_throughput(frame: pd.DataFrame) -> pd.DataFrame:
    """bytes_per_second, derived from bytes_per_op / ns_per_op where the row left it empty."""
    frame = frame.copy()
    if THROUGHPUT not in frame:
        frame[THROUGHPUT] = np.nan
    if "bytes_per_op" in frame:
        derived = frame["bytes_per_op"] / frame[TIME] * 1e9
        frame[THROUGHPUT] = frame[THROUGHPUT].fillna(derived)
    return frame


def has(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Rows where every column is present and filled."""
    mask = pd.Series(True, index=frame.index)
    for c in columns:
        if c not in frame:
            return pd.Series(False, index=frame.index)
        col = frame[c]
        mask &= col.notna() & (col.astype(str).str.strip() != "") if col.dtype == object else col.notna()
    return mask
