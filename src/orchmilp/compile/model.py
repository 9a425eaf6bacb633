"""A mixed-integer linear program in matrix form, ready for any back-end."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["LinearModel"]


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
