"""The deployment files say what docs/operations.md says they say, and name only entry points,
commands and options that exist. (No Docker engine or cluster here: nothing is built or applied.)
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import yaml
from chain_support import DEPLOY, ROOT, documented_pool_limits, pipeline_pools

from fleet_pipeline.cli import SUBCOMMANDS, main

# Top-level keys of the dagster/dagster chart's values schema (helm/dagster/schema, 1.13).
CHART_KEYS = {
    "dagsterWebserver", "dagster-user-deployments", "postgresql",
    "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis",
    "flower", "ingress", "imagePullSecrets", "computeLogManager", "scheduler", "runLauncher",
    "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry", "serviceAccount", "global",
    "retention", "concurrency", "additionalInstanceConfig",
}
SECRET_VARIABLES = {"FLEET_API_PASSWORD", "FLEET_DB_URL", "FLEET_ERP_URL"}
DOCKERFILE = ROOT / "Dockerfile"


def _yaml(path: Path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def instance_yaml():
    return _yaml(DEPLOY / "dagster.yaml")


@pytest.fixture(scope="module")
def chart_values():
    return _yaml(DEPLOY / "helm" / "values.yaml")


@pytest.fixture(scope="module")
def user_code(chart_values):
    deployments = chart_values["dagster-user-deployments"]["deployments"]
    assert [d["name"] for d in deployments] == ["fleet-pipeline"]
    return deployments[0]


def test_instance_yaml_is_valid_for_this_dagster(instance_yaml):
    from dagster._core.instance.config import dagster_instance_config

    config, _ = dagster_instance_config(str(DEPLOY))  # raises on any key Dagster does not know
    assert config == instance_yaml


def test_instance_storage_is_postgres_from_the_environment(instance_yaml):
    db = instance_yaml["storage"]["postgres"]["postgres_db"]
    assert db.pop("scheme") == "postgresql+psycopg2"
    assert db == {"hostname": {"env": "DAGSTER_PG_HOST"}, "port": {"env": "DAGSTER_PG_PORT"},
                  "username": {"env": "DAGSTER_PG_USER"},
                  "password": {"env": "DAGSTER_PG_PASSWORD"}, "db_name": {"env": "DAGSTER_PG_DB"}}


def test_instance_limits_retries_and_telemetry(instance_yaml):
    assert instance_yaml["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    assert instance_yaml["concurrency"]["pools"]["default_limit"] >= 1
    assert instance_yaml["run_retries"]["enabled"] is True
    assert instance_yaml["run_retries"]["max_retries"] >= 1
    assert instance_yaml["telemetry"]["enabled"] is False


def test_every_pool_of_the_pipeline_has_a_documented_limit():
    limits = documented_pool_limits()
    assert {"erp", "fleet_api"} <= set(limits)
    assert pipeline_pools() <= set(limits)
    assert all(limit >= 1 for limit in limits.values())


def test_chart_values_use_only_keys_of_the_chart(chart_values):
    assert set(chart_values) <= CHART_KEYS


def test_chart_instance_matches_the_instance_yaml(chart_values, instance_yaml):
    assert chart_values["runLauncher"]["type"] == "K8sRunLauncher"
    postgres = chart_values["postgresql"]
    assert postgres["enabled"] is False
    assert postgres["postgresqlScheme"] == "postgresql+psycopg2"
    assert chart_values["generatePostgresqlPasswordSecret"] is False
    assert chart_values["global"]["postgresqlSecretName"]
    concurrency = chart_values["concurrency"]
    assert concurrency["enabled"] is True
    assert concurrency["runs"]["maxConcurrentRuns"] == \
        instance_yaml["concurrency"]["runs"]["max_concurrent_runs"]
    assert concurrency["pools"]["defaultLimit"] == \
        instance_yaml["concurrency"]["pools"]["default_limit"]
    retries = chart_values["dagsterDaemon"]["runRetries"]
    assert retries == {"enabled": True,
                       "maxRetries": instance_yaml["run_retries"]["max_retries"]}
    # The chart refuses a run limit set in both places.
    coordinator = chart_values["dagsterDaemon"]["runCoordinator"]
    assert "maxConcurrentRuns" not in str(coordinator.get("config", {}))
    assert chart_values["telemetry"]["enabled"] is False


def test_user_code_deployment_serves_the_definitions(user_code):
    args = user_code["dagsterApiGrpcArgs"]
    assert args == ["-m", "fleet_pipeline.definitions"]
    from fleet_pipeline import definitions

    assert definitions.defs.resolve_asset_graph().get_all_asset_keys()
    assert user_code["includeConfigInLaunchedRuns"]["enabled"] is True


def test_user_code_secrets_and_data_volume(user_code):
    env = {item["name"]: item["value"] for item in user_code["env"]}
    assert not SECRET_VARIABLES & set(env), "secrets belong in the Secret, not in values.yaml"
    assert [s["name"] for s in user_code["envSecrets"]] == ["fleet-pipeline-secrets"]
    mounts = {m["name"]: m["mountPath"] for m in user_code["volumeMounts"]}
    volumes = {v["name"] for v in user_code["volumes"]}
    assert set(mounts) == volumes
    assert env["FLEET_DATA_DIR"] in mounts.values()


def test_the_guide_names_the_secret_variables():
    guide = (ROOT / "docs" / "operations.md").read_text()
    for name in SECRET_VARIABLES | {"FLEET_WEBHOOK_PUBLIC_URL", "FLEET_WEBHOOK_SIGNING_KEY"}:
        assert f"`{name}`" in guide


def test_dockerfile_base_user_install_and_default_command():
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    assert re.search(r"""pip install "\.\[k8s,mysql\]\"""", text)
    users = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    cmd = re.search(r"^CMD (\[.*?\])$", text, re.MULTILINE | re.DOTALL)
    command = yaml.safe_load(cmd.group(1).replace("\\\n", ""))
    assert command[:3] == ["dagster", "api", "grpc"]
    assert command[command.index("--module-name") + 1] == "fleet_pipeline.definitions"
    from dagster._cli.api import grpc_command

    _assert_options_exist(grpc_command, command[3:])


