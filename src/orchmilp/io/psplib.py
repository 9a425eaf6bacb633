"""PSPLIB single-mode (``.sm``) and Patterson (``.rcp``) files as workflow instances.

Parsed with the ``psplib`` package. Activities become agents ``job2``,
``job3``, ... (PSPLIB numbering); the dummy source and sink (duration 0, no
demand) are dropped since they change nothing; renewable resources keep
their names ``R1``, ``R2``, ... and capacities. The result passes the same
validation as a workflow JSON.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from ..errors import InvalidWorkflow
from ..model.instance import Agent, Instance

__all__ = ["read_psplib"]


def read_psplib(path: str | Path) -> Instance:
    """Read a ``.sm`` (PSPLIB) or ``.rcp`` (Patterson) file."""
    import psplib

    path = Path(path)
    fmt = "patterson" if path.suffix.lower() == ".rcp" else "psplib"
    if not path.exists():
        raise InvalidWorkflow(f"{path}: no such file")
    try:
        data = psplib.parse(path, instance_format=fmt)
    except Exception as err:  # the parser raises plain ValueError/IndexError on bad files
        raise InvalidWorkflow(f"{path}: not a valid {fmt} file ({type(err).__name__}: {err})") from None

    names = [f"R{k + 1}" for k in range(len(data.resources))]
    if any(not r.renewable for r in data.resources):
        raise InvalidWorkflow(f"{path}: non-renewable resources (multi-mode instances) are not supported")
    acts = data.activities
    for k, act in enumerate(acts):
        if len(act.modes) != 1:
            raise InvalidWorkflow(
                f"{path}: activity {k + 1} has {len(act.modes)} modes; only single-mode files are supported"
            )

    def is_dummy(k: int) -> bool:
        mode = acts[k].modes[0]
        return mode.duration == 0 and not any(mode.demands)

    preds: dict[int, list[int]] = {k: [] for k in range(len(acts))}
    for k, act in enumerate(acts):
        for s in act.successors:
            preds[s].append(k)
    dropped = {k for k in (0, len(acts) - 1) if k < len(acts) and is_dummy(k)}
    agents = []
    for k, act in enumerate(acts):
        if k in dropped:
            continue
        mode = act.modes[0]
        agents.append(
            Agent(
                id=f"job{k + 1}",
                duration=mode.duration,
                depends_on=tuple(f"job{p + 1}" for p in preds[k] if p not in dropped),
                uses=MappingProxyType({names[r]: q for r, q in enumerate(mode.demands) if q > 0}),
            )
        )
    return Instance(
        agents=tuple(agents),
        resources=MappingProxyType({n: r.capacity for n, r in zip(names, data.resources)}),
        name=path.stem,
        time_unit="period",
    )
