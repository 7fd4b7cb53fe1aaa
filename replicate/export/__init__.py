"""Exports of finished runs to the tools a team already uses (replicate.export.mlflow: an MLflow tracking server).

Each exporter reads the run directory (run.json, records/, summary.json and the report files), never retrains, and
imports its tool only when called, so `import replicate` stays free of them.
"""
