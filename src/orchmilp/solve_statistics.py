"""What a solve did: the typed record that :class:`~orchmilp.result.Result` carries."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Statistics"]


@dataclass
class Statistics:
    """What the solve did, for benchmarks and curious users (``Result.statistics``)."""

    agents: int = 0
    phases: list[tuple[str, float]] = field(default_factory=list)  # (phase, seconds since the start) at its end
    bounds: dict[str, float] = field(default_factory=dict)  # source -> bound, each time one improved
    rules_makespan: float | None = None
    ga_schedules: int = 0
    ga_makespan: float | None = None
    propagation_seconds: float = 0.0
    feasible_subset_seconds: float = 0.0
    branch_and_bound_nodes: int = 0
    branch_and_bound_seconds: float = 0.0
    tree_search_nodes: int = 0
    tree_search_seconds: float = 0.0
    sat_seconds: float = 0.0
    beside_milp_seconds: float = 0.0
    grid_step: float | None = None
    milp_binaries: int = 0
    milp_rows: int = 0
    milp_nonzeros: int = 0
    milp_seconds: float = 0.0
    milp_nodes: int = 0
    milp_status: str = ""

    def as_row(self) -> dict[str, object]:
        """Flat values for one CSV row (phases and bounds as short text)."""
        row: dict[str, object] = {}
        for key, value in self.__dict__.items():
            if key == "phases":
                value = " ".join(f"{name.replace(' ', '_')}@{t:g}" for name, t in value)
            elif key == "bounds":
                value = " ".join(f"{name.replace(' ', '_')}={v:g}" for name, v in value.items())
            row[key] = value
        return row
