"""Catching up says what it actually created or changed — and nothing when nothing was
missing, instead of the list of notebooks it looked at ("Caught up on: ['01']")."""

from __future__ import annotations

import uuid

import boto3

from helpers import packaging, resources, workbook


def test_catch_up_says_what_it_made_then_that_nothing_was_missing(local_cloud, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_cloud.endpoint)
    monkeypatch.setenv("WORKBOOK_PREFIX", f"cu{uuid.uuid4().hex[:6]}")
    session = boto3.Session(
        aws_access_key_id=local_cloud.owner.access_key_id,
        aws_secret_access_key=local_cloud.owner.secret_access_key,
        region_name="us-east-1",
    )
    book = workbook.Workbook(session, "123456789012", "local")
    names = book.names

    first = resources.catch_up(book, "04")
    assert list(first) == ["01", "02", "03"]
    assert f"created bucket {names.site_bucket}" in first["01"]
    assert f"created pipeline {names.pipeline}" in first["01"]
    assert first["03"] == [f"created function {names.health_function}"]
    assert str(first).startswith("01 (created bucket ")

    again = resources.catch_up(book, "04")
    assert not again and (again or "nothing to do") == "nothing to do"

    book.client("s3").put_object(
        Bucket=names.source_bucket,
        Key=names.site_key,
        Body=packaging.site_package(page="<h1>Under construction</h1>"),
    )
    assert resources.catch_up(book, "06") == {
        "04": [f"updated pipeline {names.pipeline} (stages Source, Deploy, LambdaStage)"],
        "05": [f"uploaded {names.site_key}"],
    }
