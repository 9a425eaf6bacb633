"""From solver output to an executable plan: partial order, groups, critical path."""
