"""Helpers for the extension tests of part B of the compatibility matrix."""
