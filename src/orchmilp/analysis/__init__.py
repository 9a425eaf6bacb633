"""Analysis: workflow structure (no solving), bottlenecks and what-ifs (after a solve)."""