def _dockerfile_commands() -> list[list[str]]:
    """Every `fleet-pipeline ...` command line the Dockerfile gives, as its words."""
    return [line.split() for line in re.findall(r"fleet-pipeline ((?:[\w.=/-]+ ?)+)",
                                                DOCKERFILE.read_text())]


def _manifest_commands(path: Path) -> list[list[str]]:
    """The words after `fleet-pipeline` of every container of a Kubernetes manifest."""
    commands = []
    for document in yaml.safe_load_all(path.read_text()):
        spec = document.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            words = [*container.get("command", []), *container.get("args", [])]
            if words and words[0] == "fleet-pipeline":
                commands.append(words[1:])
    return commands


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = main
    while isinstance(command, click.Group) and words and not words[0].startswith("-"):
        name, words = words[0], words[1:]
        sub = command.get_command(click.Context(command), name)
        assert sub is not None, f"`{name}` is not a command of {command.name}"
        command = sub
    return command, words


def _assert_options_exist(command: click.Command, words: list[str]) -> None:
    known = {opt for param in command.params for opt in param.opts}
    for word in words:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{command.name} has no option {word}"


def _assert_runs(words: list[str]) -> None:
    assert words[0] in SUBCOMMANDS
    command, rest = _resolve(words)
    assert not isinstance(command, click.Group), f"{words} names a group, not a command"
    _assert_options_exist(command, rest)


def test_the_dockerfile_documents_existing_commands():
    commands = _dockerfile_commands()
    assert [words[:2] for words in commands] == [["webhooks", "serve"], ["db", "upgrade"]]
    for words in commands:
        _assert_runs(words)


@pytest.mark.parametrize("path", sorted((DEPLOY / "kubernetes").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_manifests_run_existing_commands(path: Path):
    commands = _manifest_commands(path)
    assert commands, f"{path.name} runs no fleet-pipeline command"
    for words in commands:
        _assert_runs(words)
