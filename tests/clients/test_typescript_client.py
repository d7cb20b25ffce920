"""A TypeScript client built by @graphql-codegen from schema.graphql and
client_ops/ type-checks, and a field removed from the schema breaks the build."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
CLIENT = REPOSITORY / "clients" / "ts"
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NPM is None,
    reason="npm is not installed here (apt-get install nodejs npm); .ci/run installs it",
)


def npm(
    *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert NPM is not None
    return subprocess.run(
        [NPM, *arguments],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | (env or {}),
    )


@pytest.fixture(scope="module")
def installed() -> None:
    """`npm ci` from the lockfile, unless node_modules already matches it."""
    marker = CLIENT / "node_modules" / ".package-lock.json"
    lockfile = CLIENT / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lockfile.stat().st_mtime:
        return
    result = npm("ci", "--no-audit", "--no-fund")
    assert result.returncode == 0, result.stdout + result.stderr


def without_field(schema: str, type_name: str, field: str) -> str:
    """`schema` with one field of one type (and its description) removed."""
    start = schema.index(f"type {type_name} {{")
    end = schema.index("\n}", start)
    description = r'(\n\n  """(?:[^"]|"(?!""))*"""|\n  "[^"\n]*")?'
    pattern = rf"{description}\n  {field}(\([^)]*\))?: [^\n]+"
    body, count = re.subn(pattern, "", schema[start:end])
    assert count == 1, f"{type_name}.{field} not found exactly once"
    return schema[:start] + body + schema[end:]


@pytest.mark.usefixtures("installed")
def test_typescript_client_generates_and_type_checks() -> None:
    generated = npm("run", "codegen")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert (CLIENT / "src" / "gql" / "graphql.ts").exists()

    checked = npm("run", "typecheck")
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.usefixtures("installed")
def test_typescript_client_build_fails_when_a_used_field_leaves_the_schema(
    tmp_path: Path,
) -> None:
    schema = (REPOSITORY / "schema.graphql").read_text()
    altered = tmp_path / "schema.graphql"
    altered.write_text(without_field(schema, "Log", "durationMs"))

    result = npm(
        "run",
        "codegen",
        env={"LLMD_SCHEMA": str(altered), "LLMD_CODEGEN_OUT": f"{tmp_path}/gql/"},
    )

    assert result.returncode != 0
    assert 'Cannot query field "durationMs" on type "Log"' in (
        result.stdout + result.stderr
    )
