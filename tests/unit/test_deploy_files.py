"""No container engine runs in CI, so the deployment files are checked statically:
they parse, hold the expected objects, and agree with the service's real interface."""

from __future__ import annotations

import configparser
from pathlib import Path

import yaml

from app.cli.main import cli
from app.domain.access import parse_tokens
from app.domain.bots_yaml import load_bots

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_dockerfile_is_multi_stage_non_root_with_health_check() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    assert "uv sync --frozen --no-dev" in text
    assert "\nUSER botsettings" in text and "useradd" in text
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'ENTRYPOINT ["botsettings"]' in text and '"serve"' in text


def test_compose_has_postgres_a_one_shot_migration_two_replicas_and_a_proxy() -> None:
    doc = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    services = doc["services"]
    assert set(services) == {"postgres", "migrate", "botsettings", "proxy"}
    assert services["migrate"]["command"] == ["db", "upgrade"] and services["migrate"]["restart"] == "no"
    app = services["botsettings"]
    assert app["deploy"]["replicas"] >= 2
    assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "--no-migrate" in app["command"]
    assert app["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert app["environment"]["BOTSETTINGS_TOKENS_FILE"] == "/run/secrets/botsettings_tokens"
    assert app["secrets"] == ["botsettings_tokens"] and doc["secrets"]["botsettings_tokens"]["file"] == "./tokens"
    assert "proxy_buffering off" in (DEPLOY / "compose" / "nginx.conf").read_text()


def test_kubernetes_manifests_hold_the_expected_objects() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "botsettings.yaml").read_text()))
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"Secret", "ConfigMap", "Job", "Deployment", "Service"}
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"]
    deployment = kinds["Deployment"]["spec"]
    assert deployment["replicas"] >= 2
    container = deployment["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert deployment["selector"]["matchLabels"] == deployment["template"]["metadata"]["labels"]
    assert kinds["Service"]["spec"]["selector"] == deployment["selector"]["matchLabels"]
    assert kinds["Job"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    assert "DATABASE_URL" in secrets["botsettings"]["stringData"]
    # Replicas listen beyond loopback, which serve refuses without tokens: they get a
    # tokens file from a Secret, in the format serve reads.
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BOTSETTINGS_HOST"] == "0.0.0.0"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["template"]["spec"]["volumes"]}
    assert volumes["tokens"]["secret"]["secretName"] == "botsettings-tokens"
    assert env["BOTSETTINGS_TOKENS_FILE"] == f"{mounts['tokens']}/tokens"
    assert parse_tokens("k8s", secrets["botsettings-tokens"]["stringData"]["tokens"])
    bots = load_bots([("configmap", kinds["ConfigMap"]["data"]["bots.yaml"])])
    assert {"mira", "nova"} <= set(bots.bots) and not bots.warnings


def test_the_commands_the_files_run_exist() -> None:
    assert {"serve", "db"} <= set(cli.commands)
    serve_options = {o for p in cli.commands["serve"].params for o in p.opts}
    assert {"--no-migrate", "--workers", "--host", "--port"} <= serve_options
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((DEPLOY / "systemd" / "botsettings.service").read_text())
    assert unit["Service"]["ExecStart"].endswith("botsettings serve")
    assert unit["Service"]["KillSignal"] == "SIGTERM" and unit["Install"]["WantedBy"]
