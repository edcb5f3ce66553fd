"""Pitch days: an organiser's event, the listings that pitch and the investors who come,
a shortlist of who should meet whom, and a schedule of one-to-one meetings."""
