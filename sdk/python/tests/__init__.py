"""Tests of the hero_tracing SDK; run from the repo root with
`python3 -m unittest discover -s sdk/python/tests -t sdk/python`."""
