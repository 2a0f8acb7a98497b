"""Model providers signoff brings itself: the offline model behind ``make demo`` and the tests."""
