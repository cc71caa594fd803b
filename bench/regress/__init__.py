"""CI regression check of benchmark numbers: `python -m bench.regress`.

Re-runs a small seeded CPU benchmark (suite.py) or reads given run dirs, compares
every tracked metric with the committed reference in results/baselines (compare.py),
and re-grades frozen completions that every grader must score exactly as before
(graders.py). See README "CI regression".
"""
