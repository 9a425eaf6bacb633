"""``orchmilp mcp``: serve the engine as MCP tools over stdio."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidOptions
from .common import positive


def register(sub) -> None:
    p = sub.add_parser("mcp", help="serve the engine as MCP tools over stdio (pip install 'orchmilp[mcp]')")
    p.add_argument("--root", default=".", metavar="DIR", help="paths are relative to this folder (default: .)")
    p.add_argument("--allow-run", action="store_true", help="offer the run tool (runs workflow commands)")
    p.add_argument(
        "--max-time-limit", type=positive, default=120.0, metavar="S", help="the most seconds one call may take (120)"
    )


def run(args) -> int:
    from ..mcp_server import serve

    if not Path(args.root).is_dir():
        raise InvalidOptions(f"--root {args.root}: no such folder")
    serve(args.root, allow_run=args.allow_run, max_time_limit=args.max_time_limit)
    return 0
