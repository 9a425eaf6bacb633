"""Exact searches below the incumbent: each probe of a trial makespan returns a
schedule that meets it, a proof that none exists, or "unknown" (out of nodes or time).

- :mod:`.branch_and_bound`: delaying alternatives with cutset memory (Demeulemeester-Herroelen);
- :mod:`.set_times`: set-times tree search with propagation at every node.
"""
