"""Heuristic schedules: generation schemes, priority rules, improvement, the rule portfolio, the genetic algorithm."""
