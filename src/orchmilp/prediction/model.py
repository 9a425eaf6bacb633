"""Run-time models learned from history, one per kind, on the log scale.

For the attempts of one kind, ``log(run time) = a + b * (log(1 + feature) - c) + u_run + e``:

* ``b`` belongs to the feature (present in every attempt of the kind) that
  explains the run time best (slope estimated within runs, largest |t|, at
  least 2, between 0 and 2, and lowering the total spread, not only the
  within-run one); without one ``b = 0`` and the
  model is the kind's own log-normal distribution;
* ``u_run`` is the run-level factor: the same for every agent of the kind in
  one run (whole runs are slow or fast together), spread ``tau`` estimated
  from the between-run spread of the run means (method of moments). Across
  kinds the factors are correlated (a slow run is slow for downloads and
  alignments alike): the share ``rho`` common to all kinds is the average
  correlation of the kinds' run effects over the runs they share;
* ``e`` is the within-run noise, spread ``sigma``. With at least
  :data:`EMPIRICAL_MIN` within-run residuals it is drawn from them, by a
  two-level bootstrap: one past run per sample (runs with as many agents of
  the kind as this one more likely: a kernel on log(agents), no extrapolation),
  then each agent's noise one of that run's residuals. Real run times are
  often skewed or bounded (a few cached attempts of seconds, a ceiling set by
  the machine) and some runs are calm while others are noisy; a symmetric
  long-tailed law with one pooled spread overstates how long the slowest of
  many parallel agents takes. With fewer residuals it is Student-t with a
  robust ``sigma``.

A prediction for a new run adds the parameter uncertainty: the intercept is
a mean of ``R`` run means, so its variance is ``S^2 / R``; few runs give wide
intervals, and the shared part is Student-t with ``R - 1`` degrees of freedom,
the independent part with the within-run degrees of freedom. With little
history the location is shrunk towards the user's ``duration`` (precision
weighted, the prior's spread from ``duration_range`` or the assumed default);
with none, the agent's ``duration_range`` (or the assumed spread) is used.

The baseline of the backtest (``method="baseline"``) is the simple model the
backtest compares with: per-kind log-normal with a run factor, normal, no features, no
parameter uncertainty, ordinary standard deviations.
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from scipy import stats

from ..errors import InvalidOptions
from ..history import History
from ..model.problem import Problem

__all__ = [
    "ASSUMED_SPREAD",
    "Z90",
    "KindModel",
    "AgentForecast",
    "fit_kinds",
    "kinds_sharing_runs",
    "run_correlation",
    "forecast",
]

#: z of the 95th percentile: a 90% range [low, high] has log-scale sd log(high/low) / (2 * Z90)
Z90 = float(stats.norm.ppf(0.95))
#: with no history and no duration_range: a 90% range of duration / 2 .. duration * 2
ASSUMED_SPREAD = math.log(2.0) / Z90
#: a slope is kept when its t statistic is at least this
MIN_SLOPE_T = 2.0
#: and when it is plausible: run time grows with size, at most quadratically
MAX_SLOPE = 2.0
#: within-run residuals needed before the noise is drawn from them instead of Student-t
EMPIRICAL_MIN = 30


@dataclass(frozen=True)
class KindModel:
    """What the history says about one kind (log scale)."""

    kind: str
    n: int  # ok attempts
    runs: int  # distinct runs among them
    feature: str | None  # the regression feature, or None
    intercept: float  # mean log run time (at the feature's centre)
    slope: float
    center: float  # mean log(1 + feature)
    slope_var: float
    intercept_var: float  # nan when it cannot be estimated (one attempt)
    sigma: float  # within-run sd; nan when no run has two attempts
    sigma_df: int
    tau: float  # run-level sd; nan with fewer than two runs
    tau_df: int
    quantiles: tuple[float, float, float]  # p10, median, p90 of the raw run times
    # run level: log run time also grows with log(how many agents of the kind a run has)
    width_slope: float = 0.0
    width_center: float = 0.0
    width_slope_var: float = 0.0
    #: the within-run residuals (log scale, each corrected for its run's degree of freedom)
    #: grouped by run, when there are at least EMPIRICAL_MIN of them; empty otherwise
    residuals: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    #: run r's residuals are residuals[residual_offsets[r]:residual_offsets[r + 1]]
    residual_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64), compare=False, repr=False)
    #: log(agents of the kind) in each of those runs: a new run draws from runs of its size
    residual_widths: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    #: run id -> that run's effect (its mean log run time less the intercept)
    run_effects: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    #: the share of the run factor common to all kinds (0: each kind's own)
    run_correlation: float = 0.0

    def describe(self) -> str:
        """The fitted model in a few words (for ``orchmilp history``)."""
        parts = []
        if self.feature:
            parts.append(f"log t = {self.intercept:.2f} + {self.slope:.2f}*(log {self.feature} - {self.center:.1f})")
        else:
            parts.append(f"log-normal, median {math.exp(self.intercept):.3g}")
        parts.append(f"within-run sd {self.sigma:.2f}" if math.isfinite(self.sigma) else "within-run sd unknown")
        parts.append(f"run factor sd {self.tau:.2f}" if math.isfinite(self.tau) else "run factor unknown")
        if self.width_slope:
            parts.append(f"+{self.width_slope:.2f}*log(agents of the kind per run)")
        return ", ".join(parts)


@dataclass(frozen=True)
class AgentForecast:
    """The predictive distribution of one agent's run time for a new run (log scale):
    ``loc + shared_scale * T(shared_df) [one draw per kind and run] + own_scale * T(own_df)``."""

    loc: float
    shared_scale: float
    shared_df: float
    own_scale: float
    own_df: float
    source: str  # history, range, assumed
    runs: int
    kind: str
    zero: bool = False  # a milestone (duration 0 and no history): always 0
    #: when not empty, the own draw is one of these (the kind's within-run residuals, grouped
    #: by run as in KindModel), not a t
    residuals: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    residual_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64), compare=False, repr=False)
    #: the chance of each of those runs to lend its residuals (runs of this run's size first);
    #: empty: all alike
    residual_run_weights: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    #: the share of the shared draw that is common to all kinds in a sample (the whole run)
    common_weight: float = 0.0

    def quantile(self, q: float) -> float:
        """A quantile by a normal approximation (exact quantiles come from the simulation)."""
        if self.zero:
            return 0.0
        z = stats.norm.ppf(q)
        return math.exp(self.loc + z * math.hypot(self.shared_scale, self.own_scale))

    @property
    def median(self) -> float:
        return 0.0 if self.zero else math.exp(self.loc)


def _common_features(history: History, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The features present in every attempt of these rows, as log(1 + x)."""
    names = set(history.features[rows[0]]) if len(rows) else set()
    for i in rows:
        names &= set(history.features[i])
        if not names:
            return {}
    return {name: np.log1p(np.asarray([history.features[i][name] for i in rows], float)) for name in sorted(names)}


