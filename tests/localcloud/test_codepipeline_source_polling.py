"""PollForSourceChanges: a new version of an S3 source's object starts a release, as on AWS;
"false" starts none; the version there at creation starts no second release; and polling
goes on across a restart, remembering what it saw.
"""

from __future__ import annotations

import time

import pytest

from helpers import localcloud

from ..conftest import JOB_TIMEOUT_S, POLL_INTERVAL_S, Started
from .conftest import Cloud, unique, wait_for_execution, zip_bytes
from .pipeline_kit import declaration, finish_all, source_world, wait_for

ROUNDS = 4 * POLL_INTERVAL_S  # long enough for several polls


def polling(world: dict, poll: str | None, name: str | None = None) -> dict:
    """Source, then a stage deploying the site; the source polls as ``poll`` says (None: the
    key is left out)."""
    pipeline = declaration(
        world,
        {
            "name": "Deploy",
            "actions": [
                {
                    "name": "Deploy",
                    "actionTypeId": {
                        "category": "Deploy",
                        "owner": "AWS",
                        "provider": "S3",
                        "version": "1",
                    },
                    "configuration": {"BucketName": world["records"], "Extract": "true"},
                    "inputArtifacts": [{"name": "SourceArtifact"}],
                }
            ],
        },
        name=name,
    )
    configuration = pipeline["stages"][0]["actions"][0]["configuration"]
    configuration.pop("PollForSourceChanges")
    if poll is not None:
        configuration["PollForSourceChanges"] = poll
    return pipeline


def summaries(aws, name: str) -> list[dict]:
    cp = aws("codepipeline")
    return cp.list_pipeline_executions(pipelineName=name)["pipelineExecutionSummaries"]


def upload(aws, world, page: str) -> str:
    body = zip_bytes({"index.html": page})
    return aws("s3").put_object(Bucket=world["source"], Key="site.zip", Body=body)["VersionId"]


@pytest.fixture
def world(aws, roles):
    return source_world(aws, roles)


@pytest.mark.parametrize("poll", ["true", None], ids=["true", "omitted"])
def test_a_new_version_of_the_source_starts_a_release(aws, world, poll):
    cp = aws("codepipeline")
    pipeline = polling(world, poll)
    name = pipeline["name"]
    cp.create_pipeline(pipeline=pipeline)
    (created,) = finish_all(aws, name)
    assert created["trigger"]["triggerType"] == "CreatePipeline"
    time.sleep(ROUNDS)
    assert len(summaries(aws, name)) == 1, "the version there at creation ran once"

    version = upload(aws, world, "<h1>New</h1>")
    started = wait_for(lambda: len(summaries(aws, name)) == 2 and summaries(aws, name)[0])
    assert started["trigger"] == {"triggerType": "PollForSourceChanges", "triggerDetail": "Source"}
    done = wait_for_execution(cp, name, started["pipelineExecutionId"])
    assert done["status"] == "Succeeded"
    assert [r["revisionId"] for r in done["artifactRevisions"]] == [version]
    page = aws("s3").get_object(Bucket=world["records"], Key="index.html")["Body"].read()
    assert page == b"<h1>New</h1>"
    time.sleep(ROUNDS)
    assert len(summaries(aws, name)) == 2, "one release per new version"
    cp.delete_pipeline(name=name)


def test_polling_off_starts_nothing_until_an_update_turns_it_on(aws, world):
    cp = aws("codepipeline")
    pipeline = polling(world, "false")
    name = pipeline["name"]
    cp.create_pipeline(pipeline=pipeline)
    finish_all(aws, name)
    upload(aws, world, "<h1>Unnoticed</h1>")
    time.sleep(ROUNDS)
    assert len(summaries(aws, name)) == 1, "PollForSourceChanges false: nothing starts"

    edited = cp.get_pipeline(name=name)["pipeline"]
    edited["stages"][0]["actions"][0]["configuration"]["PollForSourceChanges"] = "true"
    cp.update_pipeline(pipeline=edited)
    time.sleep(ROUNDS)
    assert len(summaries(aws, name)) == 1, "turning polling on starts no release by itself"
    upload(aws, world, "<h1>Noticed</h1>")
    started = wait_for(lambda: len(summaries(aws, name)) == 2 and summaries(aws, name)[0])
    assert started["trigger"]["triggerType"] == "PollForSourceChanges"
    wait_for_execution(cp, name, started["pipelineExecutionId"])
    cp.delete_pipeline(name=name)


def test_polling_goes_on_across_a_restart_and_misses_no_version(tmp_path):
    def start(poll_interval_s: float) -> tuple:
        process, endpoint = localcloud.start(
            job_timeout_s=JOB_TIMEOUT_S,
            poll_interval_s=poll_interval_s,
            state=tmp_path,
            log_path=str(tmp_path / "localcloud.log"),
        )
        owner = localcloud.owner_credentials(tmp_path)
        return process, Cloud(Started(endpoint, str(tmp_path), owner))

    process, cloud = start(poll_interval_s=3600)  # it won't poll before the restart
    try:
        world = source_world(cloud.client, cloud.roles)
        pipeline = polling(world, "true", name=unique("kept"))
        name = pipeline["name"]
        cloud.client("codepipeline").create_pipeline(pipeline=pipeline)
        finish_all(cloud.client, name)
        version = upload(cloud.client, world, "<h1>Before the restart</h1>")
        process.terminate()  # as make stop does
        assert process.wait(20) == 0

        process, cloud = start(poll_interval_s=POLL_INTERVAL_S)
        aws = cloud.client
        started = wait_for(lambda: len(summaries(aws, name)) == 2 and summaries(aws, name)[0])
        assert started["trigger"]["triggerType"] == "PollForSourceChanges"
        done = wait_for_execution(aws("codepipeline"), name, started["pipelineExecutionId"])
        assert [r["revisionId"] for r in done["artifactRevisions"]] == [version]
        time.sleep(ROUNDS)
        assert len(summaries(aws, name)) == 2, "the version there at creation ran only once"
    finally:
        process.kill()
        process.wait(20)
