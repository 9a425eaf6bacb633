"""From a problem to a MILP in matrix form: grid, windows, formulations."""