def _slope(y: np.ndarray, x: np.ndarray, inverse: np.ndarray, counts: np.ndarray) -> tuple[float, float, float]:
    """(slope, its variance, |t|) of log run time on a log feature, estimated within runs
    (so the run factor does not leak into the slope); pooled when runs have too few attempts."""
    n, R = len(y), len(counts)
    if n < 4 or np.ptp(x) <= 0:
        return 0.0, 0.0, 0.0
    xm = np.bincount(inverse, x, R) / counts
    ym = np.bincount(inverse, y, R) / counts
    xd, yd = x - xm[inverse], y - ym[inverse]
    sxx, dof = float(xd @ xd), n - R - 1
    if sxx <= 1e-12 or dof < 2:
        xd, yd = x - x.mean(), y - y.mean()
        sxx, dof = float(xd @ xd), n - 2
    if sxx <= 1e-12 or dof < 2:
        return 0.0, 0.0, 0.0
    b = float(xd @ yd) / sxx
    s2 = float(((yd - b * xd) ** 2).sum()) / dof
    var = s2 / sxx
    return b, var, (abs(b) / math.sqrt(var) if var > 0 else math.inf)


def _between_slope(y: np.ndarray, x: np.ndarray, inverse: np.ndarray, counts: np.ndarray) -> tuple[float, float, float]:
    """(slope, its variance, |t|) of the run means of log run time on the run means of a log
    feature, across runs: what a feature says when it varies between runs (a bigger input
    for the whole run) more than within them. Its variance holds the run factor (R - 2 dof)."""
    R = len(counts)
    if R < 4:
        return 0.0, 0.0, 0.0
    return _line(np.bincount(inverse, x, R) / counts, np.bincount(inverse, y, R) / counts)


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(slope, its variance, |t|) of the least-squares line of ``y`` on ``x`` (n - 2 dof);
    (0, 0, 0) when ``x`` does not vary."""
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if sxx <= 1e-12 or len(x) < 3:
        return 0.0, 0.0, 0.0
    b = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - b * xc
    var = float(resid @ resid) / (len(x) - 2) / sxx
    return b, var, (abs(b) / math.sqrt(var) if var > 0 else math.inf)


def _cv_error(y: np.ndarray, x: np.ndarray | None, estimator, inverse: np.ndarray, counts: np.ndarray) -> float:
    """Mean squared error of log run time over held-out runs (up to 10 folds of whole runs):
    each fold's slope and intercept are learned from the other runs only."""
    R = len(counts)
    folds = min(R, 10)
    errors: list[float] = []
    for fold in range(folds):
        test = (inverse % folds) == fold
        train_runs, train_inverse = np.unique(inverse[~test], return_inverse=True)
        train_counts = np.bincount(train_inverse, minlength=len(train_runs)).astype(float)
        b = 0.0
        if x is not None:
            b = estimator(y[~test], x[~test], train_inverse, train_counts)[0]
        resid = y[~test] - (b * x[~test] if x is not None else 0.0)
        intercept = float((np.bincount(train_inverse, resid, len(train_runs)) / train_counts).mean())
        err = (y[test] - intercept - (b * x[test] if x is not None else 0.0)) ** 2
        test_inverse = np.unique(inverse[test], return_inverse=True)[1]
        errors.extend(np.bincount(test_inverse, err) / np.bincount(test_inverse))
    return float(np.mean(errors))


