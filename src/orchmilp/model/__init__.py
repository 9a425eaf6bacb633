"""Workflow data: the instance as written, its validation, and the problem arrays."""
