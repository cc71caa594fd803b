"""Orchestration: CLI entry points, runner, models, rollout engines, results."""
