"""Alembic environment: runs on the engine the app hands over (`config.attributes["engine"]`)."""

from alembic import context

from specscan.webapp.database import in_models
from specscan.webapp.models import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True, include_object=in_models)
    context.run_migrations()
