"""Heuristic schedules: generation schemes, priority rules, improvement, search."""