def _choose_feature(
    y: np.ndarray, candidates: dict[str, np.ndarray], inverse: np.ndarray, counts: np.ndarray
) -> tuple[str | None, float, float, float]:
    """(feature, slope, slope variance, centre) of the regression, or (None, 0, 0, 0).

    A candidate is a feature with its slope estimated within runs or across run means,
    significant (|t| >= 2) and plausible (0..2). With one or two runs the most significant
    within-run slope that lowers the total spread is kept; with three or more runs, the
    candidate (or none) that predicts held-out runs best."""
    kept = []
    for name, x in candidates.items():
        for estimator in (_slope, _between_slope):
            b, var, t = estimator(y, x, inverse, counts)
            if t < MIN_SLOPE_T or not 0 <= b <= MAX_SLOPE:
                continue
            if float(np.var(y - b * x)) >= float(np.var(y)):  # explains within runs, not across them
                continue
            kept.append((t, name, estimator, b, var))
    if not kept:
        return None, 0.0, 0.0, 0.0
    if len(counts) < 3:
        slopes = [k for k in kept if k[2] is _slope]
        if not slopes:
            return None, 0.0, 0.0, 0.0
        t, name, _, b, var = max(slopes)
        return name, b, var, float(candidates[name].mean())
    best, best_error = None, _cv_error(y, None, None, inverse, counts)
    for candidate in kept:
        error = _cv_error(y, candidates[candidate[1]], candidate[2], inverse, counts)
        if error < best_error:
            best, best_error = candidate, error
    if best is None:
        return None, 0.0, 0.0, 0.0
    _, name, _, b, var = best
    return name, b, var, float(candidates[name].mean())


