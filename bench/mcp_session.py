"""A client session against `orchmilp mcp` (JSON-RPC over stdio): seconds per call.

python bench/mcp_session.py      # prints the table, writes bench/results/mcp.txt
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.entry.test_mcp import Client  # noqa: E402


def main() -> None:
    t0 = time.monotonic()
    client = Client(ROOT / "instances")
    lines = [f"initialize (server start): {time.monotonic() - t0:.2f} s"]
    for path in sorted((ROOT / "instances" / "examples").glob("*.json")):
        ok, plan, took = client.call("solve", workflow=f"examples/{path.name}", time_limit=30)
        lines.append(f"solve {path.name:28s} {took:5.2f} s  {plan['status'] if ok else plan}")
    ok, _, took = client.call(
        "solve", workflow="psplib/j120/" + sorted((ROOT / "instances/psplib/j120").glob("*.sm"))[0].name, time_limit=5
    )
    lines.append(f"solve j120 (limit 5 s)               {took:5.2f} s  {'plan' if ok else 'stopped'}")
    t1 = time.monotonic()
    for _ in range(100):
        client.call("solve", workflow="../README.md")
    lines.append(f"100 refused calls: {time.monotonic() - t1:.2f} s in all")
    ok, _, took = client.call("predict", workflow="examples/code-review.json", samples=10000)
    lines.append(f"predict code-review (10,000 samples): {took:.2f} s")
    client.close()
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "bench" / "results" / "mcp.txt").write_text(text)


if __name__ == "__main__":
    main()
