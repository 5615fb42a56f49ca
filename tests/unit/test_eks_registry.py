"""The ECR repository and the image: immutable content-derived tags, deployed by digest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.registry import context_tag
from harness.mocked_program import ECR_TOKEN_PASSWORD, PROJECT_ROOT, ProgramRun, run_program
from stackconfig.load import PROJECT


def test_repository_keeps_tags_immutable_and_scans(staging: ProgramRun, values: dict[str, Any]) -> None:
    repository = staging.one("aws:ecr/repository:Repository").inputs
    assert repository["name"] == values[f"{PROJECT}:image"]["repositoryName"]
    assert repository["imageTagMutability"] == "IMMUTABLE"
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository["forceDelete"] is False
    policy = json.loads(staging.one("aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    (rule,) = policy["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20}
    assert rule["action"] == {"type": "expire"}


def test_image_is_built_from_docker_for_the_platform_and_pushed_with_ecr_credentials(
    staging: ProgramRun, values: dict[str, Any]
) -> None:
    image = staging.one("docker:index/image:Image")
    tag = context_tag(PROJECT_ROOT / "docker")
    assert image.inputs["imageName"] == f"111111111111.dkr.ecr.eu-west-1.amazonaws.com/mm2-eks-staging:{tag}"
    assert image.inputs["build"]["context"] == "docker"  # relative: the same state on every machine
    assert image.inputs["build"]["dockerfile"] == "docker/Dockerfile"
    assert image.inputs["build"]["platform"] == values[f"{PROJECT}:image"]["platform"]
    assert image.inputs["build"]["args"] == {"IMAGE_VERSION": tag}
    assert image.inputs["registry"] == {
        "server": "https://111111111111.dkr.ecr.eu-west-1.amazonaws.com",
        "username": "AWS",
        "password": ECR_TOKEN_PASSWORD,
    }
    (call,) = [c for c in staging.calls if c.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken"]
    assert call.args["registryId"] == "111111111111"


def test_arm64_platform(values: dict[str, Any]) -> None:
    values[f"{PROJECT}:image"]["platform"] = "linux/arm64"
    run = run_program(values)
    assert run.one("docker:index/image:Image").inputs["build"]["platform"] == "linux/arm64"


def write(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content)


def test_context_tag_follows_content_only(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    files = {"Dockerfile": "FROM scratch\n", "config/x.yaml": "a: 1\n"}
    write(first, files)
    write(second, files)
    assert context_tag(first) == context_tag(second)
    assert len(context_tag(first)) == 16

    (second / "config" / "x.yaml").write_text("a: 2\n")
    assert context_tag(first) != context_tag(second)


def test_context_tag_sees_renames_and_ignored_files(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": "FROM scratch\n", "a.txt": "x"})
    before = context_tag(tmp_path)
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    renamed = context_tag(tmp_path)
    assert renamed != before
    # Even files a .dockerignore excludes: the provider may still count them as a change.
    write(tmp_path, {".dockerignore": "target\n", "target/out.jar": "jar"})
    assert context_tag(tmp_path) != renamed