def _robust_sd(residuals: np.ndarray, n: int, dof: int) -> float:
    """The spread of the within-run residuals: 1.4826 * MAD (corrected for the degrees of
    freedom), so that a few failed or cached attempts of seconds do not widen every interval;
    the Student-t draws give the tails."""
    mad = 1.4826 * float(np.median(np.abs(residuals - np.median(residuals))))
    return mad * math.sqrt(n / dof)


def _fit_one(
    kind: str,
    y: np.ndarray,
    candidates: dict[str, np.ndarray],
    run_of: np.ndarray,
    baseline: bool,
    width: np.ndarray | None = None,
):
    n = len(y)
    runs, inverse = np.unique(run_of, return_inverse=True)
    R = len(runs)
    counts = np.bincount(inverse, minlength=R).astype(float)
    feature, slope, slope_var, center = _choose_feature(y, {} if baseline else candidates, inverse, counts)
    resid = y - slope * (candidates[feature] - center) if feature else y
    run_mean = np.bincount(inverse, resid, R) / counts
    within = resid - run_mean[inverse]
    sigma_df = n - R - (1 if feature else 0)
    if sigma_df < 1:
        sigma = math.nan
    elif baseline:
        sigma = math.sqrt(float(within @ within) / sigma_df)
    else:
        sigma = _robust_sd(within, n, sigma_df)
    run_width = np.log(np.bincount(inverse, width, R) / counts) if width is not None else None
    residuals, offsets, residual_widths = np.zeros(0), np.zeros(1, np.int64), np.zeros(0)
    if not baseline and sigma_df >= EMPIRICAL_MIN:
        residuals, offsets = _residuals_by_run(within, inverse, counts)
        if run_width is not None:
            residual_widths = run_width[counts >= 2]
    width_slope, width_center, width_slope_var = 0.0, 0.0, 0.0
    if not baseline and run_width is not None and R >= 4:
        width_slope, width_slope_var, width_center, run_mean = _width_effect(run_mean, run_width)
    intercept = float(run_mean.mean())
    if R >= 2:
        spread2 = float(run_mean.var(ddof=1 if not width_slope else 2)) * ((R - 1) / R if width_slope else 1.0)
        noise2 = sigma**2 * float(np.mean(1.0 / counts)) if math.isfinite(sigma) else 0.0
        tau = math.sqrt(max(0.0, spread2 - noise2))
        intercept_var = spread2 / R
    else:
        tau = math.nan
        intercept_var = sigma**2 / n if math.isfinite(sigma) else math.nan
    t = np.exp(y)
    return KindModel(
        kind=kind,
        n=n,
        runs=R,
        feature=feature,
        intercept=intercept,
        slope=slope,
        center=center,
        slope_var=slope_var,
        intercept_var=intercept_var,
        sigma=sigma,
        sigma_df=max(sigma_df, 0),
        tau=tau,
        tau_df=R - 1,
        quantiles=_three(np.quantile(t, [0.1, 0.5, 0.9])),
        width_slope=width_slope,
        width_center=width_center,
        width_slope_var=width_slope_var,
        residuals=residuals,
        residual_offsets=offsets,
        residual_widths=residual_widths,
        run_effects=dict(zip(runs.tolist(), (run_mean - intercept).tolist())),
    )


