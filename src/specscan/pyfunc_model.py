"""MLflow "models from code" entry: logged as the pyfunc's code, so nothing is pickled."""

import mlflow.models

from specscan.pyfunc import CompliancePyfunc

mlflow.models.set_model(CompliancePyfunc())
