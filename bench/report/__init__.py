"""`python -m bench.report`: every run dir -> one tidy table -> leaderboards, figures, claims check."""
