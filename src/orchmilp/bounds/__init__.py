"""Lower bounds on the minimal makespan: critical path, energy, one-machine."""
