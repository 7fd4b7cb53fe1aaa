"""replicate: retrain a paper's model under controlled seeds and test its reported numbers."""

__version__ = "0.1.0"
