"""What an S3 deploy action's configuration asks of the objects it writes — CacheControl,
CannedACL, KMSEncryptionKeyARN — and the artifact store's encryptionKey are honoured, not
kept and ignored."""

from __future__ import annotations

from helpers import pipelines

from .conftest import unique
from .pipeline_kit import create, declaration, error_of, source_world

DEPLOY_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
STORE_KEY = "arn:aws:kms:us-east-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def deploying(world: dict, site: str, **configuration) -> dict:
    action = pipelines.s3_deploy_action("Deploy", site, "SourceArtifact")
    action["configuration"].update(configuration)
    return declaration(world, {"name": "Deploy", "actions": [action]})


def test_deployed_objects_get_cache_control_acl_and_kms_key(aws, roles):
    world = source_world(aws, roles)
    s3 = aws("s3")
    site = unique("site")
    s3.create_bucket(Bucket=site)
    pipeline = deploying(
        world,
        site,
        CacheControl="max-age=60",
        CannedACL="public-read",
        KMSEncryptionKeyARN=DEPLOY_KEY,
    )
    pipeline["artifactStore"]["encryptionKey"] = {"id": STORE_KEY, "type": "KMS"}
    name = create(aws, pipeline)
    (execution,) = aws("codepipeline").list_pipeline_executions(pipelineName=name)[
        "pipelineExecutionSummaries"
    ]
    assert execution["status"] == "Succeeded"

    page = s3.head_object(Bucket=site, Key="index.html")
    assert page["CacheControl"] == "max-age=60"
    assert page["ServerSideEncryption"] == "aws:kms"
    assert page["SSEKMSKeyId"] == DEPLOY_KEY
    grants = s3.get_object_acl(Bucket=site, Key="index.html")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in grants

    (artifact,) = s3.list_objects_v2(Bucket=world["store"], Prefix=name[:20])["Contents"]
    stored = s3.head_object(Bucket=world["store"], Key=artifact["Key"])
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"]) == ("aws:kms", STORE_KEY)


def test_a_canned_acl_s3_doesnt_have_is_refused(aws, roles):
    world = source_world(aws, roles)
    pipeline = deploying(world, unique("site"), CannedACL="everyone")
    error = error_of(lambda: aws("codepipeline").create_pipeline(pipeline=pipeline))
    assert error["Code"] == "InvalidActionDeclarationException"
    assert "has CannedACL 'everyone': it must be one of private, public-read" in error["Message"]
