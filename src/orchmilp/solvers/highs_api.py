"""A :class:`LinearModel` as a HiGHS model object, and written to LP or MPS files (by HiGHS's writer)."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import numpy as np

from ..compile.model import LinearModel
from ..errors import SolverError

__all__ = ["new_highs", "pass_model", "write_model"]

_BANNER_SHOWN = False


@contextmanager
def _no_banner():
    """HiGHS prints a banner to stdout once per process: keep stdout clean for --json."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _BANNER_SHOWN = True


def new_highs():
    """A silent ``highspy.Highs`` instance."""
    import highspy

    with _no_banner():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def pass_model(h, model: LinearModel, relax: bool = False) -> None:
    """Hand ``model`` to HiGHS in one ``passModel`` call (CSC arrays)."""
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = model.num_cols
    lp.num_row_ = model.num_rows
    lp.col_cost_ = model.cost
    lp.offset_ = model.offset
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    csc = model.matrix
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = model.num_cols
    lp.a_matrix_.num_row_ = model.num_rows
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    if not relax:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous for flag in model.integral
        ]
    if model.col_names:
        lp.col_names_ = list(model.col_names)
    if model.row_names:
        lp.row_names_ = list(model.row_names)
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")


def write_model(model: LinearModel, path: str) -> None:
    """Write the model in the format of the file ending (``.lp`` or ``.mps``)."""
    import highspy

    h = new_highs()
    pass_model(h, model)
    if h.writeModel(str(path)) == highspy.HighsStatus.kError:
        raise SolverError(f"HiGHS could not write {path}")
