"""Hostile-input tests use the plain API client of tests/conftest.py."""
