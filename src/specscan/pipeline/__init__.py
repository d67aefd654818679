"""The training pipeline: validate → prepare → train → export → evaluate → register.

Each step is a plain function with explicit input and output directories (see `steps`), so any
orchestrator can call them one by one; `runner` chains them with caching and MLflow runs.
"""
