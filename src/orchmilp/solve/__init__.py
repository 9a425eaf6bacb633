"""MILP back-ends: HiGHS (default); pulp/CBC and pyomo load lazily when chosen."""
