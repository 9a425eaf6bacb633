"""A mixed-integer linear program in matrix form, ready for any back-end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["LinearModel", "Rows"]


@dataclass(frozen=True, eq=False)
class LinearModel:
    """``min cost @ x + offset`` s.t. ``row_lower <= matrix @ x <= row_upper``,
    ``col_lower <= x <= col_upper``, ``x[integral]`` integer."""

    cost: np.ndarray
    offset: float
    matrix: sp.csc_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integral: np.ndarray
    col_names: tuple[str, ...] = ()
    row_names: tuple[str, ...] = ()

    @property
    def num_cols(self) -> int:
        return self.matrix.shape[1]

    @property
    def num_rows(self) -> int:
        return self.matrix.shape[0]

    @property
    def num_nonzeros(self) -> int:
        return int(self.matrix.nnz)


class Rows:
    """Rows of a model built one at a time: ``add([(column, coefficient), ...], lower, upper)``,
    then :meth:`matrix`, :attr:`lower` and :attr:`upper` (for the small models built row by row)."""

    def __init__(self) -> None:
        self._rows: list[int] = []
        self._cols: list[int] = []
        self._vals: list[float] = []
        self._lower: list[float] = []
        self._upper: list[float] = []

    def add(self, entries, lower: float, upper: float) -> None:
        r = len(self._lower)
        for c, v in entries:
            self._rows.append(r)
            self._cols.append(c)
            self._vals.append(v)
        self._lower.append(lower)
        self._upper.append(upper)

    def matrix(self, num_cols: int) -> sp.csc_matrix:
        return sp.csc_matrix((self._vals, (self._rows, self._cols)), shape=(len(self._lower), num_cols))

    @property
    def lower(self) -> np.ndarray:
        return np.asarray(self._lower, float)

    @property
    def upper(self) -> np.ndarray:
        return np.asarray(self._upper, float)
