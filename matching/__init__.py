"""Matching: investor profiles, explainable scoring both ways, expressions of interest."""