def _residuals_by_run(within: np.ndarray, inverse: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The within-run residuals of the runs with two or more attempts, grouped by run, each
    scaled by sqrt(n_r / (n_r - 1)) (a residual from its own run's mean is that much too small)."""
    order = np.argsort(inverse, kind="stable")
    keep = counts[inverse[order]] >= 2
    order = order[keep]
    sizes = counts[counts >= 2]
    values = within[order] * np.sqrt(counts[inverse[order]] / (counts[inverse[order]] - 1))
    return values, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _width_effect(run_mean: np.ndarray, run_width: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """Regress the run means on log(agents of the kind in the run), across runs: kept when
    significant (|t| >= 2) and plausible (0..2: more at once is not faster per agent).
    Returns (slope, its variance, centre, the run means with the effect removed)."""
    if len(run_mean) < 4:
        return 0.0, 0.0, 0.0, run_mean
    b, var, t = _line(run_width, run_mean)
    if b == 0.0 or not 0 <= b <= MAX_SLOPE or t < MIN_SLOPE_T:
        return 0.0, 0.0, 0.0, run_mean
    return b, var, float(run_width.mean()), run_mean - b * (run_width - run_width.mean())


#: models already fitted, per history object (planning with the medians and predicting the
#: plan, or each what-if scenario, fit the same history: once is enough; a History is immutable)
_FITTED: weakref.WeakKeyDictionary[History, dict[bool, dict[str, KindModel]]] = weakref.WeakKeyDictionary()


def fit_kinds(history: History, baseline: bool = False) -> dict[str, KindModel]:
    """One :class:`KindModel` per kind, from the ``ok`` attempts (run time > 0) of the history."""
    fitted = _FITTED.setdefault(history, {})
    if baseline not in fitted:
        fitted[baseline] = _fit_kinds(history, baseline)
    return fitted[baseline]


def _fit_kinds(history: History, baseline: bool) -> dict[str, KindModel]:
    ok = history.ok()
    durations = ok.duration
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, kind in enumerate(ok.kind):
        if durations[i] > 0:
            rows_of[kind].append(i)
    models = {}
    run_array = np.asarray(ok.run, dtype=object)
    agents_per_run: dict[tuple[str, str], set[str]] = defaultdict(set)
    for run, kind, agent in zip(history.run, history.kind, history.agent):
        agents_per_run[(run, kind)].add(agent)
    for kind, row_list in rows_of.items():
        rows = np.asarray(row_list)
        candidates = _common_features(ok, rows)
        width = np.asarray([len(agents_per_run[(ok.run[i], kind)]) for i in rows], float)
        models[kind] = _fit_one(kind, np.log(durations[rows]), candidates, run_array[rows], baseline, width)
    if not baseline:
        for group in kinds_sharing_runs(models):
            rho = run_correlation({kind: models[kind] for kind in group})
            models.update({kind: dataclasses.replace(models[kind], run_correlation=rho) for kind in group})
    return models


def kinds_sharing_runs(models: dict[str, KindModel]) -> list[list[str]]:
    """The kinds in groups linked by runs they share (one workflow's kinds, usually): a history
    of several workflows gets one run-factor correlation per workflow, not one mixed over all."""
    graph = nx.Graph()
    graph.add_nodes_from(models)
    first_kind_of: dict[str, str] = {}
    for kind, m in models.items():
        for run in m.run_effects:
            graph.add_edge(kind, first_kind_of.setdefault(run, kind))
    return [sorted(c) for c in nx.connected_components(graph)]


def run_correlation(models: dict[str, KindModel]) -> float:
    """How much of the run factor all kinds share: the mean correlation (Fisher z, weighted
    by runs - 3) of two kinds' run effects over the runs both have, for the pairs with at
    least 4 such runs; clipped to 0..0.95, and 0 without such pairs."""
    kinds = [m for m in models.values() if len(m.run_effects) >= 4]
    runs = sorted({r for m in kinds for r in m.run_effects})
    if len(kinds) < 2:
        return 0.0
    column = {r: i for i, r in enumerate(runs)}
    effects = np.full((len(kinds), len(runs)), np.nan)
    for i, m in enumerate(kinds):
        effects[i, [column[r] for r in m.run_effects]] = list(m.run_effects.values())
    seen = ~np.isnan(effects)
    total, weight = 0.0, 0.0
    for i in range(len(kinds) - 1):
        both = seen[i] & seen[i + 1 :]  # (other kinds, runs)
        n = both.sum(axis=1)
        x = np.where(both, effects[i], 0.0)
        y = np.where(both, effects[i + 1 :], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            xc = np.where(both, x - x.sum(axis=1, keepdims=True) / np.maximum(n, 1)[:, None], 0.0)
            yc = np.where(both, y - y.sum(axis=1, keepdims=True) / np.maximum(n, 1)[:, None], 0.0)
            r = (xc * yc).sum(axis=1) / np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
        ok = (n >= 4) & np.isfinite(r)
        total += float(((n[ok] - 3) * np.arctanh(np.clip(r[ok], -0.999, 0.999))).sum())
        weight += float((n[ok] - 3).sum())
    return float(np.clip(math.tanh(total / weight), 0.0, 0.95)) if weight else 0.0


def _prior(problem: Problem, j: int) -> tuple[float, float, str]:
    """(location, spread, source) of the user's own figure for agent ``j`` (log scale)."""
    duration = float(problem.durations[j])
    span = problem.duration_ranges[j] if problem.duration_ranges else None
    if span is not None and span[1] > 0:
        low, high = span
        if low > 0:
            return (math.log(low) + math.log(high)) / 2, math.log(high / low) / (2 * Z90), "range"
        return math.log(max(duration, high / 10)), math.log(high / max(duration, high / 10)) / Z90, "range"
    return (math.log(duration) if duration > 0 else math.nan), ASSUMED_SPREAD, "assumed"


def forecast(
    problem: Problem,
    models: dict[str, KindModel],
    baseline: bool = False,
    prior: Problem | None = None,
    work: Mapping[str, float] | None = None,
    shrink: bool = True,
) -> list[AgentForecast]:
    """Each agent's predictive distribution for a new run, from its kind's model and the user's
    own figures (``duration``, ``duration_range``) as the prior of the location.

    ``prior``: whose figures: the workflow as the user wrote it (when ``problem`` carries the
    history's medians as durations, using them as the prior would count the history twice);
    None, those of ``problem``. ``shrink=False``: no prior for the kinds with history (a
    backtest: the held-out workflow's durations are the answers).

    ``work``: agent id -> a multiplier of the run time its kind's history predicts (a what-if's
    ``--split`` or ``--scale``, whose edits of the user's own figures are in ``problem`` already)."""
    figures = (prior if prior is not None else problem) if shrink else None
    if figures is not None and figures.ids != problem.ids:
        raise InvalidOptions("forecast: the prior's workflow has other agents than the problem")
    out = []
    kinds = [problem.kinds[j] if problem.kinds else problem.ids[j] for j in range(problem.n)]
    width = Counter(kinds)
    for j in range(problem.n):
        kind = kinds[j]
        model = models.get(kind)
        if figures is not None:
            prior_loc, prior_sd, prior_source = _prior(figures, j)
        elif model is not None:  # no figure to shrink towards; the assumed spread where data lack
            prior_loc, prior_sd, prior_source = math.nan, ASSUMED_SPREAD, "assumed"
        else:
            prior_loc, prior_sd, prior_source = _prior(problem, j)
        factor = work.get(problem.ids[j], 1.0) if work else 1.0
        if model is not None and factor <= 0:  # scaled to nothing
            out.append(AgentForecast(0.0, 0.0, math.inf, 0.0, math.inf, "history", model.runs, kind, zero=True))
            continue
        if model is None:
            if not math.isfinite(prior_loc):
                out.append(AgentForecast(0.0, 0.0, math.inf, 0.0, math.inf, prior_source, 0, kind, zero=True))
                continue
            # the user's range is a 90% range for the agent's run time: all of it the agent's own
            out.append(AgentForecast(prior_loc, 0.0, math.inf, prior_sd, math.inf, prior_source, 0, kind))
            continue
        out.append(_from_history(problem, j, model, prior_loc, prior_sd, baseline, width[kind], math.log(factor)))
    return out


def _from_history(
    problem: Problem,
    j: int,
    m: KindModel,
    prior_loc: float,
    prior_sd: float,
    baseline: bool,
    width: int,
    log_work: float = 0.0,
) -> AgentForecast:
    """``width``: how many agents of the kind the workflow has (x of the run-level effects);
    ``log_work``: log of the multiplier of the history's prediction (see :func:`forecast`)."""
    x = None
    if m.feature:
        value = (problem.features[j] if problem.features else {}).get(m.feature)
        x = None if value is None else math.log1p(value) - m.center
    loc = m.intercept + log_work + (m.slope * x if x is not None else 0.0)
    width_x = 0.0
    if m.width_slope:
        width_x = math.log(width) - m.width_center
        loc += m.width_slope * width_x
    sigma = m.sigma if math.isfinite(m.sigma) else 0.0
    if baseline:
        tau = m.tau if math.isfinite(m.tau) else prior_sd
        if not math.isfinite(m.sigma) and not math.isfinite(m.tau):
            sigma = prior_sd
        return AgentForecast(loc, tau, math.inf, sigma, math.inf, "history", m.runs, m.kind)
    if not math.isfinite(m.tau):  # one run: the run factor is unknown, assumed
        tau, tau_df = prior_sd, math.inf
    else:
        tau, tau_df = m.tau, max(m.tau_df, 1)
    loc_var = m.intercept_var if math.isfinite(m.intercept_var) else prior_sd**2
    loc_var += width_x * width_x * m.width_slope_var
    if x is not None:
        loc_var += x * x * m.slope_var
    elif m.feature:  # the agent lacks the feature the model needs: the kind's spread of it
        loc_var += m.slope**2 * 1.0
    if not math.isfinite(m.sigma) and not math.isfinite(m.tau):  # a single attempt
        sigma = prior_sd
    if math.isfinite(prior_loc) and prior_sd > 0:  # shrink towards the user's figure
        w = prior_sd**2 / (prior_sd**2 + loc_var)
        loc = w * loc + (1 - w) * prior_loc
        loc_var = 1.0 / (1.0 / loc_var + 1.0 / prior_sd**2) if loc_var > 0 else 0.0
    own_df = max(m.sigma_df, 1) if math.isfinite(m.sigma) else math.inf
    return AgentForecast(
        loc,
        math.sqrt(tau**2 + loc_var),
        tau_df,
        sigma,
        own_df,
        "history",
        m.runs,
        m.kind,
        residuals=m.residuals,
        residual_offsets=m.residual_offsets,
        residual_run_weights=_run_weights(m.residual_widths, math.log(width)),
        common_weight=m.run_correlation,
    )


def _run_weights(widths: np.ndarray, width: float) -> np.ndarray:
    """The chance of each past run to lend its residuals to a run with log(agents) ``width``:
    a Gaussian kernel on log(agents of the kind), bandwidth by Silverman's rule. Runs with
    more agents at once are often noisier (contention), and the noise of a run like this one
    says more; the nearest sizes are used, nothing is extrapolated. Empty: all runs alike."""
    if len(widths) < 2 or np.ptp(widths) <= 1e-9:
        return np.zeros(0)
    h = 1.06 * float(np.std(widths)) * len(widths) ** -0.2
    w = np.exp(-0.5 * ((widths - width) / h) ** 2)
    if w.sum() <= 1e-12:  # far outside every size seen: the nearest runs
        w = (np.abs(widths - width) <= np.abs(widths - width).min() + 1e-9).astype(float)
    return w / w.sum()


def _three(values: np.ndarray) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c
