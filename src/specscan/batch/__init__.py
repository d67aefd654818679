"""Batch scoring of CSV and Parquet files: a local streaming engine and a Spark engine over one predictor."""
