"""`mm2:aws:ImageRegistry`: the ECR repository and the Connect worker image built from `docker/`.

Tags are immutable, so each build gets a tag derived from the build context's content: a changed
context gets a new tag, an unchanged one is not rebuilt. The Deployment never uses the tag: it
uses the digest the registry returned for the push.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from stackconfig.models import ImageSettings

TAG_LENGTH = 16


def context_tag(context: Path) -> str:
    """A tag naming the content of every file under `context`.

    Deliberately hashes every file, even ones a .dockerignore may exclude: the docker provider
    rebuilds and pushes when ITS context hash changes, and pushing an existing tag to an
    immutable repository fails, so our tag must change whenever the provider's hash can.
    """
    digest = hashlib.sha256()
    for path in sorted(context.rglob("*")):
        if path.is_dir():
            continue
        relative = path.relative_to(context).as_posix()
        content = str(path.readlink()).encode() if path.is_symlink() else path.read_bytes()
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:TAG_LENGTH]


def lifecycle_policy(keep_last: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Keep the last {keep_last} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_last},
                    "action": {"type": "expire"},
                }
            ]
        }
    )


class ImageRegistry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    image_tag: str
    # repository@sha256:...: what the Deployment runs.
    image_ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: ImageSettings,
        context: Path,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mm2:aws:ImageRegistry", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=settings.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            # Deleting the stack must not silently delete the images running elsewhere.
            force_delete=False,
            opts=here,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle", repository=repository.name, policy=lifecycle_policy(settings.keep_last), opts=here
        )
        token = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.image_tag = context_tag(context)
        # Relative paths keep the state identical between a laptop and CI (Pulumi runs the
        # program from the project folder); an absolute path would show as a change and rebuild.
        relative_context = Path(os.path.relpath(context))
        image = docker.Image(
            f"{name}-image",
            image_name=repository.repository_url.apply(lambda url: f"{url}:{self.image_tag}"),
            build=docker.DockerBuildArgs(
                context=relative_context.as_posix(),
                dockerfile=(relative_context / "Dockerfile").as_posix(),
                platform=settings.platform,
                # BuildKit: the Dockerfile uses a cache mount and COPY --chmod.
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
                # Shown as the image's org.opencontainers.image.version label.
                args={"IMAGE_VERSION": self.image_tag},
            ),
            registry=docker.RegistryArgs(
                server=token.proxy_endpoint,
                username=token.user_name,
                password=pulumi.Output.secret(token.password),
            ),
            opts=here,
        )
        self.repository_url = repository.repository_url
        self.image_ref = image.repo_digest
        self.register_outputs(
            {"repository_url": self.repository_url, "image_tag": self.image_tag, "image_ref": self.image_ref}
        )
