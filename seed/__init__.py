"""Demo data from the smart-city programme and its loader."""
