# The fleet_pipeline image: the Dagster code location (default command), its run workers (the
# Kubernetes run launcher starts them from this image), the webhook receiver and the
# `fleet-pipeline` command (migrations, ERP checks).
#
#   docker build -t registry.example.com/fleet-pipeline:0.1.0 .
#
# Default: the code location's gRPC server on port 3030 (the Helm chart passes its own
# `dagster api grpc` arguments, deploy/helm/values.yaml).
# The webhook receiver, from the same image:
#   docker run -p 8080:8080 --env-file receiver.env IMAGE \
#       fleet-pipeline webhooks serve --host 0.0.0.0 --port 8080
# The pipeline database migration, before a new version starts:
#   docker run --env-file pipeline.env IMAGE fleet-pipeline db upgrade
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/fleet_pipeline
COPY pyproject.toml README.md ./
COPY fleet_pipeline ./fleet_pipeline
# The k8s extra brings dagster-k8s: a run pod opens the instance the chart configures, whose
# run launcher is dagster_k8s's.
RUN pip install ".[k8s,mysql]"

# Instance settings for running outside Kubernetes (PostgreSQL from DAGSTER_PG_* variables); on
# Kubernetes the chart mounts its own dagster.yaml over this folder.
ENV DAGSTER_HOME=/opt/dagster/dagster_home \
    FLEET_HOME=/var/lib/fleet
COPY deploy/dagster.yaml /opt/dagster/dagster_home/dagster.yaml

RUN useradd --uid 10001 --user-group --create-home --home-dir /home/fleet fleet \
    && mkdir -p /var/lib/fleet/data \
    && chown -R fleet:fleet /var/lib/fleet /opt/dagster/dagster_home
USER 10001

EXPOSE 3030 8080
CMD ["dagster", "api", "grpc", "--host", "0.0.0.0", "--port", "3030", \
     "--module-name", "fleet_pipeline.definitions"]
